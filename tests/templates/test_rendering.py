"""templates.rendering: a template's placeholders, and for given values the exact body Meta receives (every kind of
parameter, sent through the normal send path to the fake Graph API), its preview, and the refusals by placeholder."""

import secrets

import pytest

from messaging.models import Message
from messaging.services.conversations import message_send
from templates.models import MessageTemplate
from templates.rendering import Placeholder, placeholders, render
from tests.messaging.inbox_support import closed_window, cloud_number
from whatsapp_hub.errors import ServiceError

ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1042"]}},
    {
        "type": "BODY",
        "text": "Hi {{1}}, your order of {{2}} ships on {{3}}. Reply to change it.",
        "example": {"body_text": [["Maya", "$12.50", "March 3"]]},
    },
    {"type": "FOOTER", "text": "Acme Store"},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Change"}, {"type": "QUICK_REPLY", "text": "OK"}]},
]


@pytest.fixture
def number(org):
    return cloud_number(org)


def _template(org, number, components, *, name="order_update", parameter_format="POSITIONAL", category="UTILITY"):
    return MessageTemplate.objects.create(
        organization=org,
        waba_id=number.waba_id,
        meta_id=str(secrets.randbelow(10**15)),
        name=name,
        language="en_US",
        category=category,
        status=MessageTemplate.Status.APPROVED,
        parameter_format=parameter_format,
        components=components,
    )


def _received(fake_meta, template: MessageTemplate, rendered, org, number, capture) -> dict:
    """Send the rendered template into a closed-window conversation; what the fake received under `template`."""
    fake_meta.add_template(
        template.name,
        language=template.language,
        category=template.category,
        components=template.components,
        parameter_format=template.parameter_format,
        waba_id=number.waba_id,
    )
    fake_meta.add_phone_number(number.phone_number_id, waba_id=number.waba_id)
    conversation = closed_window(org, number=number)
    with capture(execute=True):
        message = message_send(conversation=conversation, sent_by=None, content=rendered.content)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.error_title
    [sent] = fake_meta.sends()
    return sent["template"]


def test_it_lists_header_body_and_button_placeholders_with_meta_examples(org, number):
    template = _template(org, number, ORDER_UPDATE)

    assert placeholders(template) == [
        Placeholder(key="header.1", component="header", kind="text", label="Header {{1}}", example="#1042", name="1"),
        Placeholder(key="1", component="body", kind="text", label="{{1}}", example="Maya", name="1"),
        Placeholder(key="2", component="body", kind="text", label="{{2}}", example="$12.50", name="2"),
        Placeholder(key="3", component="body", kind="text", label="{{3}}", example="March 3", name="3"),
        Placeholder(key="button.0", component="button", kind="payload", label="Change", required=False, name="0"),
        Placeholder(key="button.1", component="button", kind="payload", label="OK", required=False, name="1"),
    ]


def test_positional_text_currency_date_and_payload_make_metas_exact_body(
    org, number, fake_meta, django_capture_on_commit_callbacks
):
    template = _template(org, number, ORDER_UPDATE)
    values = {
        "header.1": "#2077",
        "1": "Maya",
        "2": {"type": "currency", "amount": "12.50", "code": "usd", "fallback_value": "$12.50"},
        "3": {"type": "date_time", "fallback_value": "March 3"},
        "button.0": "change-2077",
    }

    rendered = render(template, values)

    assert rendered.preview == (
        "Order #2077\nHi Maya, your order of $12.50 ships on March 3. Reply to change it.\nAcme Store\n[Change] [OK]"
    )
    assert _received(fake_meta, template, rendered, org, number, django_capture_on_commit_callbacks) == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "#2077"}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Maya"},
                    {"type": "currency", "currency": {"fallback_value": "$12.50", "code": "USD", "amount_1000": 12500}},
                    {"type": "date_time", "date_time": {"fallback_value": "March 3"}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "change-2077"}],
            },
        ],
    }


