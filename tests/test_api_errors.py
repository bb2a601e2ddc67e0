"""One error shape for the whole API: JSON with `detail` (validation: 400 with `errors` by field), and
no input, however broken, gets a 500."""

import json

import pytest
from django.urls import path, reverse
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import ApiKey, Invitation, Membership, Role, Team
from accounts.services import api_key_create, invitation_create
from messaging.models import Contact
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory
from tests.isolation import api_routes
from whatsapp_hub import urls as project_urls

ORGANIZATION = "/api/v1/organization"
LOGIN = "/api/v1/auth/login"
TEAMS = "/api/v1/teams"
LIMIT = 3 * 1024 * 1024
HUGE_ID = 99999999999999999999999  # beyond a 64-bit integer


def post_raw(client: APIClient, url: str, body: bytes, content_type: str = "application/json", method: str = "post"):
    return getattr(client, method)(url, body, content_type=content_type)


# --- 401, 403, 404, 405, 415 -------------------------------------------------------------------------


def test_no_credentials_is_401(anon_client, db):
    r = anon_client.get(ORGANIZATION)

    assert assert_error(r, 401) == {"detail": "Authentication credentials were not provided."}
    assert r["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Api-Key nope", "Token abc"],
)
def test_a_bad_credential_is_401(header, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_error(client.get(ORGANIZATION), 401)


def test_an_agent_on_an_admin_endpoint_is_403(agent_client):
    assert assert_error(agent_client.get("/api/v1/admin/team"), 403) == {"detail": "Admin role required."}


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/v1/teams/1/nope", "/api/v1/auth/login/extra"])
def test_an_unknown_route_under_api_v1_is_404(method, url, db):
    # CSRF checks on, as for a real client: the catch-all must not answer the CSRF middleware's HTML 403.
    r = getattr(APIClient(enforce_csrf_checks=True), method)(url)

    assert assert_error(r, 404) == {"detail": "Not found."}


def test_another_tenants_object_is_404_like_a_missing_one(admin_client, other_org):
    theirs = Team.objects.create(organization=other_org, name="Support")

    foreign = admin_client.get(f"{TEAMS}/{theirs.pk}")
    missing = admin_client.get(f"{TEAMS}/{theirs.pk + 1000}")

    assert assert_error(foreign, 404) == assert_error(missing, 404) == {"detail": "No Team matches the given query."}


@pytest.mark.parametrize(
    ("method", "url"),
    [("delete", LOGIN), ("get", LOGIN), ("get", "/api/v1/auth/logout"), ("put", ORGANIZATION), ("post", ORGANIZATION)],
)
def test_a_wrong_method_is_405(method, url, admin_client):
    r = getattr(admin_client, method)(url)

    assert assert_error(r, 405) == {"detail": f'Method "{method.upper()}" not allowed.'}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "application/x-www-form-urlencoded",  # the API takes JSON; files come as multipart where a route takes one
        "multipart/form-data; boundary=x",
    ],
)
def test_an_unsupported_media_type_is_415(content_type, db):
    r = post_raw(APIClient(), LOGIN, b"email=a", content_type)

    assert assert_error(r, 415) == {"detail": f'Unsupported media type "{content_type}" in request.'}


# --- 400: malformed JSON, wrong types, unknown fields ----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"email": ', b"{'email': 'a@b.co'}", b'{"email": "a@b.co",}', b"\xff\xfe", b'{"n": NaN}', b"{" * 10_000],
    ids=["truncated", "single-quotes", "trailing-comma", "not-utf8", "nan", "deep-nesting"],
)
def test_malformed_json_is_400(body, db):
    r = post_raw(APIClient(), LOGIN, body)

    assert assert_error(r, 400)["detail"].startswith("JSON parse error - ")


def test_an_empty_json_body_is_400(db):
    assert assert_error(post_raw(APIClient(), LOGIN, b""), 400)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "Invalid data. Expected a dictionary, but got list."),
        (b'"text"', "Invalid data. Expected a dictionary, but got str."),
        (b"42", "Invalid data. Expected a dictionary, but got int."),
        (b"null", "No data provided"),
    ],
)
def test_a_json_body_that_is_not_an_object_is_400(body, message, admin_client):
    for client, url, method in [(APIClient(), LOGIN, "post"), (admin_client, ORGANIZATION, "patch")]:
        r = post_raw(client, url, body, method=method)

        assert assert_error(r, 400) == {"detail": message, "errors": {"non_field_errors": [message]}}


