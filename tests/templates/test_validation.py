"""POST templates/ checks a template as Meta would before submitting it: each mistake is a 400 naming its place (a
field, a component by its type, a button by its position), and nothing reaches Meta or is stored."""

import copy

import pytest

from accounts.models import AuditLog
from templates.models import MessageTemplate
from tests.templates.support import create, seasonal_promotion

NAME = "A name is 1 to 512 lowercase letters, digits and underscores, e.g. order_update."
FORMAT = "Write each placeholder as {{1}}, {{2}}… (positional) or {{first_name}} (named), nothing else."
LEADING = "A placeholder cannot start the text: put some words before it."
TRAILING = "A placeholder cannot end the text: put some words or punctuation after it."
ADJACENT = "Two placeholders cannot stand side by side: put words between them."


def _with(component_type: str, **fields):
    """The seasonal promotion with one component changed (None: removed)."""

    def change(body):
        for component in body["components"]:
            if component["type"] == component_type:
                component.update(fields)
        return body

    return change


def _buttons(*buttons):
    return _with("BUTTONS", buttons=list(buttons))


def _body(text, *examples):
    return _with("BODY", text=text, example={"body_text": [list(examples)]})


def _set(**fields):
    return lambda body: {**body, **fields}


def _named(body):
    body["parameter_format"] = "NAMED"
    body["components"] = [
        {
            "type": "BODY",
            "text": "Hi {{first_name}}, your order {{order}} is ready.",
            "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Maya"}]},
        }
    ]
    return body


QR = {"type": "QUICK_REPLY", "text": "Stop"}
URL = {"type": "URL", "text": "See deals", "url": "https://shop.example/deals"}