def test_named_parameters_carry_their_names_in_order_of_appearance(
    org, number, fake_meta, django_capture_on_commit_callbacks
):
    components = [
        {
            "type": "BODY",
            "text": "Thank you, {{first_name}}! Your order {{order_number}} is confirmed.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Pablo"},
                    {"param_name": "order_number", "example": "860198-230332"},
                ]
            },
        }
    ]
    template = _template(org, number, components, name="order_confirmation", parameter_format="NAMED")

    assert [(p.key, p.example) for p in placeholders(template)] == [
        ("first_name", "Pablo"),
        ("order_number", "860198-230332"),
    ]
    rendered = render(template, {"order_number": "SKBUP2-4CPIG9", "first_name": "Jessica"})

    assert rendered.preview == "Thank you, Jessica! Your order SKBUP2-4CPIG9 is confirmed."
    assert _received(fake_meta, template, rendered, org, number, django_capture_on_commit_callbacks)["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Jessica", "parameter_name": "first_name"},
                {"type": "text", "text": "SKBUP2-4CPIG9", "parameter_name": "order_number"},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("header_format", "value", "parameter"),
    [
        (
            "IMAGE",
            "https://cdn.example.com/sale.jpg",
            {"type": "image", "image": {"link": "https://cdn.example.com/sale.jpg"}},
        ),
        ("VIDEO", {"id": "1037543291543636"}, {"type": "video", "video": {"id": "1037543291543636"}}),
        (
            "DOCUMENT",
            {"link": "https://cdn.example.com/menu.pdf", "filename": "Menu.pdf"},
            {"type": "document", "document": {"link": "https://cdn.example.com/menu.pdf", "filename": "Menu.pdf"}},
        ),
        (
            "LOCATION",
            {"latitude": 24.7136, "longitude": 46.6753, "name": "Riyadh store", "address": "King Fahd Rd"},
            {
                "type": "location",
                "location": {
                    "latitude": "24.7136",
                    "longitude": "46.6753",
                    "name": "Riyadh store",
                    "address": "King Fahd Rd",
                },
            },
        ),
    ],
)
def test_media_and_location_headers(
    org, number, fake_meta, django_capture_on_commit_callbacks, header_format, value, parameter
):
    template = _template(
        org,
        number,
        [{"type": "HEADER", "format": header_format}, {"type": "BODY", "text": "Our new season is here."}],
        name=f"season_{header_format.lower()}",
        category="MARKETING",
    )
    assert [(p.key, p.kind) for p in placeholders(template)] == [("header", header_format.lower())]

    rendered = render(template, {"header": value})

    assert rendered.preview == f"[{header_format.lower()}]\nOur new season is here."
    assert _received(fake_meta, template, rendered, org, number, django_capture_on_commit_callbacks)["components"] == [
        {"type": "header", "parameters": [parameter]}
    ]


def test_button_parameters_of_every_kind(org, number, fake_meta, django_capture_on_commit_callbacks):
    components = [
        {"type": "BODY", "text": "Your code {{1}} gives 20% off.", "example": {"body_text": [["SPRING20"]]}},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://shop.example.com/track/{{1}}",
                    "example": ["https://shop.example.com/track/A1"],
                },
                {"type": "URL", "text": "Website", "url": "https://shop.example.com"},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001111"},
                {"type": "COPY_CODE", "example": "SPRING20"},
                {"type": "FLOW", "text": "Book", "flow_id": "123", "flow_action": "navigate"},
            ],
        },
    ]
    template = _template(org, number, components, name="spring_sale", category="MARKETING")
    assert [(p.key, p.kind, p.required) for p in placeholders(template)] == [
        ("1", "text", True),
        ("button.0", "url", True),
        ("button.3", "copy_code", True),
        ("button.4", "flow", False),
    ]

    rendered = render(
        template,
        {"1": "SPRING20", "button.0": "Gonçalves/42 a", "button.3": "SPRING20", "button.4": "booking-77"},
    )

    assert _received(fake_meta, template, rendered, org, number, django_capture_on_commit_callbacks)["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "SPRING20"}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "Gon%C3%A7alves%2F42%20a"}],
        },
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": "3",
            "parameters": [{"type": "coupon_code", "coupon_code": "SPRING20"}],
        },
        {
            "type": "button",
            "sub_type": "flow",
            "index": "4",
            "parameters": [{"type": "action", "action": {"flow_token": "booking-77"}}],
        },
    ]
    assert rendered.preview.endswith("[Track] [Website] [Call us] [copy_code] [Book]")


def test_a_one_time_password_button_repeats_the_bodys_code(org, number, fake_meta, django_capture_on_commit_callbacks):
    components = [
        {"type": "BODY", "text": "{{1}} is your verification code.", "add_security_recommendation": True},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ]
    template = _template(org, number, components, name="login_code", category="AUTHENTICATION")

    rendered = render(template, {"1": "482913"})

    assert rendered.template["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": 0, "parameters": [{"type": "text", "text": "482913"}]},
    ]
    assert (
        _received(fake_meta, template, rendered, org, number, django_capture_on_commit_callbacks)["components"][1][
            "index"
        ]
        == "0"
    )