@pytest.mark.parametrize(
    ("who", "method", "url", "body", "errors"),
    [
        (
            "anon",
            "post",
            LOGIN,
            {"email": ["a@b.co"], "password": {"x": 1}, "organization_id": "one"},
            {
                "email": ["Not a valid string."],
                "password": ["Not a valid string."],
                "organization_id": ["A valid integer is required."],
            },
        ),
        (
            "admin",
            "post",
            TEAMS,
            {"name": "Sales", "member_ids": "1,2"},
            {"member_ids": ['Expected a list of items but got type "str".']},
        ),
        (
            "admin",
            "post",
            TEAMS,
            {"name": "Sales", "member_ids": [None]},
            {"member_ids": {"0": ["This field may not be null."]}},
        ),
        ("admin", "patch", ORGANIZATION, {"settings": [1, 2]}, {"settings": ["Must be an object."]}),
        ("admin", "patch", ORGANIZATION, {"name": None}, {"name": ["This field may not be null."]}),
        (
            "admin",
            "post",
            "/api/v1/api-keys",
            {"name": "k", "role": ["admin"]},
            {"role": ["\"['admin']\" is not a valid choice."]},
        ),
        (
            "admin",
            "post",
            "/api/v1/admin/access-list",
            {"email": 1, "role": True},
            {"email": ["Not a valid string."], "role": ['"True" is not a valid choice.']},
        ),
    ],
    ids=[
        "login",
        "team-member-ids-string",
        "team-null-member",
        "settings-list",
        "name-null",
        "key-role-list",
        "invite-types",
    ],
)
def test_wrong_types_are_400_with_errors_by_field(who, method, url, body, errors, admin_client):
    client = admin_client if who == "admin" else APIClient()

    r = getattr(client, method)(url, body)

    result = assert_error(r, 400)
    assert set(result) == {"detail", "errors"}
    assert result["errors"] == errors
    assert not Team.objects.exists()
    assert not ApiKey.objects.exists()
    assert not Invitation.objects.exists()


def test_unknown_fields_are_400_and_named(admin_client, org):
    r = admin_client.patch(ORGANIZATION, {"name": "Renamed", "bogus": 1})

    assert assert_error(r, 400) == {"detail": "bogus: Unknown field.", "errors": {"bogus": ["Unknown field."]}}
    org.refresh_from_db()
    assert org.name == "Acme"


def test_read_only_fields_are_refused_like_unknown_ones(admin_client, org):
    r = admin_client.patch(ORGANIZATION, {"plan": "enterprise", "status": "suspended"})

    assert assert_error(r, 400)["errors"] == {"plan": ["Unknown field."], "status": ["Unknown field."]}
    org.refresh_from_db()
    assert (org.plan, org.status) == ("pro", "active")


def test_validation_errors_list_every_field(db):
    r = APIClient().post("/api/v1/auth/register", {"email": "nope", "bogus": 1})

    assert assert_error(r, 400) == {
        "detail": "bogus: Unknown field.",
        "errors": {"bogus": ["Unknown field."]},
    }
    r = APIClient().post("/api/v1/auth/register", {"email": "nope"})
    assert assert_error(r, 400) == {
        "detail": "email: Enter a valid email address.",
        "errors": {
            "email": ["Enter a valid email address."],
            "password": ["This field is required."],
            "name": ["This field is required."],
            "organization_name": ["This field is required."],
        },
    }


# --- 413 -------------------------------------------------------------------------------------------------


def test_a_json_body_over_3_mb_is_413_and_changes_nothing(admin_client, org):
    body = json.dumps({"name": "Renamed", "settings": {"blob": "x" * LIMIT}}).encode()
    assert len(body) > LIMIT

    r = post_raw(admin_client, ORGANIZATION, body, method="patch")

    assert assert_error(r, 413) == {"detail": f"Request body too large (at most {LIMIT} bytes)."}
    org.refresh_from_db()
    assert org.name == "Acme"


