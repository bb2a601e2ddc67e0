"""Placeholders in flow texts and function bodies, and the simple JSON paths that map an answer into variables.

Placeholders: `{{contact.name}}`, `{{contact.first_name}}`, `{{contact.phone}}`, `{{contact.wa_id}}`,
`{{contact.<attribute>}}` (a contact attribute), `{{vars.<name>}}` (a run variable; `{{vars.order.items.0.sku}}`
walks into one holding JSON) and `{{message.text}}` (the latest message the customer sent). Spaces inside the
braces are allowed; a value the run does not have becomes "" (a customer never reads `{{...}}`).

JSON paths: `data.items.0.name`, also written `$.data.items[0].name`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
PATH_PART = re.compile(r"[A-Za-z0-9_-]+")
PATH_MAX_PARTS = 20
ROOTS = ("contact", "vars", "message")


@dataclass
class Context:
    """What placeholders read: the contact's fields and attributes, the run's variables, the latest reply."""

    contact: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    message_text: str = ""

    @classmethod
    def of(cls, *, contact, variables: Mapping[str, Any], message_text: str = "") -> Context:
        name = (contact.name or contact.profile_name or "").strip()
        fields: dict[str, Any] = {**(contact.attributes if isinstance(contact.attributes, dict) else {})}
        fields.update(
            {
                "name": name,
                "first_name": name.split()[0] if name else "",
                "phone": contact.phone or (f"+{contact.wa_id}" if contact.wa_id else ""),
                "wa_id": contact.wa_id or "",
            }
        )
        return cls(contact=fields, variables=dict(variables), message_text=message_text)

    def lookup(self, path: str) -> Any:
        root, _, rest = path.partition(".")
        if root == "contact":
            return json_path(self.contact, rest)
        if root == "vars":
            return json_path(self.variables, rest)
        if root == "message" and rest == "text":
            return self.message_text
        return None


def text_of(value: Any) -> str:
    """How a value reads inside a text: strings as they are, numbers and booleans as JSON writes them, objects and
    lists as compact JSON, nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_text(text: str, context: Context) -> str:
    return PLACEHOLDER.sub(lambda match: text_of(context.lookup(match.group(1))), text)


def render_json(value: Any, context: Context) -> Any:
    """A JSON template filled in: every string in it rendered; a string that is only one placeholder takes the
    value's own JSON type (`"{{vars.count}}"` becomes 3, not "3")."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole:
            found = context.lookup(whole.group(1))
            return "" if found is None else found
        return render_text(value, context)
    if isinstance(value, list):
        return [render_json(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render_json(item, context) for key, item in value.items()}
    return value


def placeholders_in(value: Any) -> list[str]:
    """Every placeholder written in a JSON value (its strings, at any depth)."""
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, list):
        return [name for item in value for name in placeholders_in(item)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in placeholders_in(item)]
    return []


def unknown_placeholder(value: Any) -> str | None:
    """The first placeholder whose root is not contact, vars or message (a typo the customer would read as "")."""
    for name in placeholders_in(value):
        root, _, rest = name.partition(".")
        if root not in ROOTS or not rest or (root == "message" and rest != "text"):
            return name
    return None


def parse_path(path: str) -> list[str] | None:
    """The parts of a JSON path (`a.b.0`, `$.a.b[0]`), or None when it is not one."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:].lstrip(".")
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    if not path:
        return []
    parts = path.split(".")
    if len(parts) > PATH_MAX_PARTS or not all(PATH_PART.fullmatch(part) for part in parts):
        return None
    return parts


def json_path(value: Any, path: str) -> Any:
    """The value at `path` inside `value` (None when it is not there)."""
    parts = parse_path(path)
    if parts is None:
        return None
    for part in parts:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