def test_a_template_without_placeholders_sends_no_components(org, number):
    template = _template(org, number, [{"type": "BODY", "text": "We are open again."}], name="reopened")

    rendered = render(template, {})

    assert rendered.template == {"name": "reopened", "language": "en_US"}
    assert rendered.preview == "We are open again."


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"1": "Maya", "2": "x"}, {"header.1": ["A value is needed here."], "3": ["A value is needed here."]}),
        (
            {"header.1": "#1", "1": "Maya", "2": "x", "3": "y", "4": "z"},
            {"4": ["This template has no placeholder 4."]},
        ),
        (
            {"header.1": "#1", "1": "Maya\nSmith", "2": "x", "3": "y"},
            {"1": ["WhatsApp does not allow new lines, tabs or more than four spaces in a row here."]},
        ),
        (
            {"header.1": "#1", "1": "Maya", "2": {"type": "currency", "amount": "lots", "code": "USD"}, "3": "y"},
            {"2": ["An amount needs amount: a number, e.g. 12.50."]},
        ),
        (
            {"header.1": "#1", "1": "Maya", "2": {"type": "currency", "amount": "1", "code": "dollars"}, "3": "y"},
            {"2": ["An amount needs code: the ISO 4217 currency code, e.g. USD."]},
        ),
        (
            {"header.1": "#1", "1": "Maya", "2": {"type": "date_time"}, "3": "y"},
            {"2": ["A date needs fallback_value: the date as the customer should read it."]},
        ),
        (
            {"header.1": "#1", "1": ["Maya"], "2": "x", "3": "y"},
            {"1": ["Give text here."]},
        ),
        (
            {"header.1": "x" * 60, "1": "Maya", "2": "x", "3": "y"},
            {"header": ["Filled in, the header would be longer than 60 characters."]},
        ),
        (
            {"header.1": "#1", "1": "M" * 1000, "2": "x", "3": "y"},
            {"body": ["Filled in, the message would be longer than 1024 characters."]},
        ),
        (
            {"header.1": "#1", "1": "Maya", "2": "x", "3": "y", "button.1": "p" * 1001},
            {"button.1": ["At most 1000 characters."]},
        ),
    ],
    ids=[
        "missing",
        "unknown",
        "new-line",
        "amount",
        "currency-code",
        "date",
        "not-text",
        "long-header",
        "long-body",
        "long-payload",
    ],
)
def test_values_it_refuses_are_named_by_placeholder(org, number, values, errors):
    template = _template(org, number, ORDER_UPDATE)

    with pytest.raises(ServiceError) as refused:
        render(template, values)

    assert refused.value.status_code == 400
    assert refused.value.errors == {"parameters": errors}


def test_media_header_needs_a_link_or_an_id(org, number):
    template = _template(org, number, [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi"}])

    for value in ("ftp://example.com/a.jpg", {"link": "https://a", "id": "1"}, {"url": "https://a"}, ""):
        with pytest.raises(ServiceError) as refused:
            render(template, {"header": value})
        assert list(refused.value.errors["parameters"]) == ["header"]


def test_a_flow_button_carries_the_hub_s_flow_token_and_the_first_screen_s_data(
    org, number, fake_meta, django_capture_on_commit_callbacks
):
    """A campaign's FLOW button opens a hub flow: the token maps the customer's reply back to it (`<flow pk>.…`)
    and `flow_action_data` is the first screen's data, as Meta's button parameter takes them."""
    from messaging.services.flows import flow_token_new
    from tests.messaging.factories import WhatsAppFlowFactory

    flow = WhatsAppFlowFactory(organization=org, number=number, status="PUBLISHED")
    components = [
        {"type": "BODY", "text": "Book your visit."},
        {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Book", "flow_id": flow.meta_flow_id}]},
    ]
    template = _template(org, number, components, name="book_visit", category="MARKETING")
    token = flow_token_new(flow)

    rendered = render(template, {"button.0": {"flow_token": token, "flow_action_data": {"branch": "riyadh"}}})

    assert _received(fake_meta, template, rendered, org, number, django_capture_on_commit_callbacks)["components"] == [
        {
            "type": "button",
            "sub_type": "flow",
            "index": "0",
            "parameters": [
                {"type": "action", "action": {"flow_token": token, "flow_action_data": {"branch": "riyadh"}}}
            ],
        }
    ]
    assert token.startswith(f"{flow.pk}.")
