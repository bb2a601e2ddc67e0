"""What Meta checks when a template is submitted (reference §4.3), checked here first, so that a mistake is a 400
naming its place instead of a rejection days later.

`template_validate()` gives the template as it is submitted (names upper-cased, only the fields Meta knows, the
components in Meta's order) or raises one 400 with every mistake found, each named by where it is: `name`,
`language`, `category`, `parameter_format`, and under `components` the component at fault by its type (`HEADER`,
`BODY`, `FOOTER`, `BUTTONS`), a button by its position among the buttons (`buttons[0]`), and an entry of no known
type by its position in the list (`components[2]`); a mistake of the list itself is `components: [...]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from django.utils.translation import gettext

from messaging.providers.base import TEMPLATE_HEADER_TYPES, base_mime
from templates.models import MessageTemplate
from whatsapp_hub.errors import invalid_input

NAME = re.compile(r"[a-z0-9_]+")
NAME_MAX_LENGTH = 512
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
# A placeholder as Meta writes it: {{1}} (positional) or {{first_name}} (named), nothing around the name.
PLACEHOLDER = re.compile(r"\{\{([0-9]+|[a-z_][a-z0-9_]*)\}\}")
TRAILING = re.compile(PLACEHOLDER.pattern + r"\Z")
ADJACENT = re.compile(r"\}\}\s*\{\{")
HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
FOOTER_TEXT_MAX = 60
BUTTON_TEXT_MAX = 25
BUTTONS_MAX = 10
URL_MAX = 2000
PHONE_MAX = 20
PHONE = re.compile(r"\+?[0-9]{6,19}")
COPY_CODE_MAX = 15
CODE_EXPIRATION_MINUTES = (1, 90)
# Header text takes no formatting (Meta refuses markdown, new lines and the like there).
HEADER_FORBIDDEN = re.compile(r"[\n\r*~`]")
COMPONENT_ORDER = ("HEADER", "BODY", "FOOTER", "BUTTONS")
HEADER_FORMATS = ("TEXT", *TEMPLATE_HEADER_TYPES, "LOCATION")
# How many buttons of each kind one template may have.
BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "FLOW": 1, "OTP": 1}
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")
FLOW_ACTIONS = ("navigate", "data_exchange")

Category = MessageTemplate.Category
ParameterFormat = MessageTemplate.ParameterFormat


@dataclass(frozen=True)
class TemplateDraft:
    """A template fit to submit: what Meta's create call takes."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict]

    def header(self) -> dict | None:
        return next((c for c in self.components if c["type"] == "HEADER"), None)

    @property
    def media_format(self) -> str | None:
        """IMAGE, VIDEO or DOCUMENT for a media header (its example is a file), else None."""
        header = self.header()
        return header["format"] if header and header["format"] in TEMPLATE_HEADER_TYPES else None


class _Errors:
    """Mistakes by place: top-level fields, and the components' places under `components`."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.components: dict[str, list[str]] = {}
        self.listing: list[str] = []

    def field(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def at(self, place: str, message: str) -> None:
        self.components.setdefault(place, []).append(message)

    def raise_any(self) -> None:
        errors: dict[str, Any] = dict(self.fields)
        if self.listing:
            errors["components"] = self.listing
        elif self.components:
            errors["components"] = self.components
        if errors:
            raise invalid_input(errors)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _upper(value: Any) -> str:
    return value.strip().upper() if isinstance(value, str) else ""


# --- placeholders -------------------------------------------------------------------------------------------------


def _placeholders(text: str, place: str, *, named: bool, edges: bool, errors: _Errors) -> list[str]:
    """The variables of a text, in order of appearance (each once), after checking how they are written and placed:
    Meta's form, all of the template's format, never two side by side, and (`edges`: a body) not first or last."""
    names = list(dict.fromkeys(PLACEHOLDER.findall(text)))
    rest = PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        errors.at(
            place,
            gettext("Write each placeholder as {{1}}, {{2}}… (positional) or {{first_name}} (named), nothing else."),
        )
    if not names:
        return []
    if named and any(name.isdigit() for name in names):
        errors.at(place, gettext("This template uses named parameters: write {{first_name}}, not {{1}}."))
    elif not named and not all(name.isdigit() for name in names):
        errors.at(
            place,
            gettext("This template uses positional parameters: write {{1}}, {{2}}…, or choose named parameters."),
        )
    stripped = text.strip()
    if edges and PLACEHOLDER.match(stripped):
        errors.at(place, gettext("A placeholder cannot start the text: put some words before it."))
    if edges and TRAILING.search(stripped):
        errors.at(place, gettext("A placeholder cannot end the text: put some words or punctuation after it."))
    if ADJACENT.search(text):
        errors.at(place, gettext("Two placeholders cannot stand side by side: put words between them."))
    return names


def _numbered_from_one(names: list[str], place: str, errors: _Errors) -> None:
    numbers = sorted({int(name) for name in names if name.isdigit()})
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        errors.at(
            place,
            gettext("Number the placeholders from {{1}} with no gaps (found %(found)s).")
            % {"found": ", ".join(f"{{{{{n}}}}}" for n in numbers)},
        )


def _examples_missing(names: list[str], key: str) -> str:
    return gettext(
        "Give an example for each variable (%(names)s): Meta reviews the template with them (example.%(key)s)."
    ) % {
        "names": ", ".join(f"{{{{{name}}}}}" for name in names),
        "key": key,
    }


def _named_examples(value: Any, names: list[str], place: str, key: str, errors: _Errors) -> list[dict] | None:
    """Meta's `<part>_text_named_params`: one `{param_name, example}` per variable, each variable once."""
    found: dict[str, str] = {}
    items = value if isinstance(value, list) else []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("param_name"), str) and _text(item.get("example")):
            found.setdefault(item["param_name"], _text(item["example"]))
    if not isinstance(value, list) or set(found) != set(names) or len(items) != len(names):
        errors.at(place, _examples_missing(names, key))
        return None
    return [{"param_name": name, "example": found[name]} for name in names]


