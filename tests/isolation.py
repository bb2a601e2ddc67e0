"""The isolation walker: every API route, two organizations, no leaks.

Each route under /api/v1/ must be classified in the registry of the calling test (a tenant
resource with a factory, an organization-scoped list, a platform route, or a route with no tenant
data). An unclassified route fails the test, so a new endpoint cannot skip the check.

Within one organization, the same resources are walked again for a member who may not see some of its
WhatsApp numbers (check_hidden_number): every route whose rows belong to a number (the number itself, its
conversations, their messages and files) treats a hidden number's row like another organization's.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from messaging.models import WhatsAppNumber

API_PREFIX = "api/v1/"


@dataclass(frozen=True)
class ApiRoute:
    name: str
    pattern: str
    methods: tuple[str, ...]
    kwargs: tuple[str, ...]


def _methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(sorted(m.upper() for m in actions))
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    names = getattr(view_class, "http_method_names", [])
    return tuple(sorted(m.upper() for m in names if hasattr(view_class, m) and m not in {"options", "head"}))


def api_routes() -> list[ApiRoute]:
    """Every named route under /api/v1/ with the methods it serves and its URL kwargs."""
    routes: list[ApiRoute] = []

    def walk(patterns, prefix: str):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.name:
                full = (prefix + str(entry.pattern)).replace("^", "")
                if full.startswith(API_PREFIX):
                    routes.append(
                        ApiRoute(entry.name, full, _methods(entry.callback), tuple(entry.pattern.regex.groupindex))
                    )

    walk(get_resolver().url_patterns, "")
    return routes


@dataclass
class Resource:
    """A tenant-owned resource served by routes named `<basename>-...`."""

    make: Callable  # (organization) -> model instance owned by it
    lookup: Callable = lambda obj: {"pk": obj.pk}  # URL kwargs of an instance
    list_ids: Callable = lambda body: [row["id"] for row in body["results"]]
    read: Callable = lambda response: response.json()  # a list route's body, as list_ids takes it (e.g. CSV rows)
    identity: Callable = lambda obj: obj.pk  # what list_ids yields for an instance
    bodies: dict = field(default_factory=dict)  # method -> JSON body for detail calls
    query: dict = field(default_factory=dict)  # query parameters a list route needs (e.g. a search's q)
    # (instance) -> a JSON body naming it, for a POST route that takes the row's id in its body (not its URL)
    naming: Callable | None = None


def snapshot(obj) -> dict | None:
    """The row as stored now (None once deleted)."""
    fresh = type(obj)._base_manager.filter(pk=obj.pk).first()
    return None if fresh is None else model_to_dict(fresh)


def check_resource(client, route: ApiRoute, resource: Resource, own, foreign) -> list[str]:
    """Call `route` as `own`'s organization about `foreign` (another tenant's row). Returns problems."""
    problems = []
    if not route.kwargs:  # a list route: the foreign row is invisible
        if "POST" in route.methods and resource.naming is not None:
            problems += _check_named_in_body(client, route, resource, own, foreign)
        if "GET" in route.methods:
            response = client.get(reverse(route.name), resource.query)
            if response.status_code != 200:
                problems.append(f"{route.name}: list answered {response.status_code}")
            else:
                ids = resource.list_ids(resource.read(response))
                if resource.identity(foreign) in ids:
                    problems.append(f"{route.name}: lists another organization's row")
                if resource.identity(own) not in ids:
                    problems.append(f"{route.name}: does not list the caller's own row (walker is blind)")
        return problems
    url = reverse(route.name, kwargs=resource.lookup(foreign))
    for method in route.methods:
        before = snapshot(foreign)
        body = resource.bodies.get(method, {})
        response = getattr(client, method.lower())(url, body, format="json")
        if response.status_code != 404:
            problems.append(f"{method} {route.name}: answered {response.status_code} for another tenant's row")
        elif not response.headers.get("Content-Type", "").startswith("application/json"):
            problems.append(f"{method} {route.name}: 404 without a JSON detail ({response.content[:80]!r})")
        if snapshot(foreign) != before:
            problems.append(f"{method} {route.name}: changed another tenant's row")
    own_url = reverse(route.name, kwargs=resource.lookup(own))
    if "GET" in route.methods and client.get(own_url).status_code != 200:
        problems.append(f"GET {route.name}: the caller's own row is not reachable (walker is blind)")
    return problems


def _check_named_in_body(client, route: ApiRoute, resource: Resource, own, foreign) -> list[str]:
    """POST a body naming another tenant's row: refused (400 or 404), the row unchanged; the caller's own is not. A
    route the caller's role may not use refuses both with its 403."""
    problems = []
    url = reverse(route.name)
    before = snapshot(foreign)
    foreign_status = client.post(url, resource.naming(foreign), format="json").status_code
    if snapshot(foreign) != before:
        problems.append(f"POST {route.name}: changed another tenant's row")
    own_status = client.post(url, resource.naming(own), format="json").status_code
    if foreign_status == own_status == 403:
        return problems
    if foreign_status not in (400, 404):
        problems.append(f"POST {route.name}: answered {foreign_status} for another tenant's row in the body")
    if own_status >= 400:
        problems.append(f"POST {route.name}: refused the caller's own row ({own_status}, walker is blind)")
    return problems


