"""Meta's `flows` webhook field, signed and posted to the real webhook endpoint (payload files in tests/fixtures/meta,
and the fake Graph API's own): FLOW_STATUS_CHANGE moves the flow's status (audited, pushed live, the admins told
when Meta blocks or throttles it), each health alert is kept as the flow's last alert; only the flow of that account
in the organization the webhook was posted to changes, and a value of another shape changes nothing."""

import copy

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from messaging import realtime
from messaging.models import Notification, WebhookEvent, WhatsAppFlow
from messaging.services.notifications import title_of
from tests.messaging.factories import WhatsAppFlowFactory
from tests.messaging.inbox_support import deliver_meta_webhooks
from tests.messaging.ingest_support import cloud_numbers, meta_payload, post_meta

FLOW_ID = "6627390910605886"  # the payload files' flow


@pytest.fixture
def numbers(org, fake_meta):
    return cloud_numbers(org)


@pytest.fixture
def flow(org, numbers):
    """A published flow of the first number's account, with the payload files' Meta id."""
    return WhatsAppFlowFactory(
        organization=org, number=numbers[0], meta_flow_id=FLOW_ID, name="Sign up", status="PUBLISHED"
    )


@pytest.fixture
def pushed(monkeypatch):
    """Every whatsapp_flow.updated pushed: (organization id, flows, number ids)."""
    events: list[tuple[int, list[dict], object]] = []
    real = realtime.publish

    def publish(organization_id, batch):
        events.extend(
            (organization_id, data["flows"], number_ids)
            for kind, data, number_ids in batch
            if kind == "whatsapp_flow.updated"
        )
        real(organization_id, batch)

    monkeypatch.setattr(realtime, "publish", publish)
    return events


def status_change(new_status: str, old_status: str = "PUBLISHED", *, flow_id: str = FLOW_ID) -> dict:
    payload = copy.deepcopy(meta_payload("flows_status_change"))
    value = payload["entry"][0]["changes"][0]["value"]
    value.update(old_status=old_status, new_status=new_status, flow_id=flow_id)
    value["message"] = f"Flow Sign up changed status from {old_status} to {new_status}"
    return payload


def posted(client, org_id: int, payload: dict) -> None:
    response = post_meta(client, org_id, payload)
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).count() == 0


def test_meta_blocking_a_flow_blocks_it_here_audited_pushed_and_told_to_the_admins(
    client, org, flow, admin_membership, agent_membership, marketing_membership, pushed
):
    posted(client, org.pk, meta_payload("flows_status_change"))

    flow.refresh_from_db()
    assert flow.status == "BLOCKED"
    audit = AuditLog.objects.get(action="whatsapp_flow.status")
    assert (audit.actor_id, audit.target_id, audit.data) == (
        None,
        str(flow.pk),
        {"name": "Sign up", "meta_flow_id": FLOW_ID, "from": "PUBLISHED", "to": "BLOCKED"},
    )
    assert pushed == [(org.pk, [{"id": flow.pk, "status": "BLOCKED", "last_alert_at": None}], [flow.number_id])]
    [notification] = Notification.objects.all()
    assert (notification.recipient_id, notification.kind, title_of(notification), notification.link) == (
        admin_membership.user_id,
        "flow_blocked",
        "Meta blocked the WhatsApp Flow Sign up: it can be neither sent nor opened",
        f"/templates/whatsapp-flows/{flow.pk}/",
    )


def test_a_throttled_flow_is_told_to_the_admins_and_its_recovery_is_not(client, org, flow, admin_membership):
    posted(client, org.pk, status_change("THROTTLED"))
    posted(client, org.pk, status_change("PUBLISHED", "THROTTLED"))

    flow.refresh_from_db()
    assert flow.status == "PUBLISHED"
    assert list(
        AuditLog.objects.filter(action="whatsapp_flow.status").order_by("id").values_list("data", flat=True)
    ) == [
        {"name": "Sign up", "meta_flow_id": FLOW_ID, "from": "PUBLISHED", "to": "THROTTLED"},
        {"name": "Sign up", "meta_flow_id": FLOW_ID, "from": "THROTTLED", "to": "PUBLISHED"},
    ]
    assert [title_of(n) for n in Notification.objects.all()] == [
        "Meta throttled the WhatsApp Flow Sign up: at most 10 sends an hour"
    ]


def test_meta_deprecating_a_flow_deprecates_it_and_the_same_status_again_changes_nothing(
    client, org, flow, admin_membership, pushed
):
    posted(client, org.pk, status_change("DEPRECATED"))
    posted(client, org.pk, status_change("DEPRECATED", "DEPRECATED"))

    flow.refresh_from_db()
    assert flow.status == "DEPRECATED"
    assert AuditLog.objects.filter(action="whatsapp_flow.status").count() == 1
    assert [status for _, [item], _ in pushed for status in [item["status"]]] == ["DEPRECATED"]
    assert Notification.objects.count() == 0


