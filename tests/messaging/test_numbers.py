"""Numbers API and settings/whatsapp: create, masking, validation, soft delete, primary, assignment, roles, tenancy."""

import json
from datetime import UTC, datetime

import pytest

from accounts.models import AuditLog, Role, Team
from messaging.models import Conversation, Message, WhatsAppNumber
from messaging.services import numbers as services
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.messaging.factories import MessageFactory, WhatsAppNumberFactory
from tests.messaging.inbox_support import api_key_client
from tests.messaging.ingest_support import PHONE_NUMBER_ID, meta_payload, post_meta
from whatsapp_hub.errors import ServiceError

LIST_URL = "/api/v1/numbers"
SETTINGS_URL = "/api/v1/settings/whatsapp"
SECRETS = {
    "access_token": "EAAG-live-token-0123456789-wxyz",
    "app_secret": "meta-app-secret-5678",
    "verify_token": "my-verify-token-9999",
}
CLOUD_BODY = {
    "display_name": "Sales Line",
    "phone_number": "+966 50 123 4567",
    "provider": "cloud",
    "phone_number_id": "106540352242922",
    "waba_id": "102290129340398",
    **SECRETS,
}


def detail_url(number) -> str:
    return f"/api/v1/numbers/{number.pk}"


def assert_no_secret_in(response, secrets=None) -> None:
    body = response.content.decode()
    for secret in SECRETS.values() if secrets is None else secrets:
        assert secret not in body


def live_numbers(org) -> list[str]:
    return list(WhatsAppNumber.objects.for_org(org).live().values_list("display_name", flat=True))


# --- create ----------------------------------------------------------------------------------------


def test_it_creates_a_cloud_number_with_masked_secrets_and_its_webhook_url(
    org, admin_membership, settings, time_machine
):
    time_machine.move_to(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), tick=False)
    settings.PUBLIC_BASE_URL = "https://hub.example.com"

    response = client_for(admin_membership).post(LIST_URL, CLOUD_BODY, format="json")

    assert response.status_code == 201
    number = WhatsAppNumber.objects.get()
    assert response.json() == {
        "id": number.pk,
        "display_name": "Sales Line",
        "phone_number": "+966501234567",
        "provider": "cloud",
        "status": "active",
        "is_primary": True,
        "throughput": 80,
        "messaging_limit_tier": "TIER_250",
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
        "access_token": "...wxyz",
        "app_secret": "...5678",
        "verify_token": "...9999",
        "waha_session": "",
        "waha_base_url": "",
        "waha_api_key": None,
        "waha_webhook_hmac_key": None,
        "session_status": "",
        "webhook_url": f"https://hub.example.com/webhooks/meta/{org.pk}/phone/106540352242922/",
        "assigned_user": None,
        "assigned_team": None,
        "created_at": "2026-03-01T10:00:00Z",
        # Added by automation (messaging/extensions.py): the number's bot and flow.
        "bot_id": None,
        "flow_id": None,
    }
    assert_no_secret_in(response)
    assert (number.organization, number.access_token, number.app_secret, number.verify_token) == (
        org,
        *SECRETS.values(),
    )
    log = AuditLog.objects.get(action="number.create")
    assert (log.organization, log.actor, log.target_id) == (org, admin_membership.user, str(number.pk))
    assert log.data == {"display_name": "Sales Line", "provider": "cloud", "phone_number_id": "106540352242922"}