# How a row leads to its WhatsApp number: a media's message, a message's conversation, a conversation's number.
NUMBER_PATH = ("number", "conversation", "message")


def number_of(row) -> WhatsAppNumber | None:
    """The WhatsApp number a row belongs to (itself, or through NUMBER_PATH), else None."""
    while row is not None and not isinstance(row, WhatsAppNumber):
        row = next((getattr(row, name) for name in NUMBER_PATH if hasattr(type(row), name)), None)
    return row


def _answer(response) -> tuple[int, object]:
    """The status and the JSON body of a response (else its content type: a file, or HEAD's empty body)."""
    content_type = response.headers.get("Content-Type", "")
    is_json = content_type.startswith("application/json") and not getattr(response, "streaming", False)
    return response.status_code, response.json() if is_json and response.content else content_type


def check_hidden_number(
    client, route: ApiRoute, resource: Resource, org, other_org, hide: Callable
) -> list[str] | None:
    """Call `route` as a member of `org` about a row of one of its numbers that `hide` (number -> None) hides from
    them: it answers exactly as for another organization's row (404, or the 403 of a role that may not use the
    route), changes nothing and lists nothing of it; the caller's row on a visible number is reached and listed.
    Returns problems, or None for a route whose rows belong to no number."""
    own = resource.make(org)
    if number_of(own) is None:
        return None
    problems = []
    if not route.kwargs:
        if "GET" in route.methods:  # the caller's own row first: its number may be the one hidden next
            response = client.get(reverse(route.name), resource.query)
            if response.status_code not in (200, 403):
                problems.append(f"{route.name}: list answered {response.status_code}")
            elif response.status_code == 200 and resource.identity(own) not in resource.list_ids(
                resource.read(response)
            ):
                problems.append(f"{route.name}: does not list the caller's own row (walker is blind)")
        hidden = resource.make(org)
        hide(number_of(hidden))
        if "POST" in route.methods and resource.naming is not None:
            problems += [f"{p} (hidden number)" for p in _check_named_in_body(client, route, resource, own, hidden)]
        if "GET" in route.methods:
            response = client.get(reverse(route.name), resource.query)
            if response.status_code == 200 and resource.identity(hidden) in resource.list_ids(resource.read(response)):
                problems.append(f"{route.name}: lists a row of a hidden number")
        return problems
    foreign, hidden = resource.make(other_org), resource.make(org)
    hide(number_of(hidden))

    def call(method: str, row) -> tuple[int, object]:
        url = reverse(route.name, kwargs=resource.lookup(row))
        return _answer(getattr(client, method.lower())(url, resource.bodies.get(method, {}), format="json"))

    foreign_get = None
    for method in route.methods:
        expected = call(method, foreign)
        before = snapshot(hidden)
        answer = call(method, hidden)
        if answer != expected or answer[0] not in (403, 404):
            problems.append(
                f"{method} {route.name}: {answer} for a hidden number's row, {expected} for another tenant's"
            )
        if snapshot(hidden) != before:
            problems.append(f"{method} {route.name}: changed a hidden number's row")
        if method == "GET":
            foreign_get = expected[0]
    if foreign_get == 404 and (status := call("GET", own)[0]) != 200:
        problems.append(f"GET {route.name}: the caller's own row answered {status} (walker is blind)")
    return problems