def _text_part(component: dict, place: str, part: str, *, limit: int, named: bool, errors: _Errors) -> dict:
    """A header's or body's text and its examples (`header_text`/`body_text`, or their `_named_params`)."""
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        errors.at(place, gettext("The text is missing."))
        return {}
    if len(text) > limit:
        errors.at(
            place, gettext("At most %(limit)d characters (this has %(count)d).") % {"limit": limit, "count": len(text)}
        )
    names = _placeholders(text, place, named=named, edges=part == "body", errors=errors)
    clean: dict[str, Any] = {"text": text}
    if not names or any(name.isdigit() == named for name in names):  # none, or of the other format: no examples
        return clean
    if not named:
        _numbered_from_one(names, place, errors)
    example = component.get("example") if isinstance(component.get("example"), dict) else {}
    if named:
        key = f"{part}_text_named_params"
        examples = _named_examples(example.get(key), names, place, key, errors)
        if examples is not None:
            clean["example"] = {key: examples}
        return clean
    key = f"{part}_text"
    values = example.get(key)
    if part == "body":  # body_text is a list holding one list of values
        values = values[0] if isinstance(values, list) and len(values) == 1 and isinstance(values[0], list) else None
    count = len({int(name) for name in names if name.isdigit()})
    if not isinstance(values, list) or len(values) != count or not all(_text(v) for v in values):
        errors.at(place, _examples_missing(sorted(names, key=int), key))
        return clean
    values = [_text(value) for value in values]
    clean["example"] = {key: [values] if part == "body" else values}
    return clean


# --- components ---------------------------------------------------------------------------------------------------


def _header(component: dict, *, named: bool, category: str, upload_type: str | None, errors: _Errors) -> dict:
    place = "HEADER"
    if category == Category.AUTHENTICATION:
        errors.at(place, gettext("Authentication templates have no header."))
        return {"type": "HEADER"}
    header_format = _upper(component.get("format")) or "TEXT"
    if header_format not in HEADER_FORMATS:
        errors.at(place, gettext("format must be one of %(formats)s.") % {"formats": ", ".join(HEADER_FORMATS)})
        return {"type": "HEADER"}
    clean: dict[str, Any] = {"type": "HEADER", "format": header_format}
    if upload_type is not None and header_format not in TEMPLATE_HEADER_TYPES:
        errors.at(place, gettext("An uploaded file is the example of an IMAGE, VIDEO or DOCUMENT header only."))
    if header_format == "TEXT":
        clean.update(_text_part(component, place, "header", limit=HEADER_TEXT_MAX, named=named, errors=errors))
        names = PLACEHOLDER.findall(clean.get("text", ""))
        if len(set(names)) > 1:
            errors.at(place, gettext("A text header takes at most one placeholder."))
        if HEADER_FORBIDDEN.search(PLACEHOLDER.sub("", clean.get("text", ""))):
            errors.at(place, gettext("A text header takes no new lines and no formatting (*, ~, `)."))
    elif header_format in TEMPLATE_HEADER_TYPES:
        allowed = TEMPLATE_HEADER_TYPES[header_format]
        handles = (
            (component.get("example") or {}).get("header_handle")
            if isinstance(component.get("example"), dict)
            else None
        )
        if upload_type is not None:
            if base_mime(upload_type) not in allowed:
                errors.at(
                    place,
                    gettext("A %(format)s header's example must be of type %(types)s, not %(type)s.")
                    % {"format": header_format, "types": " or ".join(allowed), "type": upload_type},
                )
        elif isinstance(handles, list) and len(handles) == 1 and _text(handles[0]):
            clean["example"] = {"header_handle": [_text(handles[0])]}
        else:
            errors.at(
                place,
                gettext(
                    "A %(format)s header needs an example file: upload one (header_file), name an uploaded media "
                    "(header_media_id), or give example.header_handle from Meta's Resumable Upload API."
                )
                % {"format": header_format},
            )
    return clean