def test_a_json_body_just_under_the_limit_is_parsed(admin_client, org):
    prefix, suffix = b'{"name": "', b'"}'
    body = prefix + b"x" * (LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == LIMIT

    r = post_raw(admin_client, ORGANIZATION, body, method="patch")

    assert assert_error(r, 400)["errors"] == {"name": ["Ensure this field has no more than 200 characters."]}


def test_a_form_body_over_3_mb_is_415_unread(db):
    r = post_raw(APIClient(), LOGIN, b"email=" + b"x" * LIMIT, "application/x-www-form-urlencoded")

    assert assert_error(r, 415) == {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'}


# --- ids beyond the database's integers ------------------------------------------------------------------


def test_ids_beyond_64_bits_are_refused_not_a_500(org, admin_client, admin_membership, agent_membership):
    anonymous = APIClient()
    login = {"email": admin_membership.user.email, "password": PASSWORD}

    assert assert_error(anonymous.post(LOGIN, {**login, "organization_id": HUGE_ID}), 400)["errors"] == {
        "organization_id": ["Ensure this value is less than or equal to 9223372036854775807."]
    }
    assert assert_error(admin_client.post(TEAMS, {"name": "Sales", "member_ids": [HUGE_ID]}), 400)["errors"] == {
        "member_ids": {"0": ["Ensure this value is less than or equal to 9223372036854775807."]}
    }
    assert_error(admin_client.put(f"/api/v1/admin/users/{HUGE_ID}/role", {"role": "agent"}), 404)
    assert_error(admin_client.post(f"/api/v1/admin/users/{HUGE_ID}/deactivate"), 404)
    assert_error(admin_client.post(f"/api/v1/admin/users/{HUGE_ID}/activate"), 404)
    assert_error(admin_client.get(f"/api/v1/audit-log?actor={HUGE_ID}"), 400)
    assert_error(admin_client.get(f"{TEAMS}/{HUGE_ID}"), 404)
    assert_error(admin_client.get(f"/api/v1/api-keys/{HUGE_ID}"), 404)
    assert not Team.objects.exists()
    assert Membership.objects.get(pk=agent_membership.pk).role == Role.AGENT


# --- 500 -------------------------------------------------------------------------------------------------


class _Crash(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("a bug")


# Used by test_an_unhandled_error_is_a_json_500 only (pytest.mark.urls).
urlpatterns = [path("api/v1/test-crash", _Crash.as_view()), *project_urls.urlpatterns]
handler500 = project_urls.handler500


@pytest.mark.urls(__name__)
def test_an_unhandled_error_is_a_json_500(db):
    r = APIClient(raise_request_exception=False).get("/api/v1/test-crash")

    assert assert_error(r, 500) == {"detail": "Internal server error."}
    assert "a bug" not in r.content.decode()


# --- no route answers 500 to broken input ----------------------------------------------------------------

BROKEN_BODIES = {
    "malformed-json": (b'{"name": ', "application/json"),
    "json-list": (b"[1, 2]", "application/json"),
    "json-null": (b"null", "application/json"),
    "json-number": (b"1e999", "application/json"),
    "not-utf8": (b"\xff\xfe\xfd", "application/json"),
    "unknown-field": (b'{"bogus": {"deep": [1, 2]}}', "application/json"),
    "wrong-types": (
        json.dumps({"name": [], "email": {}, "role": 7, "token": [], "password": 1, "status": [], "plan": {}}).encode(),
        "application/json",
    ),
    "too-large": (b'{"name": "' + b"x" * LIMIT + b'"}', "application/json"),
    "xml": (b"<name>x</name>", "application/xml"),
    "form": (b"name=x&name=y&role=", "application/x-www-form-urlencoded"),
    "broken-multipart": (b"--xx\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=xx"),
}


@pytest.fixture
def walker_setup(org, admin_membership, agent_membership):
    """Real objects of `org` for every kind of URL kwarg, and a client per kind of route."""
    team = Team.objects.create(organization=org, name="Sales")
    key, _ = api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=None)
    invitation = invitation_create(organization=org, email="invitee@example.com", role=Role.AGENT, invited_by=None)
    kwargs_by_basename = {
        "team": {"pk": team.pk},
        "api-key": {"pk": key.pk},
        "super-admin-organization": {"pk": org.pk},
        "member": {"user_id": agent_membership.user_id},
        "access-list": {"email": invitation.email},
        "settings-integration": {"key": "email"},
    }
    clients = {
        "anonymous": APIClient(),
        "staff": client_for(user=UserFactory(is_staff=True)),
        "admin": client_for(admin_membership),
    }
    return kwargs_by_basename, clients


def _route_client(route, clients) -> APIClient:
    if route.name.startswith("auth-") or route.name == "super-admin-login":
        return clients["anonymous"]
    if route.name.startswith("super-admin-"):
        return clients["staff"]
    return clients["admin"]


def _route_url(route, kwargs_by_basename) -> str:
    if not route.kwargs:
        return reverse(route.name)
    for basename, kwargs in kwargs_by_basename.items():
        if route.name.startswith(f"{basename}-") and set(route.kwargs) <= set(kwargs):
            return reverse(route.name, kwargs={name: kwargs[name] for name in route.kwargs})
    return reverse(route.name, kwargs={name: "1" for name in route.kwargs})


@pytest.mark.parametrize("kind", list(BROKEN_BODIES))
def test_no_route_answers_broken_input_with_a_500(kind, walker_setup):
    kwargs_by_basename, clients = walker_setup
    body, content_type = BROKEN_BODIES[kind]
    problems = []
    calls = 0

    for route in api_routes():
        for method in ("POST", "PUT", "PATCH"):
            if method not in route.methods:
                continue
            url = _route_url(route, kwargs_by_basename)
            client = _route_client(route, clients)
            r = getattr(client, method.lower())(url, body, content_type=content_type)
            calls += 1
            if r.status_code >= 500:
                problems.append(f"{method} {url}: {r.status_code}")
            elif r.status_code >= 400:
                if not r["Content-Type"].startswith("application/json"):
                    problems.append(f"{method} {url}: {r.status_code} {r['Content-Type']}")
                elif not isinstance(r.json().get("detail"), str):
                    problems.append(f"{method} {url}: {r.status_code} without detail: {r.content[:200]!r}")

    assert problems == []
    assert calls >= 20


# --- unknown query parameters ----------------------------------------------------------------------------

# drf-spectacular's own views (the schema and its docs) take their own parameters (format, lang).
SCHEMA_ROUTES = {"schema", "docs"}


def test_every_get_route_refuses_an_unknown_query_parameter_naming_it(walker_setup):
    kwargs_by_basename, clients = walker_setup
    problems = []
    checked = 0

    for route in api_routes():
        if "GET" not in route.methods or route.name in SCHEMA_ROUTES:
            continue
        client = clients["staff"] if route.name.startswith("super-admin-") else clients["admin"]
        url = _route_url(route, kwargs_by_basename)
        r = client.get(url, {"no_such_parameter": "x"})
        checked += 1
        if r.status_code != 400 or not r["Content-Type"].startswith("application/json"):
            problems.append(f"GET {url}: {r.status_code} {r['Content-Type']}")
        elif list(r.json().get("errors", {})) != ["no_such_parameter"]:
            problems.append(f"GET {url}: {r.json()}")

    assert problems == []
    assert checked >= 25


@pytest.mark.parametrize(
    ("url", "params", "known"),
    [
        (
            "/api/v1/contacts",
            {"isActive": "true", "limit": "10"},
            "is_active, opted_out, ordering, page, page_size, search, tag",
        ),
        (
            "/api/v1/conversations",
            {"phone_number_id": "1234567890", "offset": "0"},
            "assigned_to, cursor, number, page_size, search, status, team, unread",
        ),
        ("/api/v1/numbers", {"type": "cloud", "skip": "0"}, "page, page_size, provider, status"),
        ("/api/v1/contacts/export", {"page": "2"}, "is_active, opted_out, ordering, search, tag"),
        ("/api/v1/organization", {"limit": "1"}, ""),
    ],
)
def test_a_parameter_spelt_as_a_seed_spells_it_is_a_400_naming_it(url, params, known, admin_client):
    r = admin_client.get(url, {"page_size": "5", **params} if known.count("page_size") else params)

    takes = f"known here: {known}" if known else "this route takes none"
    assert assert_error(r, 400) == {
        "detail": f"{sorted(params)[0]}: Unknown query parameter; {takes}.",
        "errors": {name: [f"Unknown query parameter; {takes}."] for name in sorted(params)},
    }


def test_credentials_and_roles_are_checked_before_query_parameters(anon_client, agent_client):
    assert assert_error(anon_client.get("/api/v1/contacts", {"limit": "1"}), 401)["detail"] == (
        "Authentication credentials were not provided."
    )
    assert assert_error(agent_client.get("/api/v1/audit-log", {"limit": "1"}), 403)["detail"] == "Admin role required."


def test_documented_parameters_still_filter(org, admin_client):
    Contact.objects.create(organization=org, wa_id="966501234567", phone="+966501234567", name="Ann")
    Contact.objects.create(organization=org, wa_id="966501234568", phone="+966501234568", name="Bob", is_active=False)
    everything = {"search": "", "tag": "", "opted_out": "false", "ordering": "name", "page": "1", "page_size": "5"}

    listed = admin_client.get("/api/v1/contacts", {**everything, "is_active": "true"})
    exported = admin_client.get("/api/v1/contacts/export", {"search": "Bob", "ordering": "-name"})

    assert listed.status_code == 200, listed.content
    assert [row["name"] for row in listed.json()["results"]] == ["Ann"]
    assert exported.status_code == 200
    rows = b"".join(exported.streaming_content).decode("utf-8-sig").splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["Bob"]
