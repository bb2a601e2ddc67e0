"""What the fuzzer (tests/security/test_fuzz.py) found, each pinned by a direct test."""

import json

import jsonschema
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditLog, Team
from messaging.models import Provider, WhatsAppNumber
from tests.assertions import assert_error
from tests.messaging.factories import ConversationFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import waha_number


@pytest.fixture(scope="module")
def openapi(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def _responses(openapi, method: str, path: str) -> set[str]:
    return set(openapi["paths"][path][method]["responses"])


def test_each_operation_documents_the_errors_the_plumbing_answers(openapi):
    # These documented their 2xx only (teams, the super-admin list) or no 429 (every operation).
    assert _responses(openapi, "get", "/api/v1/teams/") == {"200", "400", "401", "403", "404", "429"}
    assert _responses(openapi, "get", "/api/v1/teams/{id}/") == {"200", "400", "401", "403", "404", "429"}
    assert _responses(openapi, "post", "/api/v1/teams/") == {"201", "400", "401", "403", "413", "415", "429"}
    assert _responses(openapi, "post", "/api/v1/auth/login/") == {"200", "400", "401", "403", "413", "415", "429"}
    assert _responses(openapi, "get", "/api/v1/dashboard/stats/") == {"200", "400", "401", "403", "429"}


def test_the_schema_lists_json_bodies_and_multipart_only_for_files(openapi):
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }

    assert {key: types for key, types in bodies.items() if types != ["application/json"]} == {
        ("post", "/api/v1/broadcasts/{id}/audience/"): ["multipart/form-data"],
        ("post", "/api/v1/campaigns/{id}/audience/"): ["multipart/form-data"],
        ("post", "/api/v1/contacts/import/"): ["multipart/form-data"],
        ("post", "/api/v1/customers/import/"): ["multipart/form-data"],
        ("post", "/api/v1/knowledge-bases/{id}/upload/"): ["multipart/form-data"],
        ("post", "/api/v1/conversations/{id}/messages/"): ["application/json", "multipart/form-data"],
        ("post", "/api/v1/media/"): ["multipart/form-data"],
        ("post", "/api/v1/messages/"): ["application/json", "multipart/form-data"],
        ("post", "/api/v1/templates/"): ["application/json", "multipart/form-data"],
    }


def test_validation_errors_nest_as_the_error_schema_says(openapi, admin_client):
    response = admin_client.post("/api/v1/teams", {"name": "Sales", "member_ids": [None]})

    body = assert_error(response, 400)
    assert body["errors"] == {"member_ids": {"0": ["This field may not be null."]}}
    jsonschema.validate(body, openapi["components"]["schemas"]["Detail"])


@pytest.mark.parametrize(
    ("url", "body", "errors"),
    [
        ("/api/v1/api-keys", {"name": 0, "role": "admin"}, {"name": ["Not a valid string."]}),
        ("/api/v1/teams", {"name": "Sales", "member_ids": ["1"]}, {"member_ids": ["A valid integer is required."]}),
        (
            "/api/v1/numbers",
            {"display_name": "Line", "provider": "sandbox", "throughput": "5", "is_primary": "true"},
            {"throughput": ["A valid integer is required."], "is_primary": ["Must be true or false."]},
        ),
    ],
    ids=["number-for-string", "string-in-integer-list", "string-for-integer-and-boolean"],
)
def test_a_json_value_of_another_type_than_documented_is_400(url, body, errors, admin_client):
    response = admin_client.post(url, body)

    assert assert_error(response, 400)["errors"] == errors
    assert not ApiKey.objects.exists()
    assert not Team.objects.exists()
    assert not WhatsAppNumber.objects.exists()


def test_mistyped_values_are_listed_with_the_other_errors(admin_client):
    response = admin_client.post("/api/v1/api-keys", {"name": 7, "role": "owner"})

    assert assert_error(response, 400)["errors"] == {
        "name": ["Not a valid string."],
        "role": ['"owner" is not a valid choice.'],
    }


@pytest.mark.parametrize("page_size", ["ten", "0", "-1", "1.5"])
@pytest.mark.parametrize("url", ["/api/v1/teams", "/api/v1/conversations"])
def test_page_size_is_a_positive_integer(url, page_size, admin_client):
    response = admin_client.get(url, {"page_size": page_size})

    assert assert_error(response, 400)["errors"] == {"page_size": ["A positive integer (at most 100)."]}


