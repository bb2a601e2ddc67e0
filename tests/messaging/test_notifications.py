"""The notification centre (messaging.services.notifications): who is told of what, on which channel, when; the
bell's API; quiet hours; the e-mail digest."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from accounts.models import Role
from campaigns.services import campaign_completed_notify
from messaging import realtime
from messaging.models import Notification, NotificationPreference
from messaging.services import notifications
from messaging.services.conversations import conversation_update
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.inbox_support import committed, inbox_pushes
from tests.messaging.ingest_support import post_meta, text_message


def mention(org, recipients, *, actor=None, conversation=None):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return notifications.notify(
            organization=org,
            recipient_ids=[member.user_id for member in recipients],
            kind="mention",
            title=notifications.TITLES["mention"],
            params={"actor": "Ann", "contact": "Bob"},
            body="Look at this",
            link="/inbox/1/",
            actor_id=actor.user_id if actor else None,
            conversation_id=conversation.pk if conversation else None,
        )


def prefer(membership, **fields):
    return notifications.notification_preferences_update(
        organization=membership.organization, user=membership.user, **fields
    )


# --- events -------------------------------------------------------------------------------------------------------


def test_an_assignment_notifies_the_assignee_not_the_admin_who_made_it(
    org, admin_client, admin_membership, agent_membership, conversation
):
    response = committed(
        admin_client.patch,
        f"/api/v1/conversations/{conversation.pk}",
        {"assigned_to": agent_membership.user_id},
        format="json",
    )
    assert response.status_code == 200
    [notification] = Notification.objects.all()
    assert (notification.recipient_id, notification.kind, notification.link) == (
        agent_membership.user_id,
        "assigned",
        f"/inbox/{conversation.pk}/",
    )
    assert notifications.title_of(notification) == (
        f"{admin_membership.user.name} assigned you the conversation with {conversation.contact.display_name}"
    )


def test_taking_a_conversation_oneself_notifies_nobody(agent_client, agent_membership, conversation):
    committed(
        agent_client.patch,
        f"/api/v1/conversations/{conversation.pk}",
        {"assigned_to": agent_membership.user_id},
        format="json",
    )
    assert Notification.objects.count() == 0


def test_inbound_messages_notify_the_assignee_once_per_conversation_while_unread(
    client, org, numbers, agent_membership, admin_membership
):
    post_meta(client, org.pk, text_message("wamid.1", "Hello"))
    conversation = org.conversation_set.get()
    conversation_update(
        conversation=conversation, actor=admin_membership.user, role=Role.ADMIN, assigned_to_id=agent_membership.user_id
    )
    Notification.objects.all().delete()

    post_meta(client, org.pk, text_message("wamid.2", "Are you there?", timestamp=1750000010))
    post_meta(client, org.pk, text_message("wamid.3", "Hello??", timestamp=1750000020))

    [notification] = Notification.objects.all()
    assert (notification.recipient_id, notification.kind, notification.body, notification.data["count"]) == (
        agent_membership.user_id,
        "message",
        "Hello??",
        2,
    )
    notifications.notification_mark_read(notification=notification)
    post_meta(client, org.pk, text_message("wamid.4", "Bye", timestamp=1750000030))
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # a new one once the first was read


def test_unassigned_conversations_notify_nobody_of_messages(client, org, numbers, admin_membership):
    post_meta(client, org.pk, text_message("wamid.1", "Hello"))
    assert Notification.objects.count() == 0


def test_a_finished_campaign_notifies_its_creator(org, marketing_membership):
    from campaigns.models import Campaign

    campaign = Campaign.objects.create(
        organization=org,
        name="Spring sale",
        number=numbers_of(org),
        template_name="promo",
        language="en_US",
        created_by=marketing_membership.user,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign_completed_notify(organization_id=org.pk, campaign_id=campaign.pk)

    [notification] = Notification.objects.all()
    assert (notification.recipient_id, notification.kind, notification.link) == (
        marketing_membership.user_id,
        "campaign_finished",
        f"/campaigns/{campaign.pk}/",
    )
    assert notifications.title_of(notification) == "The campaign Spring sale finished"


def numbers_of(org):
    from tests.messaging.inbox_support import cloud_number

    return cloud_number(org)


def test_only_active_members_of_the_organization_are_notified(org, other_org, admin_membership):
    gone = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)
    stranger = MembershipFactory(organization=other_org, role=Role.AGENT)
    deactivated = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(is_active=False))

    made = mention(org, [admin_membership, gone, stranger, deactivated])

    assert [n.recipient_id for n in made] == [admin_membership.user_id]


# --- preferences ----------------------------------------------------------------------------------------------------


def test_the_defaults_are_on_for_mentions_and_assignments(admin_client):
    body = admin_client.get("/api/v1/notification-preferences").json()
    assert body["channels"]["mention"] == {"in_app": True, "browser": True, "email": True}
    assert body["channels"]["assigned"] == {"in_app": True, "browser": True, "email": True}
    assert body["channels"]["message"] == {"in_app": True, "browser": True, "email": False}
    assert (body["quiet_start"], body["quiet_end"], body["time_zone"]) == (None, None, "")


def test_preferences_are_saved_merged_and_checked(admin_client, admin_membership):
    body = {
        "channels": {"mention": {"email": False}},
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "time_zone": "Asia/Riyadh",
    }
    response = admin_client.put("/api/v1/notification-preferences", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["channels"]["mention"] == {"in_app": True, "browser": True, "email": False}
    assert (response.json()["quiet_start"], response.json()["quiet_end"]) == ("22:00", "07:00")

    for bad, field in [
        ({"channels": {"nope": {"email": True}}}, "channels"),
        ({"channels": {"mention": {"fax": True}}}, "channels"),
        ({"channels": {"mention": {"email": "yes"}}}, "channels"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start"),
    ]:
        refused = admin_client.put("/api/v1/notification-preferences", bad, format="json")
        assert refused.status_code == 400, bad
        assert field in refused.json()["errors"], refused.json()
    preference = NotificationPreference.objects.get()
    assert (preference.quiet_start, preference.time_zone) == (time(22, 0), "Asia/Riyadh")


def test_in_app_off_keeps_it_out_of_the_bell(org, admin_membership, admin_client):
    prefer(admin_membership, channels={"mention": {"in_app": False, "browser": False, "email": False}})
    assert mention(org, [admin_membership]) == []

    prefer(admin_membership, channels={"mention": {"in_app": False, "email": True}})
    [kept] = mention(org, [admin_membership])  # recorded for its e-mail only
    assert kept.in_app is False
    assert admin_client.get("/api/v1/notifications/").json()["count"] == 0
    assert admin_client.get("/api/v1/notifications/unread-count").json() == {"unread_count": 0}


def test_email_off_schedules_no_email_and_browser_off_asks_for_no_pop_up(org, admin_membership, frozen):
    prefer(admin_membership, channels={"mention": {"email": False, "browser": False}})
    receive = inbox_pushes(org.pk, group=realtime.member_group(org.pk, admin_membership.user_id))

    [notification] = mention(org, [admin_membership])

    assert notification.email_due_at is None
    [push] = receive(1)
    assert push["frame"]["type"] == "notification.created"
    assert push["frame"]["data"]["browser"] is False
    assert push["frame"]["data"]["unread_count"] == 1
    frozen.shift(timedelta(hours=1))
    assert notifications.notification_emails_send_due() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        ("2026-03-01T18:59", False),  # 21:59 in Riyadh (UTC+3)
        ("2026-03-01T19:00", True),  # 22:00
        ("2026-03-01T21:30", True),  # 00:30, past midnight
        ("2026-03-02T03:59", True),  # 06:59
        ("2026-03-02T04:00", False),  # 07:00
        ("2026-03-01T09:00", False),  # noon
    ],
)
def test_quiet_hours_span_midnight_in_the_persons_time_zone(org, admin_membership, utc, quiet):
    preference = prefer(admin_membership, quiet_start=time(22), quiet_end=time(7), time_zone="Asia/Riyadh")
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert notifications.in_quiet_hours(preference, org, now) is quiet


def test_quiet_hours_follow_the_organizations_time_zone_when_the_person_has_none(org, admin_membership):
    org.settings = {"timezone": "Asia/Riyadh"}
    org.save()
    preference = prefer(admin_membership, quiet_start=time(22), quiet_end=time(7))
    assert notifications.in_quiet_hours(preference, org, datetime(2026, 3, 1, 19, 30, tzinfo=UTC)) is True
    assert notifications.in_quiet_hours(preference, org, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) is False


def test_during_quiet_hours_the_bell_records_but_no_pop_up_and_no_email(org, admin_membership, time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 20, 0, tzinfo=UTC), tick=False)  # 23:00 in Riyadh
    prefer(admin_membership, quiet_start=time(22), quiet_end=time(7), time_zone="Asia/Riyadh")
    receive = inbox_pushes(org.pk, group=realtime.member_group(org.pk, admin_membership.user_id))

    [notification] = mention(org, [admin_membership])

    assert notification.in_app is True
    assert receive(1)[0]["frame"]["data"]["browser"] is False
    time_machine.move_to(datetime(2026, 3, 1, 20, 30, tzinfo=UTC), tick=False)  # due, still quiet
    assert notifications.notification_emails_send_due() == 0
    time_machine.move_to(datetime(2026, 3, 2, 5, 0, tzinfo=UTC), tick=False)  # 08:00: dropped, never sent late
    assert notifications.notification_emails_send_due() == 0
    assert mail.outbox == []


# --- e-mail ----------------------------------------------------------------------------------------------------------


def test_an_unread_notification_is_emailed_once_after_the_delay_several_in_one_email(
    org, admin_membership, settings, frozen, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAIL_DELAY_MINUTES = 10
    mention(org, [admin_membership])
    frozen.shift(timedelta(minutes=2))
    mention(org, [admin_membership])
    assert notifications.notification_emails_send_due() == 0  # not yet due

    frozen.shift(timedelta(minutes=9))
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail pipeline sends after the commit
        assert notifications.notification_emails_send_due() == 1
    [message] = mail.outbox
    assert message.to == [admin_membership.user.email]
    assert message.subject == "2 unread notifications in Acme"  # the first is due: the second goes with it
    assert "Ann mentioned you in a note on Bob" in message.body
    assert "http://testserver/inbox/1/" in message.body or "/inbox/1/" in message.body
    assert notifications.notification_emails_send_due() == 0  # claimed: never twice
    frozen.shift(timedelta(hours=1))
    assert notifications.notification_emails_send_due() == 0
    assert len(mail.outbox) == 1


def test_a_notification_read_before_the_delay_is_never_emailed(org, admin_membership, admin_client, frozen):
    [notification] = mention(org, [admin_membership])
    assert admin_client.post(f"/api/v1/notifications/{notification.pk}/read").status_code == 200
    frozen.shift(timedelta(hours=1))
    assert notifications.notification_emails_send_due() == 0
    assert mail.outbox == []


def test_the_email_is_in_the_recipients_language(org, frozen, django_capture_on_commit_callbacks):
    arabic = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(language="ar"))
    mention(org, [arabic])
    frozen.shift(timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.notification_emails_send_due() == 1
    [message] = mail.outbox
    assert message.subject == "أشار إليك Ann في ملاحظة على Bob"
    html = message.alternatives[0][0]
    assert 'dir="rtl"' in html


# --- the API ---------------------------------------------------------------------------------------------------------


def test_the_bell_lists_only_ones_own_notifications_and_marks_them_read(
    org, admin_membership, agent_membership, admin_client, agent_client, outsider_client
):
    [mine] = mention(org, [admin_membership])
    [theirs] = mention(org, [agent_membership])

    listed = admin_client.get("/api/v1/notifications/").json()
    assert [item["id"] for item in listed["results"]] == [mine.pk]
    assert listed["results"][0]["title"] == "Ann mentioned you in a note on Bob"
    assert admin_client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert admin_client.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 404
    assert outsider_client.post(f"/api/v1/notifications/{mine.pk}/read").status_code == 404
    assert admin_client.get("/api/v1/notifications/?unread=true&page_size=5").json()["count"] == 1

    assert admin_client.post("/api/v1/notifications/read-all").json() == {"read": 1}
    assert admin_client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    assert agent_client.get("/api/v1/notifications/unread-count").json() == {"unread_count": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_keys_have_no_notifications(org):
    from tests.messaging.inbox_support import api_key_client

    key = api_key_client(org, role=Role.ADMIN)
    assert key.get("/api/v1/notifications/").status_code == 403
    assert key.get("/api/v1/notification-preferences").status_code == 403


def test_a_notification_is_pushed_to_its_recipient_only(org, admin_membership, agent_membership):
    mine = inbox_pushes(org.pk, group=realtime.member_group(org.pk, admin_membership.user_id))
    organization = inbox_pushes(org.pk)
    theirs = inbox_pushes(org.pk, group=realtime.member_group(org.pk, agent_membership.user_id))

    [notification] = mention(org, [admin_membership])
    mention(org, [agent_membership])

    [push] = mine(1)
    assert push["type"] == "inbox.member"
    assert push["frame"]["data"]["notification"]["id"] == notification.pk
    assert theirs(1)[0]["frame"]["data"]["notification"]["id"] != notification.pk
    realtime.publish(org.pk, [("x.y", {}, realtime.ORGANIZATION_WIDE)])
    assert organization(1)[0]["type"] == "inbox.events"  # the organization's group heard no notification first


def test_the_preferences_page_saves(org, admin_membership):
    from tests.conftest import signed_in

    browser = signed_in(admin_membership)
    page = browser.get("/account/notifications/")
    assert page.status_code == 200
    assert b"Quiet hours" in page.content
    form = {f"{kind}__{channel}": "on" for kind in ("assigned", "mention") for channel in ("in_app", "email")}
    form.update(quiet_start="23:00", quiet_end="06:30", time_zone="Asia/Riyadh")
    saved = browser.post("/account/notifications/", form)
    assert saved.status_code == 302
    preference = NotificationPreference.objects.get(user=admin_membership.user)
    assert preference.channels["mention"] == {"in_app": True, "browser": False, "email": True}
    assert preference.channels["message"] == {"in_app": False, "browser": False, "email": False}
    assert (preference.quiet_start, preference.quiet_end) == (time(23), time(6, 30))
    refused = browser.post("/account/notifications/", {"quiet_start": "23:00"})
    assert refused.status_code == 200
    assert b"Give both the start and the end" in refused.content


def test_now_is_timezone_aware():
    assert timezone.is_aware(timezone.now())