def test_secrets_never_appear_in_list_retrieve_update_or_logs(admin_client, caplog):
    caplog.set_level("DEBUG")
    number_id = admin_client.post(LIST_URL, CLOUD_BODY, format="json").json()["id"]

    responses = [
        admin_client.get(LIST_URL),
        admin_client.get(f"{LIST_URL}/{number_id}"),
        admin_client.patch(f"{LIST_URL}/{number_id}", {"access_token": "EAAG-rotated-token-4321"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in responses:
        assert_no_secret_in(response, [*SECRETS.values(), "EAAG-rotated-token-4321"])
    assert responses[2].json()["access_token"] == "...4321"
    assert json.dumps(list(AuditLog.objects.values_list("data", flat=True))).count("token-") == 0
    assert all(secret not in caplog.text for secret in [*SECRETS.values(), "EAAG-rotated-token-4321"])


def test_the_first_number_is_primary_and_a_later_one_is_not(org, admin_client):
    admin_client.post(LIST_URL, {"display_name": "Demo", "provider": "sandbox"}, format="json")
    admin_client.post(LIST_URL, CLOUD_BODY, format="json")

    assert list(WhatsAppNumber.objects.for_org(org).values_list("display_name", "is_primary")) == [
        ("Demo", True),
        ("Sales Line", False),
    ]


def test_a_sandbox_number_needs_no_credentials(admin_client):
    response = admin_client.post(LIST_URL, {"display_name": "Demo", "provider": "sandbox"}, format="json")

    assert response.status_code == 201
    assert (response.json()["provider"], response.json()["webhook_url"]) == ("sandbox", None)


def test_cloud_numbers_need_every_meta_credential(admin_client):
    response = admin_client.post(
        LIST_URL, {"display_name": "Half", "phone_number_id": "1065", "waba_id": ""}, format="json"
    )

    assert response.status_code == 400
    message = "This field is required for cloud numbers."
    assert response.json() == {
        "detail": f"access_token: {message}",
        "code": "invalid",
        "errors": {name: [message] for name in ["access_token", "app_secret", "verify_token", "waba_id"]},
    }
    assert WhatsAppNumber.objects.count() == 0


def test_fields_of_another_provider_are_refused(admin_client):
    response = admin_client.post(
        LIST_URL, {"display_name": "Demo", "provider": "sandbox", "access_token": "EAAG-x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"access_token": ["Does not apply to sandbox numbers."]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone_number", "12345", "'12345' is not a possible phone number (too short for its country)."),
        ("phone_number", "call me", "'call me' is not a phone number."),
        ("phone_number_id", "10654-0352", "Meta's ids are digits."),
        ("waba_id", "1" * 65, "Meta's ids are digits."),
        ("app_secret", "s" * 1025, "Ensure this field has no more than 1024 characters."),
        ("throughput", 0, "Ensure this value is greater than or equal to 1."),
        ("status", "active", "A new number's status is set by the hub."),
        ("provider", "telegram", '"telegram" is not a valid choice.'),
        ("waha_session", "../sessions", "Up to 64 letters, digits, '-' and '_', starting with a letter or a digit."),
        ("owner", "me", "Unknown field."),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(admin_client, field, value, message):
    response = admin_client.post(LIST_URL, {**CLOUD_BODY, field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}
    assert WhatsAppNumber.objects.count() == 0


@pytest.mark.parametrize(
    ("call", "errors"),
    [
        (
            lambda org, number: services.number_create(
                organization=org, actor=None, display_name="Web", provider="waha", waha_session="../sessions"
            ),
            {"waha_session": ["Up to 64 letters, digits, '-' and '_', starting with a letter or a digit."]},
        ),
        (
            lambda org, number: services.number_create(
                organization=org, actor=None, display_name="x" * 121, provider="sandbox", throughput=1001
            ),
            {
                "display_name": ["Ensure this field has no more than 120 characters."],
                "throughput": ["Ensure this value is less than or equal to 1000."],
            },
        ),
        (
            lambda org, number: services.number_create(
                organization=org, actor=None, display_name="Demo", provider="telegram"
            ),
            {"provider": ['"telegram" is not a valid choice.']},
        ),
        (
            lambda org, number: services.number_update(number=number, actor=None, owner="me"),
            {"owner": ["Unknown field."]},
        ),
        (
            lambda org, number: services.number_update(number=number, actor=None, phone_number_id="1065 0352"),
            {"phone_number_id": ["Meta's ids are digits."]},
        ),
        (
            lambda org, number: services.number_update(number=number, actor=None, display_name="  ", status="gone"),
            {"display_name": ["This field may not be blank."], "status": ['"gone" is not a valid choice.']},
        ),
        (
            lambda org, number: services.number_update(number=number, actor=None, provider="sandbox"),
            {"provider": ["The provider of a number cannot change: connect a new number instead."]},
        ),
        (
            lambda org, number: services.whatsapp_settings_save(
                organization=org,
                actor=None,
                whatsapp_token="EAAB",
                phone_number_id=PHONE_NUMBER_ID,
                waba_id="waba-1",
                verify_token="v" * 1025,
            ),
            {
                "waba_id": ["Meta's ids are digits."],
                "verify_token": ["Ensure this field has no more than 1024 characters."],
            },
        ),
    ],
    ids=["waha-session", "lengths", "choice", "unknown", "meta-id", "blank-and-choice", "provider", "settings"],
)
def test_the_service_checks_the_fields_format_whoever_calls_it(org, call, errors):
    number = WhatsAppNumberFactory(organization=org, provider="cloud", phone_number_id="1065", display_name="Main")
    before = list(WhatsAppNumber.objects.values())

    with pytest.raises(ServiceError) as refused:
        call(org, number)

    assert (refused.value.status_code, refused.value.errors) == (400, errors)
    assert list(WhatsAppNumber.objects.values()) == before
    assert AuditLog.objects.count() == 0


def test_phone_number_id_is_unique_among_the_organizations_live_numbers(org, admin_client):
    WhatsAppNumberFactory(organization=org, phone_number_id=CLOUD_BODY["phone_number_id"], display_name="Old line")

    response = admin_client.post(LIST_URL, CLOUD_BODY, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "phone_number_id": ["Another number of this organization has this phone_number_id."]
    }
    assert live_numbers(org) == ["Old line"]


def test_another_organizations_phone_number_id_is_never_revealed(org, other_org, admin_client, outsider_client):
    settings_body = {"whatsapp_token": "EAAG-x", "phone_number_id": "5550001", "waba_id": "1", "verify_token": "v"}
    responses = [
        outsider_client.post(SETTINGS_URL, settings_body, format="json"),
        admin_client.post(SETTINGS_URL, settings_body, format="json"),
        outsider_client.post(LIST_URL, CLOUD_BODY, format="json"),
        admin_client.post(LIST_URL, CLOUD_BODY, format="json"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 201, 201]
    assert responses[3].json()["phone_number_id"] == CLOUD_BODY["phone_number_id"]
    assert sorted(WhatsAppNumber.objects.live().values_list("organization_id", "phone_number_id")) == sorted(
        (organization.pk, phone_number_id)
        for organization in (org, other_org)
        for phone_number_id in ("5550001", CLOUD_BODY["phone_number_id"])
    )


def test_webhooks_for_a_phone_number_id_two_organizations_hold_reach_only_the_signed_organization(
    client, org, other_org
):
    ours = WhatsAppNumberFactory(organization=org, phone_number_id=PHONE_NUMBER_ID, app_secret="ours-secret")
    theirs = WhatsAppNumberFactory(organization=other_org, phone_number_id=PHONE_NUMBER_ID, app_secret="their-secret")
    payload = meta_payload("text")

    forged = post_meta(client, org.pk, payload, secret=theirs.app_secret)
    delivered = post_meta(client, other_org.pk, payload, secret=theirs.app_secret)
    by_phone = post_meta(client, org.pk, payload, secret=theirs.app_secret, path=f"phone/{PHONE_NUMBER_ID}/")

    assert [r.status_code for r in (forged, delivered, by_phone)] == [401, 200, 401]
    assert list(Message.objects.values_list("organization_id", "conversation__number_id")) == [
        (other_org.pk, theirs.pk)
    ]
    assert not Conversation.objects.for_org(org).exists()
    assert ours.conversations.count() == 0


def test_a_deleted_numbers_phone_number_id_can_be_connected_again(org, admin_client):
    first = admin_client.post(LIST_URL, CLOUD_BODY, format="json").json()
    admin_client.delete(f"{LIST_URL}/{first['id']}")

    response = admin_client.post(LIST_URL, CLOUD_BODY, format="json")

    assert response.status_code == 201
    assert WhatsAppNumber.objects.for_org(org).filter(phone_number_id=CLOUD_BODY["phone_number_id"]).count() == 2


# --- list and read -------------------------------------------------------------------------------------


def test_list_filters_by_provider_and_status(org, agent_client):
    cloud = WhatsAppNumberFactory(organization=org, display_name="Cloud")
    WhatsAppNumberFactory(organization=org, display_name="Web", provider="waha", phone_number_id="")
    WhatsAppNumberFactory(organization=org, display_name="Off", status="disconnected")

    by_provider = agent_client.get(LIST_URL, {"provider": "cloud"}).json()
    by_status = agent_client.get(LIST_URL, {"status": "disconnected"}).json()

    assert [row["display_name"] for row in by_provider["results"]] == ["Cloud", "Off"]
    assert [row["display_name"] for row in by_status["results"]] == ["Off"]
    assert by_provider["count"] == 2
    assert agent_client.get(detail_url(cloud)).json()["id"] == cloud.pk


def test_an_unknown_filter_value_is_a_400(agent_client):
    response = agent_client.get(LIST_URL, {"provider": "telegram"})

    assert response.status_code == 400


def test_waha_and_sandbox_numbers_show_their_webhook_url(org, settings, agent_client):
    settings.PUBLIC_BASE_URL = "https://hub.example.com/"
    waha = WhatsAppNumberFactory(organization=org, provider="waha", phone_number_id="", waha_session="s1")
    sandbox = WhatsAppNumberFactory(organization=org, provider="sandbox", phone_number_id="")

    assert (
        agent_client.get(detail_url(waha)).json()["webhook_url"] == f"https://hub.example.com/webhooks/waha/{org.pk}/"
    )
    assert agent_client.get(detail_url(sandbox)).json()["webhook_url"] is None


# --- update ------------------------------------------------------------------------------------------


def test_patch_changes_the_given_fields_and_keeps_omitted_secrets(org, admin_client):
    number = WhatsAppNumber.objects.get(pk=admin_client.post(LIST_URL, CLOUD_BODY, format="json").json()["id"])

    response = admin_client.patch(
        detail_url(number), {"display_name": " Support ", "throughput": 250, "app_secret": "rotated-secret-abcd"}
    )

    assert response.status_code == 200
    number.refresh_from_db()
    assert (number.display_name, number.throughput, number.app_secret) == ("Support", 250, "rotated-secret-abcd")
    assert (number.access_token, number.verify_token) == (SECRETS["access_token"], SECRETS["verify_token"])
    log = AuditLog.objects.get(action="number.update")
    assert log.data == {"changed": ["app_secret", "display_name", "throughput"]}


def test_a_masked_secret_sent_back_leaves_the_secret_unchanged(org, admin_client):
    shown = admin_client.post(LIST_URL, CLOUD_BODY, format="json").json()

    response = admin_client.patch(f"{LIST_URL}/{shown['id']}", {"access_token": shown["access_token"]})

    assert response.status_code == 200
    assert WhatsAppNumber.objects.get().access_token == SECRETS["access_token"]
    assert not AuditLog.objects.filter(action="number.update").exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"access_token": ""}, {"access_token": ["This field is required for cloud numbers."]}),
        ({"provider": "waha"}, {"provider": ["The provider of a number cannot change: connect a new number instead."]}),
        ({"display_name": ""}, {"display_name": ["This field may not be blank."]}),
        ({"waha_session": "s1"}, {"waha_session": ["Does not apply to cloud numbers."]}),
    ],
)
def test_patch_refuses_what_would_break_the_number(org, admin_client, body, errors):
    number = WhatsAppNumberFactory(organization=org)
    before = WhatsAppNumber.objects.filter(pk=number.pk).values().get()

    response = admin_client.patch(detail_url(number), body)

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert WhatsAppNumber.objects.filter(pk=number.pk).values().get() == before


# --- primary -------------------------------------------------------------------------------------------


def test_making_a_number_primary_unsets_the_previous_primary(org, admin_client):
    first = WhatsAppNumberFactory(organization=org, display_name="First", is_primary=True)
    second = WhatsAppNumberFactory(organization=org, display_name="Second")

    response = admin_client.patch(detail_url(second), {"is_primary": True})

    assert response.json()["is_primary"] is True
    assert dict(WhatsAppNumber.objects.for_org(org).values_list("display_name", "is_primary")) == {
        "First": False,
        "Second": True,
    }
    created = admin_client.post(LIST_URL, {**CLOUD_BODY, "is_primary": True}, format="json").json()
    assert list(WhatsAppNumber.objects.for_org(org).filter(is_primary=True).values_list("pk", flat=True)) == [
        created["id"]
    ]
    assert first.pk != created["id"]


def test_the_primary_number_cannot_be_unset_directly(org, admin_client):
    primary = WhatsAppNumberFactory(organization=org, is_primary=True)

    response = admin_client.patch(detail_url(primary), {"is_primary": False})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "is_primary": ["The primary number stays primary until another number is made primary."]
    }
    primary.refresh_from_db()
    assert primary.is_primary is True


# --- delete ------------------------------------------------------------------------------------------


def test_delete_is_soft_and_keeps_the_numbers_history(org, admin_membership, admin_client, agent_client):
    message = MessageFactory(organization=org)
    number = message.conversation.number

    response = admin_client.delete(detail_url(number))

    assert response.status_code == 204
    number.refresh_from_db()
    assert number.deleted_at is not None
    assert agent_client.get(LIST_URL).json()["count"] == 0
    assert agent_client.get(detail_url(number)).status_code == 404
    assert Conversation.objects.filter(number=number).count() == 1
    assert Message.objects.filter(pk=message.pk).exists()
    log = AuditLog.objects.get(action="number.delete")
    assert (log.actor, log.target_id) == (admin_membership.user, str(number.pk))
    assert admin_client.delete(detail_url(number)).status_code == 404


def test_deleting_the_primary_makes_the_oldest_remaining_number_primary(org, admin_client):
    primary = WhatsAppNumberFactory(organization=org, display_name="Primary", is_primary=True)
    WhatsAppNumberFactory(organization=org, display_name="Older", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    WhatsAppNumberFactory(organization=org, display_name="Newer", created_at=datetime(2026, 2, 1, tzinfo=UTC))

    admin_client.delete(detail_url(primary))

    assert list(WhatsAppNumber.objects.for_org(org).live().filter(is_primary=True).values_list("display_name")) == [
        ("Older",)
    ]


# --- assignment ----------------------------------------------------------------------------------------


def test_it_assigns_a_number_to_a_member_and_a_team(org, admin_membership, agent_membership, admin_client):
    number = WhatsAppNumberFactory(organization=org)
    team = Team.objects.create(organization=org, name="Support")

    response = admin_client.post(
        f"{detail_url(number)}/assign", {"user_id": agent_membership.user_id, "team_id": team.pk}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["assigned_user"], response.json()["assigned_team"]) == (agent_membership.user_id, team.pk)
    log = AuditLog.objects.get(action="number.assign")
    assert (log.actor, log.data) == (admin_membership.user, {"user_id": agent_membership.user_id, "team_id": team.pk})
    cleared = admin_client.post(f"{detail_url(number)}/assign", {}, format="json").json()
    assert (cleared["assigned_user"], cleared["assigned_team"]) == (None, None)


def test_it_refuses_to_assign_people_or_teams_of_another_organization(
    org, other_org, outsider_membership, admin_client
):
    number = WhatsAppNumberFactory(organization=org)
    foreign_team = Team.objects.create(organization=other_org, name="Theirs")
    inactive = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    responses = [
        admin_client.post(f"{detail_url(number)}/assign", {"user_id": outsider_membership.user_id}, format="json"),
        admin_client.post(f"{detail_url(number)}/assign", {"user_id": inactive.user_id}, format="json"),
        admin_client.post(f"{detail_url(number)}/assign", {"team_id": foreign_team.pk}, format="json"),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400]
    assert [r.json()["errors"] for r in responses] == [
        {"user_id": ["No active member of this organization has this id."]},
        {"user_id": ["No active member of this organization has this id."]},
        {"team_id": ["No team of this organization has this id."]},
    ]
    number.refresh_from_db()
    assert (number.assigned_user, number.assigned_team) == (None, None)
    assert not AuditLog.objects.filter(action="number.assign").exists()


# --- roles and tenancy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
def test_members_may_read_numbers_but_only_admins_change_them(org, role):
    client = client_for(MembershipFactory(organization=org, role=role))
    number = WhatsAppNumberFactory(organization=org)
    before = WhatsAppNumber.objects.filter(pk=number.pk).values().get()

    reads = [client.get(LIST_URL), client.get(detail_url(number))]
    writes = [
        client.post(LIST_URL, CLOUD_BODY, format="json"),
        client.patch(detail_url(number), {"display_name": "Mine"}),
        client.delete(detail_url(number)),
        client.post(f"{detail_url(number)}/assign", {}, format="json"),
        client.post(SETTINGS_URL, {}, format="json"),
    ]

    assert [r.status_code for r in reads] == [200, 200]
    assert [r.status_code for r in writes] == [403, 403, 403, 403, 403]
    assert WhatsAppNumber.objects.count() == 1
    assert WhatsAppNumber.objects.filter(pk=number.pk).values().get() == before
    assert not AuditLog.objects.exists()


ADMIN_ONLY = {"access_token", "app_secret", "verify_token", "waha_base_url", "waha_api_key", "waha_webhook_hmac_key"}


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
def test_agents_and_marketers_see_no_masked_secrets_or_waha_server(org, role, settings):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    client = client_for(MembershipFactory(organization=org, role=role))
    WhatsAppNumberFactory(organization=org, access_token="EAAG-token-wxyz")
    waha = WhatsAppNumberFactory(
        organization=org,
        provider="waha",
        phone_number_id="",
        waha_session="s1",
        waha_base_url="https://waha.internal.example:3000",
        waha_api_key="waha-key-1234",
    )

    listed = client.get(LIST_URL).json()["results"]
    read = client.get(detail_url(waha)).json()

    assert [sorted(ADMIN_ONLY & row.keys()) for row in listed] == [[], []]
    assert sorted(ADMIN_ONLY & read.keys()) == []
    assert (read["id"], read["waha_session"], read["webhook_url"]) == (
        waha.pk,
        "s1",
        f"https://hub.example.com/webhooks/waha/{org.pk}/",
    )
    for body in (client.get(LIST_URL).content, client.get(detail_url(waha)).content):
        assert b"waha.internal.example" not in body
        assert b"...1234" not in body
        assert b"...wxyz" not in body


@pytest.mark.parametrize("via", ["jwt", "api_key"])
def test_admins_see_the_masked_secrets_and_waha_server(org, admin_client, via):
    client = admin_client if via == "jwt" else api_key_client(org, role=Role.ADMIN)
    waha = WhatsAppNumberFactory(
        organization=org,
        provider="waha",
        phone_number_id="",
        access_token="",
        app_secret="",
        verify_token="",
        waha_session="s1",
        waha_base_url="https://waha.internal.example:3000",
        waha_api_key="waha-key-1234",
        waha_webhook_hmac_key="hmac-key-5678",
    )

    read = client.get(detail_url(waha)).json()
    [listed] = client.get(LIST_URL).json()["results"]

    assert {name: read[name] for name in ADMIN_ONLY} == {
        "access_token": None,
        "app_secret": None,
        "verify_token": None,
        "waha_base_url": "https://waha.internal.example:3000",
        "waha_api_key": "...1234",
        "waha_webhook_hmac_key": "...5678",
    }
    assert listed == read


def test_the_schema_documents_the_admin_only_fields_as_optional(anon_client, db):
    components = anon_client.get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"]

    number, settings_shape = components["Number"], components["WhatsAppSettings"]

    assert number["properties"].keys() >= ADMIN_ONLY
    assert ADMIN_ONLY.isdisjoint(number["required"])
    assert {"id", "display_name", "provider", "waha_session", "webhook_url"} <= set(number["required"])
    assert number["properties"]["waha_api_key"] == {
        "type": "string",
        "nullable": True,
        "readOnly": True,
        "description": "Admins only: absent for others.",
    }
    assert settings_shape["required"] == ["configured", "phone_number_id", "waba_id"]
    assert "masked_token" in settings_shape["properties"]


def test_another_organizations_number_is_a_404(org, other_org, admin_client):
    foreign = WhatsAppNumberFactory(organization=other_org)
    before = WhatsAppNumber.objects.filter(pk=foreign.pk).values().get()

    responses = [
        admin_client.get(detail_url(foreign)),
        admin_client.patch(detail_url(foreign), {"display_name": "Mine"}),
        admin_client.delete(detail_url(foreign)),
        admin_client.post(f"{detail_url(foreign)}/assign", {}, format="json"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert admin_client.get(LIST_URL).json()["count"] == 0
    assert WhatsAppNumber.objects.filter(pk=foreign.pk).values().get() == before


def test_anonymous_callers_get_a_401(anon_client):
    assert anon_client.get(LIST_URL).status_code == 401
    assert anon_client.get(SETTINGS_URL).status_code == 401


# --- settings/whatsapp ---------------------------------------------------------------------------------

SETTINGS_BODY = {
    "whatsapp_token": "EAABs-settings-token-abcd",
    "phone_number_id": "1234567890",
    "waba_id": "9876543210",
    "verify_token": "my_verify_secret",
}


def test_settings_are_unconfigured_without_a_primary_cloud_number(org, agent_client):
    WhatsAppNumberFactory(organization=org, provider="sandbox", phone_number_id="", is_primary=True)

    response = agent_client.get(SETTINGS_URL)

    assert response.json() == {"configured": False, "phone_number_id": None, "waba_id": None}


def test_saving_settings_creates_the_primary_cloud_number(org, admin_client, agent_client):
    sandbox = WhatsAppNumberFactory(organization=org, provider="sandbox", phone_number_id="", is_primary=True)

    response = admin_client.post(SETTINGS_URL, SETTINGS_BODY, format="json")

    assert (response.status_code, response.json()) == (
        200,
        {"status": "success", "message": "WhatsApp credentials saved"},
    )
    number = WhatsAppNumber.objects.for_org(org).get(provider="cloud")
    assert (number.is_primary, number.display_name, number.access_token, number.verify_token, number.app_secret) == (
        True,
        "WhatsApp",
        "EAABs-settings-token-abcd",
        "my_verify_secret",
        "",
    )
    sandbox.refresh_from_db()
    assert sandbox.is_primary is False
    shown = admin_client.get(SETTINGS_URL)
    assert shown.json() == {
        "configured": True,
        "phone_number_id": "1234567890",
        "waba_id": "9876543210",
        "masked_token": "...abcd",
    }
    assert_no_secret_in(shown, [SETTINGS_BODY["whatsapp_token"], SETTINGS_BODY["verify_token"]])
    assert agent_client.get(SETTINGS_URL).json() == {
        "configured": True,
        "phone_number_id": "1234567890",
        "waba_id": "9876543210",
    }


def test_saving_settings_again_updates_the_same_number_and_keeps_an_omitted_app_secret(org, admin_client):
    admin_client.post(SETTINGS_URL, {**SETTINGS_BODY, "app_secret": "first-app-secret"}, format="json")

    response = admin_client.post(
        SETTINGS_URL, {**SETTINGS_BODY, "whatsapp_token": "EAABs-new-token-efgh", "waba_id": "555"}, format="json"
    )

    assert response.status_code == 200
    number = WhatsAppNumber.objects.get()
    assert (number.access_token, number.waba_id, number.app_secret) == (
        "EAABs-new-token-efgh",
        "555",
        "first-app-secret",
    )
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == ["number.create", "number.update"]


def test_settings_refuse_an_incomplete_body(admin_client):
    response = admin_client.post(SETTINGS_URL, {"whatsapp_token": "EAAB"}, format="json")

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["phone_number_id", "verify_token", "waba_id"]
    assert WhatsAppNumber.objects.count() == 0


def test_settings_show_only_the_callers_organization(org, other_org, admin_client):
    WhatsAppNumberFactory(organization=other_org, is_primary=True)

    assert admin_client.get(SETTINGS_URL).json()["configured"] is False