EXPECTED_ALERTS = {
    "flows_endpoint_error_rate": {
        "event": "ENDPOINT_ERROR_RATE",
        "message": "The flow endpoint request error rate has reached the 10% threshold in the last 30 minutes. A "
        "higher error rate will make it harder for users to complete the flow, resulting in drop-offs.",
        "alert_state": "ACTIVATED",
        "threshold": 10,
        "error_rate": 14.28,
        "errors": [
            {"error_type": "CAPABILITY_ERROR", "error_rate": 66.66, "error_count": 2},
            {"error_type": "TIMEOUT", "error_rate": 33.33, "error_count": 1},
        ],
    },
    "flows_client_error_rate": {
        "event": "CLIENT_ERROR_RATE",
        "message": "The flow client request error rate has reached the 5% threshold in the last 60 minutes. A "
        "higher error rate will make it harder for users to complete the flow, resulting in drop-offs.",
        "alert_state": "ACTIVATED",
        "threshold": 10,
        "error_rate": 14.28,
        "errors": [
            {"error_type": "INVALID_SCREEN_TRANSITION", "error_rate": 66.66, "error_count": 2},
            {"error_type": "PUBLIC_KEY_MISSING", "error_rate": 33.33, "error_count": 1},
        ],
    },
    "flows_endpoint_latency": {
        "event": "ENDPOINT_LATENCY",
        "message": "Flow endpoint latency has reached the p90 threshold in the last 30 minutes. High latency will "
        "increase the loading time between screens in the flow, impacting user experience.",
        "alert_state": "ACTIVATED",
        "threshold": 7000,
        "p90_latency": 8000,
        "p50_latency": 500,
        "requests_count": 34,
    },
    "flows_endpoint_availability": {
        "event": "ENDPOINT_AVAILABILITY",
        "message": "The flow endpoint availability has breached the 90% threshold in the last 10 minutes. Users will "
        "be unable to open or use the flow.",
        "alert_state": "ACTIVATED",
        "threshold": 90,
        "availability": 75,
    },
    "flows_version_expiry_warning": {
        "event": "FLOW_VERSION_EXPIRY_WARNING",
        "message": "Your current Flow version will freeze in 21 days. You won't be able to send the Flow after it "
        "expires. Please migrate to the recommended version as soon as possible. "
        "https://developers.facebook.com/docs/whatsapp/flows/changelogs#currently-supported-versions",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_each_health_alert_is_kept_as_the_flow_s_last_alert_and_pushed(
    client, org, flow, admin_membership, pushed, frozen, name
):
    now = timezone.now()

    posted(client, org.pk, meta_payload(name))

    flow.refresh_from_db()
    assert (flow.status, flow.last_alert, flow.last_alert_at) == ("PUBLISHED", EXPECTED_ALERTS[name], now)
    assert pushed == [
        (org.pk, [{"id": flow.pk, "status": "PUBLISHED", "last_alert_at": now.isoformat()}], [flow.number_id])
    ]
    assert Notification.objects.count() == 0  # an alert is on the page; Meta's restriction is what is told


def test_a_recovery_replaces_the_active_alert(client, org, flow):
    posted(client, org.pk, meta_payload("flows_endpoint_availability"))
    recovered = copy.deepcopy(meta_payload("flows_endpoint_availability"))
    recovered["entry"][0]["changes"][0]["value"].update(alert_state="DEACTIVATED", availability=98)

    posted(client, org.pk, recovered)

    flow.refresh_from_db()
    assert (flow.last_alert["alert_state"], flow.last_alert["availability"]) == ("DEACTIVATED", 98)


def test_a_status_change_with_a_version_warning_keeps_the_warning(client, org, flow):
    payload = status_change("PUBLISHED", "DRAFT")
    payload["entry"][0]["changes"][0]["value"]["warning"] = "Your current Flow version will freeze in 21 days."
    flow.status = "DRAFT"
    flow.save()

    posted(client, org.pk, payload)

    flow.refresh_from_db()
    assert (flow.status, flow.last_alert) == (
        "PUBLISHED",
        {
            "event": "FLOW_VERSION_EXPIRY_WARNING",
            "message": "Your current Flow version will freeze in 21 days.",
        },
    )


def test_only_the_flow_of_that_account_in_the_organization_posted_to_changes(
    client, org, other_org, flow, numbers, outsider_membership, admin_membership
):
    # Another organization with the same account and flow id: Meta's webhook to us changes nothing of theirs.
    theirs = WhatsAppFlowFactory(
        organization=other_org, number=cloud_numbers(other_org)[0], meta_flow_id=FLOW_ID, status="PUBLISHED"
    )
    # The entry's id names the account: an alert of that flow id on another account of ours is not our flow's.
    other_account = copy.deepcopy(meta_payload("flows_endpoint_latency"))
    other_account["entry"][0]["id"] = numbers[1].waba_id

    posted(client, org.pk, meta_payload("flows_status_change"))
    posted(client, org.pk, other_account)

    flow.refresh_from_db()
    theirs.refresh_from_db()
    assert (flow.status, flow.last_alert) == ("BLOCKED", {})
    assert (theirs.status, theirs.last_alert, theirs.last_alert_at) == ("PUBLISHED", {}, None)
    assert [n.recipient_id for n in Notification.objects.all()] == [admin_membership.user_id]


def test_their_webhook_changes_nothing_of_ours(client, org, other_org, flow, admin_membership, outsider_membership):
    theirs = WhatsAppFlowFactory(
        organization=other_org, number=cloud_numbers(other_org)[0], meta_flow_id=FLOW_ID, status="PUBLISHED"
    )

    posted(client, other_org.pk, meta_payload("flows_status_change"))

    flow.refresh_from_db()
    theirs.refresh_from_db()
    assert (flow.status, theirs.status) == ("PUBLISHED", "BLOCKED")
    assert [n.recipient_id for n in Notification.objects.all()] == [outsider_membership.user_id]


MALFORMED = [
    "not an object",
    {"event": "FLOW_STATUS_CHANGE", "flow_id": FLOW_ID},  # no new status
    {"event": "FLOW_STATUS_CHANGE", "flow_id": FLOW_ID, "new_status": "ON_FIRE"},
    {"event": "FLOW_STATUS_CHANGE", "flow_id": FLOW_ID, "new_status": ["BLOCKED"]},
    {"event": "FLOW_STATUS_CHANGE", "new_status": "BLOCKED"},  # no flow
    {"event": "FLOW_STATUS_CHANGE", "flow_id": {"id": FLOW_ID}, "new_status": "BLOCKED"},
    {"event": ["ENDPOINT_LATENCY"], "flow_id": FLOW_ID},
    {"event": "FLOW_MOOD_SWING", "flow_id": FLOW_ID, "alert_state": "ACTIVATED"},
    {"flow_id": FLOW_ID, "new_status": "BLOCKED"},
]


@pytest.mark.parametrize("value", MALFORMED, ids=range(len(MALFORMED)))
def test_a_value_of_another_shape_is_ignored(client, org, flow, admin_membership, pushed, value):
    payload = copy.deepcopy(meta_payload("flows_status_change"))
    payload["entry"][0]["changes"][0]["value"] = value

    posted(client, org.pk, payload)

    flow.refresh_from_db()
    assert (flow.status, flow.last_alert, flow.last_alert_at) == ("PUBLISHED", {}, None)
    assert (pushed, Notification.objects.count(), AuditLog.objects.count()) == ([], 0, 0)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_an_alert_s_figures_of_another_type_are_left_out(client, org, flow):
    payload = copy.deepcopy(meta_payload("flows_endpoint_error_rate"))
    payload["entry"][0]["changes"][0]["value"].update(
        alert_state={"on": True}, threshold="10", error_rate=True, errors="CAPABILITY_ERROR", message=["x"]
    )

    posted(client, org.pk, payload)

    flow.refresh_from_db()
    assert flow.last_alert == {"event": "ENDPOINT_ERROR_RATE", "message": ""}


def test_the_fake_graph_api_blocks_and_alerts_in_meta_s_format(client, org, fake_meta, admin_membership):
    number = cloud_numbers(org)[0]
    at_meta = fake_meta.add_flow(waba_id=number.waba_id, name="Booking", status="PUBLISHED")
    flow = WhatsAppFlowFactory(
        organization=org, number=number, meta_flow_id=at_meta["id"], name="Booking", status="PUBLISHED"
    )
    fake_meta.flow_alert(at_meta["id"], "ENDPOINT_LATENCY")
    fake_meta.change_flow_status(at_meta["id"], "BLOCKED")

    deliver_meta_webhooks(client, fake_meta, org, number)

    flow.refresh_from_db()
    assert (flow.status, flow.last_alert["event"], flow.last_alert["p90_latency"]) == (
        "BLOCKED",
        "ENDPOINT_LATENCY",
        8000,
    )
    assert fake_meta.flows[at_meta["id"]]["status"] == "BLOCKED"
    assert [title_of(n) for n in Notification.objects.all()] == [
        "Meta blocked the WhatsApp Flow Booking: it can be neither sent nor opened"
    ]
    assert WhatsAppFlow.objects.get().status == "BLOCKED"