def _body(component: dict, *, named: bool, category: str, errors: _Errors) -> dict:
    if category == Category.AUTHENTICATION:
        # Meta writes an authentication template's text itself; only the security line is a choice.
        if component.get("text"):
            errors.at("BODY", gettext("Authentication templates take no body text: WhatsApp writes it."))
        clean: dict[str, Any] = {"type": "BODY"}
        recommendation = component.get("add_security_recommendation")
        if recommendation is not None:
            if not isinstance(recommendation, bool):
                errors.at("BODY", gettext("add_security_recommendation must be true or false."))
            else:
                clean["add_security_recommendation"] = recommendation
        return clean
    return {"type": "BODY", **_text_part(component, "BODY", "body", limit=BODY_TEXT_MAX, named=named, errors=errors)}


def _footer(component: dict, *, category: str, errors: _Errors) -> dict:
    if category == Category.AUTHENTICATION:
        minutes = component.get("code_expiration_minutes")
        low, high = CODE_EXPIRATION_MINUTES
        if component.get("text"):
            errors.at("FOOTER", gettext("Authentication templates take no footer text: WhatsApp writes it."))
        if minutes is None:
            return {"type": "FOOTER"}
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
            errors.at(
                "FOOTER",
                gettext("code_expiration_minutes must be a whole number from %(low)d to %(high)d.")
                % {"low": low, "high": high},
            )
            return {"type": "FOOTER"}
        return {"type": "FOOTER", "code_expiration_minutes": minutes}
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        errors.at("FOOTER", gettext("The text is missing."))
        return {"type": "FOOTER"}
    if len(text) > FOOTER_TEXT_MAX:
        errors.at(
            "FOOTER",
            gettext("At most %(limit)d characters (this has %(count)d).")
            % {"limit": FOOTER_TEXT_MAX, "count": len(text)},
        )
    if "{{" in text or "}}" in text:
        errors.at("FOOTER", gettext("A footer takes no placeholders."))
    return {"type": "FOOTER", "text": text}


def _label(button: dict, place: str, errors: _Errors, *, required: bool = True) -> str | None:
    text = button.get("text")
    if text is None and not required:
        return None
    if not isinstance(text, str) or not text.strip():
        errors.at(place, gettext("The button's text is missing."))
        return None
    if len(text) > BUTTON_TEXT_MAX:
        errors.at(place, gettext("A button's text has at most %(limit)d characters.") % {"limit": BUTTON_TEXT_MAX})
    if "\n" in text or "{{" in text:
        errors.at(place, gettext("A button's text is one line, without placeholders."))
    return text


def _url_button(button: dict, place: str, errors: _Errors) -> dict:
    clean: dict[str, Any] = {"type": "URL", "text": _label(button, place, errors)}
    url = button.get("url")
    if not isinstance(url, str) or not re.match(r"https?://[^\s/]+", url.strip()):
        errors.at(place, gettext("The button's url must be an http:// or https:// address."))
        return clean
    url = url.strip()
    clean["url"] = url
    if len(url) > URL_MAX:
        errors.at(place, gettext("A URL has at most %(limit)d characters.") % {"limit": URL_MAX})
    variables = re.findall(r"\{\{[^}]*\}\}", url)
    if not variables:
        return clean
    if len(variables) > 1 or variables[0] != "{{1}}" or not url.endswith("{{1}}"):
        errors.at(place, gettext("A URL takes at most one variable, {{1}}, at its very end."))
        return clean
    example = button.get("example")
    example = example[0] if isinstance(example, list) and len(example) == 1 else None
    if not isinstance(example, str) or not re.match(r"https?://", example.strip()):
        errors.at(place, gettext("A URL with a variable needs example: [a full URL as a customer would get it]."))
    else:
        clean["example"] = [example.strip()]
    return clean