CASES = [
    ("name", _set(name="Seasonal Promo"), {"name": [NAME]}),
    ("name-too-long", _set(name="a" * 513), {"name": [NAME]}),
    ("language", _set(language="english"), {"language": ["A language is Meta's code, e.g. en, en_US, ar or pt_BR."]}),
    (
        "category",
        _set(category="PROMO"),
        {"category": ["category must be one of MARKETING, UTILITY, AUTHENTICATION."]},
    ),
    (
        "parameter-format",
        _set(parameter_format="MIXED"),
        {"parameter_format": ["parameter_format must be POSITIONAL or NAMED."]},
    ),
    (
        "no-body",
        _set(components=[{"type": "FOOTER", "text": "Acme"}]),
        {"components": {"BODY": ["A template needs a BODY."]}},
    ),
    ("no-components", _set(components=[]), {"components": ["components must be a list holding at least a BODY."]}),
    (
        "two-bodies",
        lambda body: {**body, "components": [*body["components"], {"type": "BODY", "text": "Again"}]},
        {"components": {"BODY": ["A template has at most one BODY."]}},
    ),
    (
        "unknown-component",
        lambda body: {**body, "components": [*body["components"], {"type": "CAROUSEL"}]},
        {
            "components": {
                "components[4]": ["Each component is an object whose type is one of HEADER, BODY, FOOTER, BUTTONS."]
            }
        },
    ),
    (
        "body-too-long",
        _body(
            "Hello " + "x" * 1019,
        ),
        {"components": {"BODY": ["At most 1024 characters (this has 1025)."]}},
    ),
    (
        "body-gap",
        _body("Hi {{1}}, your code is {{3}} today.", "Maya", "A1"),
        {"components": {"BODY": ["Number the placeholders from {{1}} with no gaps (found {{1}}, {{3}})."]}},
    ),
    ("body-leading", _body("{{1}}, your order shipped.", "Maya"), {"components": {"BODY": [LEADING]}}),
    ("body-trailing", _body("Your order shipped, {{1}}", "Maya"), {"components": {"BODY": [TRAILING]}}),
    ("body-adjacent", _body("Hi {{1}} {{2}}, welcome.", "Maya", "Saleh"), {"components": {"BODY": [ADJACENT]}}),
    ("body-malformed", _body("Hi {{ 1 }}, welcome."), {"components": {"BODY": [FORMAT]}}),
    (
        "body-named-in-positional",
        _body("Hi {{first_name}}, welcome.", "Maya"),
        {
            "components": {
                "BODY": ["This template uses positional parameters: write {{1}}, {{2}}…, or choose named parameters."]
            }
        },
    ),
    (
        "body-positional-in-named",
        lambda body: {
            **_named(body),
            "components": [{"type": "BODY", "text": "Hi {{1}}, welcome.", "example": {"body_text": [["Maya"]]}}],
        },
        {
            "components": {
                "BODY": [
                    "This template uses named parameters: write {{first_name}}, not {{1}}.",
                ]
            }
        },
    ),
    (
        "body-example-missing",
        _with("BODY", example={}),
        {
            "components": {
                "BODY": [
                    "Give an example for each variable ({{1}}, {{2}}, {{3}}): Meta reviews the template with them "
                    "(example.body_text)."
                ]
            }
        },
    ),
    (
        "body-named-example-missing",
        _named,
        {
            "components": {
                "BODY": [
                    "Give an example for each variable ({{first_name}}, {{order}}): Meta reviews the template with "
                    "them (example.body_text_named_params)."
                ]
            }
        },
    ),
    (
        "header-too-long",
        _with("HEADER", text="Our {{1}} is on! " + "x" * 44),
        {"components": {"HEADER": ["At most 60 characters (this has 61)."]}},
    ),
    (
        "header-two-placeholders",
        _with("HEADER", text="Our {{1}} and {{2}} sale!", example={"header_text": ["Summer", "Fall"]}),
        {"components": {"HEADER": ["A text header takes at most one placeholder."]}},
    ),
    (
        "header-formatting",
        _with("HEADER", text="Our *big* {{1}} is on!"),
        {"components": {"HEADER": ["A text header takes no new lines and no formatting (*, ~, `)."]}},
    ),
    (
        "header-example-missing",
        _with("HEADER", example={}),
        {
            "components": {
                "HEADER": [
                    "Give an example for each variable ({{1}}): Meta reviews the template with them "
                    "(example.header_text)."
                ]
            }
        },
    ),
    (
        "header-format",
        _with("HEADER", format="GIF"),
        {"components": {"HEADER": ["format must be one of TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION."]}},
    ),
    (
        "header-media-without-example",
        _with("HEADER", format="IMAGE", text=None, example=None),
        {
            "components": {
                "HEADER": [
                    "A IMAGE header needs an example file: upload one (header_file), name an uploaded media "
                    "(header_media_id), or give example.header_handle from Meta's Resumable Upload API."
                ]
            }
        },
    ),
    (
        "footer-too-long",
        _with("FOOTER", text="x" * 61),
        {"components": {"FOOTER": ["At most 60 characters (this has 61)."]}},
    ),
    (
        "footer-placeholder",
        _with("FOOTER", text="Reply {{1}} to stop"),
        {"components": {"FOOTER": ["A footer takes no placeholders."]}},
    ),
    (
        "too-many-buttons",
        _buttons(*[QR] * 11),
        {"components": {"BUTTONS": ["At most 10 buttons (this has 11).", "At most 10 QUICK_REPLY button(s)."]}},
    ),
    ("too-many-urls", _buttons(URL, URL, URL), {"components": {"BUTTONS": ["At most 2 URL button(s)."]}}),
    (
        "quick-replies-apart",
        _buttons(QR, URL, QR),
        {"components": {"BUTTONS": ["Group the quick replies together, before or after the other buttons."]}},
    ),
    (
        "url-variable-inside",
        _buttons({**URL, "url": "https://shop.example/{{1}}/deals", "example": ["https://shop.example/a/deals"]}),
        {"components": {"buttons[0]": ["A URL takes at most one variable, {{1}}, at its very end."]}},
    ),
    (
        "url-two-variables",
        _buttons({**URL, "url": "https://shop.example/{{1}}?c={{2}}", "example": ["https://shop.example/a?c=b"]}),
        {"components": {"buttons[0]": ["A URL takes at most one variable, {{1}}, at its very end."]}},
    ),
    (
        "url-example-missing",
        _buttons({**URL, "url": "https://shop.example/deals/{{1}}"}),
        {
            "components": {
                "buttons[0]": ["A URL with a variable needs example: [a full URL as a customer would get it]."]
            }
        },
    ),
    (
        "url-scheme",
        _buttons({**URL, "url": "ftp://shop.example"}),
        {"components": {"buttons[0]": ["The button's url must be an http:// or https:// address."]}},
    ),
    (
        "phone",
        _buttons({"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "call me"}),
        {
            "components": {
                "buttons[0]": ["phone_number must be a phone number in international form, e.g. +15551234567."]
            }
        },
    ),
    (
        "copy-code-too-long",
        _buttons({"type": "COPY_CODE", "example": "SUMMER2027SALE50"}),
        {"components": {"buttons[0]": ["A copy-code button needs example: a code of 1 to 15 characters."]}},
    ),
    (
        "button-label-too-long",
        _buttons({"type": "QUICK_REPLY", "text": "Unsubscribe from every promo"}),
        {"components": {"buttons[0]": ["A button's text has at most 25 characters."]}},
    ),
    (
        "flow-without-flow",
        _buttons({"type": "FLOW", "text": "Book"}),
        {"components": {"buttons[0]": ["A flow button names its flow: one of flow_id, flow_name or flow_json."]}},
    ),
    (
        "otp-in-marketing",
        _buttons({"type": "OTP", "otp_type": "COPY_CODE"}),
        {"components": {"buttons[0]": ["OTP buttons are for authentication templates."]}},
    ),
    (
        "unknown-button",
        _buttons({"type": "CALL_ME", "text": "Hi"}),
        {"components": {"buttons[0]": ["type must be one of QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, FLOW, OTP."]}},
    ),
    (
        "authentication-with-header",
        _set(category="AUTHENTICATION"),
        {
            "components": {
                "HEADER": ["Authentication templates have no header."],
                "BODY": ["Authentication templates take no body text: WhatsApp writes it."],
                "FOOTER": ["Authentication templates take no footer text: WhatsApp writes it."],
                "buttons[0]": ["Authentication templates have one button, of type OTP."],
                "buttons[1]": ["Authentication templates have one button, of type OTP."],
            }
        },
    ),
]


@pytest.mark.parametrize(("change", "errors"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_mistake_is_a_400_naming_its_place_and_nothing_is_submitted(
    marketing_client, cloud, fake_meta, change, errors
):
    response = create(marketing_client, change(copy.deepcopy(seasonal_promotion())))

    assert response.status_code == 400, response.json()
    assert response.json()["errors"] == errors
    assert fake_meta.find_requests(method="POST") == []
    assert MessageTemplate.objects.count() == AuditLog.objects.filter(action="template.create").count() == 0


def test_every_mistake_is_answered_at_once(marketing_client, cloud, fake_meta):
    body = seasonal_promotion(name="Bad Name", language="english")
    body["components"][1]["text"] = "{{1}} and {{2}}{{3}} off"

    errors = create(marketing_client, body).json()["errors"]

    assert list(errors) == ["name", "language", "components"]
    assert errors["components"]["BODY"] == [LEADING, ADJACENT]


def test_an_authentication_template_takes_meta_s_own_shape(marketing_client, cloud, fake_meta):
    body = {
        "name": "login_code",
        "language": "en_US",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
        ],
    }

    response = create(marketing_client, body)

    assert response.status_code == 201, response.json()
    [request] = fake_meta.find_requests(method="POST", path_endswith="/message_templates")
    assert request.json["components"] == body["components"]
