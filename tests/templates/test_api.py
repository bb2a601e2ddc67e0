"""GET templates/ (filters, search, placeholders and preview, the seed's fields), GET templates/{id}, DELETE
templates/{id} (Meta's delete by name and id, the template marked), and who may do what."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog
from messaging.models import Provider
from messaging.providers import SANDBOX_WABA_ID
from templates.models import MessageTemplate
from tests.assertions import assert_error
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_WABA_ID
from tests.messaging.factories import WhatsAppNumberFactory
from tests.templates.factories import MessageTemplateFactory
from tests.templates.support import TEMPLATES, committed


def _names(client, **query) -> list[str]:
    response = client.get(TEMPLATES, query)
    assert response.status_code == 200, response.json()
    return [item["name"] for item in response.json()["results"]]


@pytest.fixture
def library(org):
    """Templates of two accounts, of every status worth filtering, and one deleted."""
    return {
        "welcome": MessageTemplateFactory(
            organization=org,
            name="welcome",
            category="MARKETING",
            components=[{"type": "BODY", "text": "Welcome to Acme, {{1}}!", "example": {"body_text": [["Maya"]]}}],
        ),
        "welcome_ar": MessageTemplateFactory(organization=org, name="welcome", language="ar", category="MARKETING"),
        "pending": MessageTemplateFactory(organization=org, name="order_pending", status="PENDING"),
        "rejected": MessageTemplateFactory(organization=org, name="order_rejected", status="REJECTED"),
        "sandbox": MessageTemplateFactory(organization=org, name="sandbox_hello", waba_id=SANDBOX_WABA_ID),
        "deleted": MessageTemplateFactory(
            organization=org, name="gone", status="DELETED", deleted_at="2026-01-01T00:00:00Z"
        ),
    }


def test_the_list_shows_every_member_the_live_templates_with_placeholders_and_preview(agent_client, library):
    response = agent_client.get(TEMPLATES)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    welcome = next(item for item in body["results"] if item["id"] == library["welcome"].pk)
    assert {key: welcome[key] for key in ("id", "name", "status", "language", "category", "components")} == {
        "id": library["welcome"].pk,
        "name": "welcome",
        "status": "APPROVED",
        "language": "en_US",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Welcome to Acme, {{1}}!", "example": {"body_text": [["Maya"]]}}],
    }
    assert welcome["placeholders"] == [
        {
            "key": "1",
            "component": "body",
            "kind": "text",
            "label": "{{1}}",
            "example": "Maya",
            "required": True,
            "name": "1",
        }
    ]
    assert welcome["preview"] == "Welcome to Acme, {{1}}!"
    assert (welcome["meta_id"], welcome["waba_id"], welcome["quality_score"]) == (
        library["welcome"].meta_id,
        DEFAULT_WABA_ID,
        "UNKNOWN",
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"status": "PENDING"}, ["order_pending"]),
        ({"status": "DELETED"}, ["gone"]),
        ({"category": "MARKETING"}, ["welcome", "welcome"]),
        ({"language": "ar"}, ["welcome"]),
        ({"search": "ACME"}, ["welcome"]),
        ({"search": "rejected"}, ["order_rejected"]),
        ({"search": "nothing like it"}, []),
    ],
)
def test_the_list_filters(agent_client, library, query, names):
    assert _names(agent_client, **query) == names


def test_a_number_lists_its_account_s_templates(agent_client, org, library):
    cloud = WhatsAppNumberFactory(organization=org, waba_id=DEFAULT_WABA_ID)
    sandbox = WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX, waba_id="")
    waha = WhatsAppNumberFactory(organization=org, provider=Provider.WAHA, waba_id="", waha_session="web")

    assert _names(agent_client, number=sandbox.pk) == ["sandbox_hello"]
    assert _names(agent_client, number=cloud.pk) == ["order_pending", "order_rejected", "welcome", "welcome"]
    assert _names(agent_client, number=waha.pk) == []


@pytest.mark.parametrize("which", ["other-organization", "hidden"])
def test_a_number_the_caller_does_not_see_is_a_400(agent_client, org, other_org, library, which):
    if which == "hidden":
        number = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)
    else:
        number = WhatsAppNumberFactory(organization=other_org)

    body = assert_error(agent_client.get(TEMPLATES, {"number": number.pk}), 400)

    assert list(body["errors"]) == ["number"]


@pytest.mark.parametrize("query", [{"status": "GREAT"}, {"category": "SPAM"}, {"number": "x"}, {"colour": "red"}])
def test_bad_filters_are_400s(agent_client, library, query):
    assert_error(agent_client.get(TEMPLATES, query), 400)


def test_the_list_costs_the_same_queries_for_many_templates(agent_client, org, library):
    with CaptureQueriesContext(connection) as few:
        agent_client.get(TEMPLATES)
    MessageTemplateFactory.create_batch(15, organization=org)
    with CaptureQueriesContext(connection) as many:
        agent_client.get(TEMPLATES)

    assert len(many) == len(few)


def test_a_deleted_template_still_reads_by_its_id(agent_client, library):
    response = agent_client.get(f"{TEMPLATES}{library['deleted'].pk}")

    assert (response.status_code, response.json()["status"]) == (200, "DELETED")


def test_an_api_key_reads_the_templates(org, library):
    from tests.test_isolation import _api_key_client

    assert _api_key_client(org).get(TEMPLATES).json()["count"] == 5


# --- delete -------------------------------------------------------------------------------------------------------


def test_delete_asks_meta_to_delete_that_language_and_marks_it(
    marketing_client, marketing_membership, org, cloud, fake_meta
):
    english = fake_meta.add_template("welcome", language="en_US")
    arabic = fake_meta.add_template("welcome", language="ar")
    template = MessageTemplateFactory(organization=org, name="welcome", meta_id=english["id"])

    response = committed(marketing_client.delete, f"{TEMPLATES}{template.pk}")

    assert response.status_code == 204
    [request] = fake_meta.find_requests(method="DELETE")
    assert (request.path, request.query) == (
        f"/v23.0/{DEFAULT_WABA_ID}/message_templates",
        {"name": "welcome", "hsm_id": english["id"]},
    )
    assert fake_meta.templates[DEFAULT_WABA_ID] == [arabic]
    template.refresh_from_db()
    assert (template.status, template.deleted_at is not None) == ("DELETED", True)
    assert _names(marketing_client) == []
    audit = AuditLog.objects.get(action="template.delete")
    assert (audit.actor_id, audit.target_id) == (marketing_membership.user_id, str(template.pk))


def test_a_template_meta_no_longer_has_is_marked_deleted_all_the_same(marketing_client, org, cloud, fake_meta):
    template = MessageTemplateFactory(organization=org)

    assert committed(marketing_client.delete, f"{TEMPLATES}{template.pk}").status_code == 204

    assert MessageTemplate.objects.get().status == "DELETED"


def test_meta_refusing_a_delete_keeps_the_template(marketing_client, org, cloud, fake_meta):
    template = MessageTemplateFactory(organization=org)
    fake_meta.fail_next(368, endpoint="templates")

    body = assert_error(committed(marketing_client.delete, f"{TEMPLATES}{template.pk}"), 400)

    assert body["detail"].startswith("Meta refused: Temporarily blocked for policies violations.")
    assert MessageTemplate.objects.get().deleted_at is None


def test_deleting_twice_is_deleting_once(marketing_client, org, cloud, fake_meta):
    template = MessageTemplateFactory(organization=org, status="DELETED", deleted_at="2026-01-01T00:00:00Z")

    assert committed(marketing_client.delete, f"{TEMPLATES}{template.pk}").status_code == 204

    assert fake_meta.requests == []


def test_a_sandbox_template_is_deleted_here(marketing_client, org, fake_meta):
    template = MessageTemplateFactory(organization=org, waba_id=SANDBOX_WABA_ID)

    assert committed(marketing_client.delete, f"{TEMPLATES}{template.pk}").status_code == 204

    assert MessageTemplate.objects.get().status == "DELETED"
    assert fake_meta.requests == []


def test_agents_do_not_delete_templates(agent_client, org, cloud, fake_meta):
    template = MessageTemplateFactory(organization=org)

    assert_error(agent_client.delete(f"{TEMPLATES}{template.pk}"), 403)

    assert MessageTemplate.objects.get().deleted_at is None
    assert fake_meta.requests == []
