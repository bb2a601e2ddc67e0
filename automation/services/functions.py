"""Custom functions: named, organization-owned HTTP calls that flow steps make (`function` nodes). Create, change,
delete (refused while a flow uses it), and try one with sample values (POST functions/{id}/test).

The headers are stored encrypted (they often carry a token) and shown masked; a URL is checked by the egress
policy when saved (a 400 naming `url`) and again when called (whatsapp_hub/egress.py).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.services import audit_log_write
from automation.flows import http, schema, templating
from automation.models import CustomFunction
from automation.selectors.flows import flows_using_function
from whatsapp_hub.errors import ServiceError

NAME_MAX_LENGTH = CustomFunction._meta.get_field("name").max_length
DESCRIPTION_MAX_LENGTH = CustomFunction._meta.get_field("description").max_length
BODY_MAX_BYTES = 64 * 1024


def _user(actor: Any):
    from accounts.models import User

    return actor if isinstance(actor, User) else None


def _refuse(field: str, messages: list[str]) -> ServiceError:
    return ServiceError(messages[0], errors={field: messages})


def _checked(check, value: Any, field: str) -> Any:
    """`value` through one of schema's checks; its refusal as a 400 naming `field`."""
    try:
        return check(value)
    except schema._Refused as exc:  # its messages name the field: the error's key does here
        raise _refuse(field, [message.removeprefix(f"{field}: ") for message in exc.messages]) from None


def _name_or_error(*, organization: Organization, name: str, exclude: CustomFunction | None = None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise _refuse("name", [_("A name is 1 to %(count)d characters.") % {"count": NAME_MAX_LENGTH}])
    taken = CustomFunction.objects.for_org(organization).filter(name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise _refuse("name", [_("A function named %(name)s exists already.") % {"name": name}])
    return name


def _body_or_error(body: Any) -> Any:
    _checked(schema.check_body, body, "body_template")
    if len(json.dumps(body)) > BODY_MAX_BYTES:
        raise _refuse("body_template", [_("The body template is at most 64 KB.")])
    return body


def _headers(function: CustomFunction | None, headers: dict) -> str:
    """The headers to store (JSON, encrypted by the field): a null value keeps the stored value of that header."""
    _checked(lambda value: schema.check_headers(value, allow_keep=True), headers, "headers")
    stored = http.function_headers(function) if function is not None else {}
    merged = {}
    for name, value in headers.items():
        if value is None:
            if name not in stored:
                raise _refuse("headers", [_("%(name)s has no stored value to keep.") % {"name": name}])
            merged[name] = stored[name]
        else:
            merged[name] = value
    return json.dumps(merged) if merged else ""


def _fields(*, organization: Organization, function: CustomFunction | None, data: dict) -> dict:
    fields: dict[str, Any] = {}
    if "name" in data:
        fields["name"] = _name_or_error(organization=organization, name=data["name"], exclude=function)
    if "description" in data:
        description = data["description"].strip()
        if len(description) > DESCRIPTION_MAX_LENGTH:
            raise _refuse("description", [_("At most %(count)d characters.") % {"count": DESCRIPTION_MAX_LENGTH}])
        fields["description"] = description
    if "method" in data:
        fields["method"] = data["method"]
    if "url" in data:
        fields["url"] = _checked(schema.check_url_template, data["url"], "url")
    if "headers" in data:
        fields["headers_encrypted"] = _headers(function, data["headers"])
    if "body_template" in data:
        fields["body_template"] = _body_or_error(data["body_template"])
    if "response_map" in data:
        fields["response_map"] = _checked(schema.check_response_map, data["response_map"], "response_map")
    if "timeout_seconds" in data:
        fields["timeout_seconds"] = data["timeout_seconds"]
    return fields


def _saved(function: CustomFunction) -> CustomFunction:
    try:
        with transaction.atomic():
            function.save()
    except IntegrityError:
        raise _refuse("name", [_("A function named %(name)s exists already.") % {"name": function.name}]) from None
    return function


@transaction.atomic
def function_create(*, organization: Organization, actor: Any, name: str, url: str, **data: Any) -> CustomFunction:
    """A new custom function. `data`: description, method, headers ({name: value}), body_template (JSON with
    placeholders), response_map ({variable: JSON path}), timeout_seconds."""
    fields = _fields(organization=organization, function=None, data={"name": name, "url": url, **data})
    function = _saved(CustomFunction(organization=organization, created_by=_user(actor), **fields))
    audit_log_write(organization=organization, actor=actor, action="function.create", target=function)
    return function


@transaction.atomic
def function_update(*, function: CustomFunction, actor: Any, **data: Any) -> CustomFunction:
    """Change the fields given; `headers` replaces them all (a null value keeps that header's stored value)."""
    function = CustomFunction.objects.for_org(function.organization_id).select_for_update().get(pk=function.pk)
    for key, value in _fields(organization=function.organization, function=function, data=data).items():
        setattr(function, key, value)
    _saved(function)
    audit_log_write(
        organization=function.organization,
        actor=actor,
        action="function.update",
        target=function,
        data={"fields": sorted(data)},
    )
    return function


@transaction.atomic
def function_delete(*, function: CustomFunction, actor: Any) -> None:
    """Delete a function no flow uses (409 naming the flows that do)."""
    using = flows_using_function(function=function)
    if using:
        raise ServiceError(
            _("Flows use this function: %(flows)s. Remove it from them first.")
            % {"flows": ", ".join(flow.name for flow in using)},
            status_code=409,
            code="in_use",
        )
    audit_log_write(
        organization=function.organization,
        actor=actor,
        action="function.delete",
        target=function,
        data={"name": function.name},
    )
    function.delete()


def function_test(*, function: CustomFunction, variables: dict[str, Any], contact: dict[str, Any]) -> http.CallResult:
    """Call the function now with sample values: `variables` for {{vars.*}}, `contact` for {{contact.*}} (name,
    phone, attributes...). Nothing is stored. Returns what a flow step would get (status, mapped variables, or the
    reason it failed in the hub's words)."""
    context = templating.Context(contact=dict(contact), variables=dict(variables))
    return http.call_function(function, context=context)