def _phone_button(button: dict, place: str, errors: _Errors) -> dict:
    clean: dict[str, Any] = {"type": "PHONE_NUMBER", "text": _label(button, place, errors)}
    phone = _text(button.get("phone_number"))
    if len(phone) > PHONE_MAX or not PHONE.fullmatch(phone.replace(" ", "")):
        errors.at(place, gettext("phone_number must be a phone number in international form, e.g. +15551234567."))
    else:
        clean["phone_number"] = phone.replace(" ", "")
    return clean


def _copy_code_button(button: dict, place: str, errors: _Errors) -> dict:
    example = button.get("example")
    example = example[0] if isinstance(example, list) and len(example) == 1 else example
    if not isinstance(example, str) or not example.strip() or len(example.strip()) > COPY_CODE_MAX:
        errors.at(
            place,
            gettext("A copy-code button needs example: a code of 1 to %(limit)d characters.")
            % {"limit": COPY_CODE_MAX},
        )
        return {"type": "COPY_CODE"}
    return {"type": "COPY_CODE", "example": example.strip()}


def _flow_button(button: dict, place: str, errors: _Errors) -> dict:
    clean: dict[str, Any] = {"type": "FLOW", "text": _label(button, place, errors)}
    flows = [key for key in ("flow_id", "flow_name", "flow_json") if button.get(key) not in (None, "")]
    if len(flows) != 1:
        errors.at(place, gettext("A flow button names its flow: one of flow_id, flow_name or flow_json."))
    else:
        clean[flows[0]] = str(button[flows[0]])
    action = button.get("flow_action")
    if action is not None:
        if action not in FLOW_ACTIONS:
            errors.at(place, gettext("flow_action must be navigate or data_exchange."))
        else:
            clean["flow_action"] = action
    if _text(button.get("navigate_screen")):
        clean["navigate_screen"] = _text(button["navigate_screen"])
    return clean


def _otp_button(button: dict, place: str, errors: _Errors) -> dict:
    otp_type = _upper(button.get("otp_type"))
    clean: dict[str, Any] = {"type": "OTP", "otp_type": otp_type}
    if otp_type not in OTP_TYPES:
        errors.at(place, gettext("otp_type must be one of %(types)s.") % {"types": ", ".join(OTP_TYPES)})
    label = _label(button, place, errors, required=False)
    if label is not None:
        clean["text"] = label
    if otp_type in ("ONE_TAP", "ZERO_TAP"):
        apps = button.get("supported_apps")
        valid = (
            isinstance(apps, list)
            and apps
            and all(
                isinstance(app, dict) and _text(app.get("package_name")) and _text(app.get("signature_hash"))
                for app in apps
            )
        )
        if not valid:
            errors.at(
                place, gettext("A one-tap or zero-tap button needs supported_apps: [{package_name, signature_hash}].")
            )
        else:
            clean["supported_apps"] = [
                {"package_name": _text(app["package_name"]), "signature_hash": _text(app["signature_hash"])}
                for app in apps
            ]
    return clean


BUTTON_CHECKS = {
    "QUICK_REPLY": lambda button, place, errors: {"type": "QUICK_REPLY", "text": _label(button, place, errors)},
    "URL": _url_button,
    "PHONE_NUMBER": _phone_button,
    "COPY_CODE": _copy_code_button,
    "FLOW": _flow_button,
    "OTP": _otp_button,
}


