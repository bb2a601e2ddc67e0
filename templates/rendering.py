"""A template's placeholders, and the exact send body for given values: one function for every sender (the inbox
picker, send-test, campaigns, automation).

Values are named by placeholder keys:
- body placeholders by their own name: "1", "2" (positional templates) or "first_name" (named ones);
- a header text placeholder as "header.1" or "header.<name>"; a media or location header as "header";
- a button's parameter as "button.<index>" (its 0-based position among the template's buttons): a URL button's
  variable suffix, a copy-code button's code, a one-time-password button's code, a quick reply's payload, a flow
  button's token.

A text placeholder takes a string (numbers are turned into strings), or Meta's richer kinds as objects:
`{"type": "currency", "amount": "12.50", "code": "USD", "fallback_value": "$12.50"}` and
`{"type": "date_time", "fallback_value": "March 3, 2027"}`. A media header takes a link (`"https://…"` or
`{"link": …}`), or `{"id": <WhatsApp media id>}`, with `"filename"` for documents; a location header
`{"latitude", "longitude", "name", "address"}`.

The body built is Meta's send shape (reference §3.3) in the messages API's content form (`language` as a code,
button `index` as an integer): pass `Rendered.content` to `messaging.services.conversations.message_send`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext

from templates.models import MessageTemplate
from whatsapp_hub.errors import invalid_input

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT"})
# Meta's limits on what a filled-in template may hold (reference §4.3; 132005 "hydrated text too long").
HEADER_TEXT_LIMIT = 60
BODY_TEXT_LIMIT = 1024
COUPON_CODE_LIMIT = 15
PAYLOAD_LIMIT = 1000
# Meta refuses text parameters with new lines, tabs or more than four spaces in a row (132018).
_BAD_TEXT = re.compile(r"[\n\r\t]| {5,}")


@dataclass(frozen=True)
class Placeholder:
    """One value a template needs (or takes). `kind`: text (body/header text), image, video, document, location
    (header), url (a URL button's suffix), copy_code, otp, payload (quick reply), flow, catalog, mpm (buttons)."""

    key: str
    component: str  # header | body | button
    kind: str
    label: str
    example: str = ""
    required: bool = True
    name: str = ""  # the variable's name in the text ("1", "first_name"), or the button's index


@dataclass(frozen=True)
class Rendered:
    """`template`: `{name, language, components}` (the messages API's template content); `preview`: the message as
    the customer reads it, in plain text."""

    template: dict
    preview: str
    parameters: dict = field(default_factory=dict)  # the values used, by key

    @property
    def content(self) -> dict:
        return {"type": "template", "template": self.template}


def _component(template: MessageTemplate, ctype: str) -> dict | None:
    return next((c for c in template.components if str(c.get("type", "")).upper() == ctype), None)


def _buttons(template: MessageTemplate) -> list[dict]:
    component = _component(template, "BUTTONS")
    return list(component.get("buttons") or []) if component else []


def _names(text: str) -> list[str]:
    """The variables of a text, each once, in order: by number for positional ones, else as they appear."""
    names = list(dict.fromkeys(PLACEHOLDER.findall(text or "")))
    if names and all(name.isdigit() for name in names):
        names.sort(key=int)
    return names


def _text_examples(component: dict, part: str) -> dict[str, str]:
    """Meta's examples of a header or body (`header_text`/`body_text` positional, `*_named_params` named)."""
    example = component.get("example") or {}
    named = example.get(f"{part}_text_named_params") or []
    found = {str(item.get("param_name")): str(item.get("example", "")) for item in named if isinstance(item, dict)}
    positional = example.get(f"{part}_text") or []
    if positional and isinstance(positional[0], list):  # body_text is a list of lists; header_text is flat
        positional = positional[0]
    found.update({str(number): str(value) for number, value in enumerate(positional, start=1)})
    return found


def placeholders(template: MessageTemplate) -> list[Placeholder]:
    """Every value the template needs or takes, in the order a form shows them: header, body, buttons."""
    found: list[Placeholder] = []
    header = _component(template, "HEADER")
    if header:
        header_format = str(header.get("format", "TEXT")).upper()
        if header_format == "TEXT":
            examples = _text_examples(header, "header")
            for name in _names(header.get("text", "")):
                found.append(
                    Placeholder(
                        key=f"header.{name}",
                        component="header",
                        kind="text",
                        label=gettext("Header {{%(name)s}}") % {"name": name},
                        example=examples.get(name, ""),
                        name=name,
                    )
                )
        elif header_format in MEDIA_FORMATS or header_format == "LOCATION":
            kind = header_format.lower()
            found.append(
                Placeholder(
                    key="header", component="header", kind=kind, label=gettext("Header %(kind)s") % {"kind": kind}
                )
            )
    body = _component(template, "BODY")
    if body:
        examples = _text_examples(body, "body")
        for name in _names(body.get("text", "")):
            found.append(
                Placeholder(
                    key=name,
                    component="body",
                    kind="text",
                    label=f"{{{{{name}}}}}",
                    example=examples.get(name, ""),
                    name=name,
                )
            )
    for index, button in enumerate(_buttons(template)):
        placeholder = _button_placeholder(index, button)
        if placeholder is not None:
            found.append(placeholder)
    return found


def _button_placeholder(index: int, button: dict) -> Placeholder | None:
    btype = str(button.get("type", "")).upper()
    key, label = f"button.{index}", str(button.get("text") or btype.replace("_", " ").lower())
    example = button.get("example")
    example = str(example[0] if isinstance(example, list) and example else example or "")
    if btype == "URL" and PLACEHOLDER.search(button.get("url", "")):
        return Placeholder(key=key, component="button", kind="url", label=label, example=example, name=str(index))
    if btype == "COPY_CODE":
        return Placeholder(key=key, component="button", kind="copy_code", label=label, example=example, name=str(index))
    if btype == "OTP":
        # The code again (by default the body's first value): Meta sends one-time-password buttons as URL buttons.
        return Placeholder(key=key, component="button", kind="otp", label=label, required=False, name=str(index))
    if btype == "QUICK_REPLY":
        return Placeholder(key=key, component="button", kind="payload", label=label, required=False, name=str(index))
    if btype == "FLOW":
        return Placeholder(key=key, component="button", kind="flow", label=label, required=False, name=str(index))
    if btype in {"CATALOG", "MPM"}:
        kind = btype.lower()
        return Placeholder(key=key, component="button", kind=kind, label=label, required=kind == "mpm", name=str(index))
    return None  # PHONE_NUMBER, static URL, VOICE_CALL: nothing to fill in


# --- values -----------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value that cannot be sent; its message is shown next to the placeholder."""


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plain_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Invalid(gettext("Give text here."))
    text = str(value).strip()
    if _BAD_TEXT.search(text):
        raise _Invalid(gettext("WhatsApp does not allow new lines, tabs or more than four spaces in a row here."))
    return text


def _text_parameter(value: Any) -> tuple[dict, str]:
    """Meta's parameter for a text variable, and what the customer reads in its place."""
    if not isinstance(value, Mapping):
        text = _plain_text(value)
        return {"type": "text", "text": text}, text
    kind = value.get("type")
    fallback = value.get("fallback_value")
    if kind == "date_time":
        if _is_blank(fallback):
            raise _Invalid(gettext("A date needs fallback_value: the date as the customer should read it."))
        text = _plain_text(fallback)
        return {"type": "date_time", "date_time": {"fallback_value": text}}, text
    if kind == "currency":
        code = str(value.get("code") or "").upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise _Invalid(gettext("An amount needs code: the ISO 4217 currency code, e.g. USD."))
        try:
            amount = Decimal(str(value.get("amount")))
        except InvalidOperation:
            raise _Invalid(gettext("An amount needs amount: a number, e.g. 12.50.")) from None
        if not amount.is_finite() or abs(amount) >= 10**12:
            raise _Invalid(gettext("An amount needs amount: a number, e.g. 12.50."))
        text = _plain_text(fallback) if not _is_blank(fallback) else f"{amount} {code}"
        currency = {"fallback_value": text, "code": code, "amount_1000": int(amount * 1000)}
        return {"type": "currency", "currency": currency}, text
    raise _Invalid(gettext('Give text, or an object of type "currency" or "date_time".'))


def _media_parameter(kind: str, value: Any) -> dict:
    if isinstance(value, str):
        value = {"link": value} if "://" in value else {"id": value}
    if not isinstance(value, Mapping) or len(value.keys() & {"id", "link"}) != 1:
        raise _Invalid(gettext("Give the %(kind)s's link (https://…) or its WhatsApp media id.") % {"kind": kind})
    reference = "link" if "link" in value else "id"
    media = {reference: str(value[reference]).strip()}
    if not media[reference] or (reference == "link" and not media["link"].startswith(("https://", "http://"))):
        raise _Invalid(gettext("Give the %(kind)s's link (https://…) or its WhatsApp media id.") % {"kind": kind})
    if kind == "document" and not _is_blank(value.get("filename")):
        media["filename"] = str(value["filename"]).strip()[:240]
    return {"type": kind, kind: media}


def _location_parameter(value: Any) -> dict:
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
    except (TypeError, KeyError, ValueError):
        raise _Invalid(gettext("A location needs latitude and longitude.")) from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise _Invalid(gettext("A location needs latitude and longitude."))
    location = {"latitude": str(latitude), "longitude": str(longitude)}
    for extra in ("name", "address"):
        if not _is_blank(value.get(extra)):
            location[extra] = str(value[extra]).strip()[:1000]
    return {"type": "location", "location": location}


def _short_text(value: Any, limit: int) -> str:
    text = _plain_text(value)
    if len(text) > limit:
        raise _Invalid(gettext("At most %(limit)d characters.") % {"limit": limit})
    return text


def _button_parameter(placeholder: Placeholder, value: Any) -> dict:
    if placeholder.kind in {"url", "otp"}:
        suffix = _plain_text(value)
        return {"type": "text", "text": quote(suffix, safe="") if placeholder.kind == "url" else suffix}
    if placeholder.kind == "copy_code":
        return {"type": "coupon_code", "coupon_code": _short_text(value, COUPON_CODE_LIMIT)}
    if placeholder.kind == "payload":
        return {"type": "payload", "payload": _short_text(value, PAYLOAD_LIMIT)}
    if placeholder.kind == "flow":
        action = value if isinstance(value, Mapping) else {"flow_token": _short_text(value, PAYLOAD_LIMIT)}
        return {"type": "action", "action": dict(action)}
    if not isinstance(value, Mapping):
        raise _Invalid(gettext("Give Meta's action object for this button."))
    return {"type": "action", "action": dict(value)}


# The send's sub_type for each kind of button value (one-time-password buttons go as URL buttons).
_BUTTON_SUB_TYPES = {
    "url": "url",
    "otp": "url",
    "copy_code": "copy_code",
    "payload": "quick_reply",
    "flow": "flow",
    "catalog": "catalog",
    "mpm": "mpm",
}


def _fill(text: str, shown: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: shown.get(match.group(1), match.group(0)), text or "")


def render(template: MessageTemplate, values: Mapping[str, Any]) -> Rendered:
    """The send body of `template` filled with `values` (keys as `placeholders` gives them), and its preview.

    400 (errors under `parameters`, by key) for a required value missing, a value of the wrong kind, text WhatsApp
    refuses, a header or body longer than Meta allows once filled, and keys the template does not have.
    """
    if not isinstance(values, Mapping):
        raise invalid_input({"parameters": [gettext("Give the values as an object, by placeholder.")]})
    wanted = placeholders(template)
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(map(str, values)) - {placeholder.key for placeholder in wanted})
    for key in unknown:
        errors[key] = [gettext("This template has no placeholder %(key)s.") % {"key": key}]
    named = template.parameter_format == MessageTemplate.ParameterFormat.NAMED
    header_params: list[dict] = []
    body_params: list[dict] = []
    button_components: list[dict] = []
    shown: dict[str, dict[str, str]] = {"header": {}, "body": {}}
    used: dict[str, Any] = {}
    # A one-time-password button repeats the code, which is the body's first value unless given.
    body_first = next((values.get(p.key) for p in wanted if p.component == "body"), None)
    for placeholder in wanted:
        value = values.get(placeholder.key)
        if placeholder.kind == "otp" and _is_blank(value):
            value = body_first if isinstance(body_first, str) else None
        if _is_blank(value):
            if placeholder.required:
                errors[placeholder.key] = [gettext("A value is needed here.")]
            continue
        try:
            if placeholder.component == "button":
                parameter = _button_parameter(placeholder, value)
                button_components.append(
                    {
                        "type": "button",
                        "sub_type": _BUTTON_SUB_TYPES[placeholder.kind],
                        "index": int(placeholder.name),
                        "parameters": [parameter],
                    }
                )
            elif placeholder.kind == "text":
                parameter, text = _text_parameter(value)
                if named and parameter["type"] == "text":
                    parameter["parameter_name"] = placeholder.name
                shown[placeholder.component][placeholder.name] = text
                (header_params if placeholder.component == "header" else body_params).append(parameter)
            elif placeholder.kind == "location":
                header_params.append(_location_parameter(value))
            else:
                header_params.append(_media_parameter(placeholder.kind, value))
        except _Invalid as refused:
            errors[placeholder.key] = [str(refused)]
            continue
        used[placeholder.key] = value
    header, body, footer = (_component(template, ctype) for ctype in ("HEADER", "BODY", "FOOTER"))
    header_text = _fill(header.get("text", ""), shown["header"]) if header else ""
    body_text = _fill(body.get("text", ""), shown["body"]) if body else ""
    if len(header_text) > HEADER_TEXT_LIMIT and not any(key.startswith("header") for key in errors):
        errors["header"] = [
            gettext("Filled in, the header would be longer than %(limit)d characters.") % {"limit": HEADER_TEXT_LIMIT}
        ]
    if len(body_text) > BODY_TEXT_LIMIT:
        errors["body"] = [
            gettext("Filled in, the message would be longer than %(limit)d characters.") % {"limit": BODY_TEXT_LIMIT}
        ]
    if errors:
        raise invalid_input({"parameters": errors})
    components = []
    if header_params:
        components.append({"type": "header", "parameters": header_params})
    if body_params:
        components.append({"type": "body", "parameters": body_params})
    components.extend(button_components)
    content = {"name": template.name, "language": template.language}
    if components:
        content["components"] = components
    return Rendered(
        template=content,
        preview=_preview(template, header_text, body_text, footer),
        parameters=used,
    )


def _preview(template: MessageTemplate, header_text: str, body_text: str, footer: dict | None) -> str:
    lines = []
    header = _component(template, "HEADER")
    if header is not None:
        header_format = str(header.get("format", "TEXT")).upper()
        lines.append(header_text if header_format == "TEXT" else f"[{header_format.lower()}]")
    lines.append(body_text)
    if footer is not None and footer.get("text"):
        lines.append(footer["text"])
    labels = [f"[{button.get('text') or button.get('type', '').lower()}]" for button in _buttons(template)]
    if labels:
        lines.append(" ".join(labels))
    return "\n".join(line for line in lines if line)


def preview(template: MessageTemplate) -> str:
    """The template as the customer would read it, its placeholders shown as written (`{{1}}`, `{{first_name}}`):
    what a list of templates shows before any value is chosen."""
    header, body, footer = (_component(template, ctype) for ctype in ("HEADER", "BODY", "FOOTER"))
    return _preview(template, (header or {}).get("text", ""), (body or {}).get("text", ""), footer)