def test_an_empty_page_size_is_the_default_page(org, admin_client):
    ConversationFactory.create_batch(21, organization=org)
    for index in range(21):
        Team.objects.create(organization=org, name=f"Team {index}")

    assert len(admin_client.get("/api/v1/teams", {"page_size": ""}).json()["results"]) == 20
    assert len(admin_client.get("/api/v1/conversations", {"page_size": ""}).json()["results"]) == 20


@pytest.mark.parametrize("value", ["yes", "True", "2"])
def test_a_boolean_filter_takes_true_false_1_or_0(value, admin_client, openapi):
    response = admin_client.get("/api/v1/contacts", {"opted_out": value})

    assert assert_error(response, 400)["errors"] == {
        "opted_out": [f"Select a valid choice. {value} is not one of the available choices."]
    }
    [parameter] = [p for p in openapi["paths"]["/api/v1/contacts/"]["get"]["parameters"] if p["name"] == "opted_out"]
    assert parameter["schema"] == {"type": "boolean"}


def test_a_number_shows_unset_fields_as_the_schema_allows(org, admin_client, openapi):
    cloud = WhatsAppNumberFactory(organization=org, waha_api_key="", waha_webhook_hmac_key="")
    web = waha_number(org, access_token="", app_secret="", verify_token="")

    shown = {row["id"]: row for row in admin_client.get("/api/v1/numbers").json()["results"]}

    assert {key: shown[cloud.pk][key] for key in ("waha_api_key", "waha_base_url", "session_status")} == {
        "waha_api_key": None,
        "waha_base_url": "",
        "session_status": "",
    }
    assert shown[web.pk]["provider"] == Provider.WAHA
    assert (shown[web.pk]["access_token"], shown[web.pk]["app_secret"]) == (None, None)
    number = openapi["components"]["schemas"]["Number"]["properties"]
    assert number["access_token"]["nullable"] is number["waha_api_key"]["nullable"] is True
    assert "format" not in number["waha_base_url"]
    assert openapi["components"]["schemas"]["BlankEnum"] == {"enum": [""]}


def test_an_audit_log_bound_with_an_offset_postgresql_refuses_is_read_in_utc(org, admin_client):
    # ISO 8601 and Python allow offsets up to 24 hours, PostgreSQL up to 15:59: sent as given, that was a 500.
    AuditLog.objects.create(organization=org, action="test.event")

    before = admin_client.get("/api/v1/audit-log", {"date_to": "2000-03-15T04:22:56-16:32"})
    after = admin_client.get("/api/v1/audit-log", {"date_from": "2000-03-15T04:22:56+16:32"})

    assert (before.status_code, before.json()["count"]) == (200, 0)
    assert (after.status_code, after.json()["count"]) == (200, 1)


def test_audit_log_bounds_at_the_ends_of_the_calendar(org, admin_client):
    AuditLog.objects.create(organization=org, action="test.event")

    assert admin_client.get("/api/v1/audit-log", {"date_to": "9999-12-31"}).json()["count"] == 1
    response = admin_client.get("/api/v1/audit-log", {"date_from": "0001-01-01T00:00:00+05:00"})
    assert assert_error(response, 400)["errors"] == {"date_from": ["Out of the range of dates."]}


def test_ids_below_1_are_refused_before_the_database(admin_client, db):
    # On SQLite (the embedded default) -2**63 - 1 overflowed the driver: a 500.
    teams = admin_client.post("/api/v1/teams", {"name": "Sales", "member_ids": [-(2**63) - 1]})
    login = APIClient().post("/api/v1/auth/login", {"email": "a@b.co", "password": "x", "organization_id": -1})
    audit = admin_client.get("/api/v1/audit-log", {"actor": "-9223372036854775809"})

    assert assert_error(teams, 400)["errors"] == {
        "member_ids": {"0": ["Ensure this value is greater than or equal to 1."]}
    }
    assert assert_error(login, 400)["errors"] == {
        "organization_id": ["Ensure this value is greater than or equal to 1."]
    }
    assert assert_error(audit, 400)["errors"] == {"actor": ["Ensure this value is greater than or equal to 1."]}
    assert not Team.objects.exists()