def _buttons(component: dict, *, category: str, errors: _Errors) -> dict:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        errors.at("BUTTONS", gettext("buttons must be a list of 1 to %(limit)d buttons.") % {"limit": BUTTONS_MAX})
        return {"type": "BUTTONS", "buttons": []}
    if len(buttons) > BUTTONS_MAX:
        errors.at(
            "BUTTONS",
            gettext("At most %(limit)d buttons (this has %(count)d).") % {"limit": BUTTONS_MAX, "count": len(buttons)},
        )
    clean, kinds = [], []
    for index, button in enumerate(buttons):
        place = f"buttons[{index}]"
        kind = _upper(button.get("type")) if isinstance(button, dict) else ""
        check = BUTTON_CHECKS.get(kind)
        if check is None:
            errors.at(place, gettext("type must be one of %(types)s.") % {"types": ", ".join(BUTTON_CHECKS)})
            continue
        if (kind == "OTP") != (category == Category.AUTHENTICATION):
            message = (
                gettext("Authentication templates have one button, of type OTP.")
                if category == Category.AUTHENTICATION
                else gettext("OTP buttons are for authentication templates.")
            )
            errors.at(place, message)
            continue
        kinds.append(kind)
        clean.append(check(button, place, errors))
    for kind, limit in BUTTON_LIMITS.items():
        if kinds.count(kind) > limit:
            errors.at(
                "BUTTONS",
                gettext("At most %(limit)d %(kind)s button(s).") % {"limit": limit, "kind": kind},
            )
    # Quick replies sit together, all before or all after the other buttons.
    changes = sum((a == "QUICK_REPLY") != (b == "QUICK_REPLY") for a, b in pairwise(kinds))
    if changes > 1:
        errors.at("BUTTONS", gettext("Group the quick replies together, before or after the other buttons."))
    return {"type": "BUTTONS", "buttons": clean}


# --- the template ---------------------------------------------------------------------------------------------------


def template_validate(
    *,
    name: Any,
    language: Any,
    category: Any,
    components: Any,
    parameter_format: Any = ParameterFormat.POSITIONAL,
    upload_type: str | None = None,
) -> TemplateDraft:
    """The template as it is submitted, or a 400 naming every mistake (see the module's docstring).

    `upload_type`: the MIME type of a file given apart for a media header's example (uploaded later for its handle),
    None when there is none; the header must then be of a format that file can illustrate.
    """
    errors = _Errors()
    name = _text(name)
    if not name or len(name) > NAME_MAX_LENGTH or not NAME.fullmatch(name):
        errors.field(
            "name",
            gettext("A name is 1 to %(limit)d lowercase letters, digits and underscores, e.g. order_update.")
            % {"limit": NAME_MAX_LENGTH},
        )
    language = _text(language).replace("-", "_")
    if not LANGUAGE.fullmatch(language):
        errors.field("language", gettext("A language is Meta's code, e.g. en, en_US, ar or pt_BR."))
    category = _upper(category)
    if category not in Category.values:
        errors.field(
            "category", gettext("category must be one of %(values)s.") % {"values": ", ".join(Category.values)}
        )
    parameter_format = _upper(parameter_format) or ParameterFormat.POSITIONAL
    if parameter_format not in ParameterFormat.values:
        errors.field("parameter_format", gettext("parameter_format must be POSITIONAL or NAMED."))
    named = parameter_format == ParameterFormat.NAMED

    clean: dict[str, dict] = {}
    if not isinstance(components, list) or not components:
        errors.listing.append(gettext("components must be a list holding at least a BODY."))
        components = []
    for index, component in enumerate(components):
        kind = _upper(component.get("type")) if isinstance(component, dict) else ""
        if kind not in COMPONENT_ORDER:
            errors.at(
                f"components[{index}]",
                gettext("Each component is an object whose type is one of %(types)s.")
                % {"types": ", ".join(COMPONENT_ORDER)},
            )
            continue
        if kind in clean:
            errors.at(kind, gettext("A template has at most one %(type)s.") % {"type": kind})
            continue
        if kind == "HEADER":
            clean[kind] = _header(component, named=named, category=category, upload_type=upload_type, errors=errors)
        elif kind == "BODY":
            clean[kind] = _body(component, named=named, category=category, errors=errors)
        elif kind == "FOOTER":
            clean[kind] = _footer(component, category=category, errors=errors)
        else:
            clean[kind] = _buttons(component, category=category, errors=errors)
    if components and "BODY" not in clean:
        errors.at("BODY", gettext("A template needs a BODY."))
    if upload_type is not None and "HEADER" not in clean:
        errors.at("HEADER", gettext("An uploaded file is the example of an IMAGE, VIDEO or DOCUMENT header only."))
    if category == Category.AUTHENTICATION and components and "BUTTONS" not in clean:
        errors.at("BUTTONS", gettext("Authentication templates have one button, of type OTP."))
    errors.raise_any()
    return TemplateDraft(
        name=name,
        language=language,
        category=category,
        parameter_format=parameter_format,
        components=[clean[kind] for kind in COMPONENT_ORDER if kind in clean],
    )
