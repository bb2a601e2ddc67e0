"""Click-to-WhatsApp ads: the registry filled from ingested referrals (and the backfill), the figures per ad against
hand-computed ones (median first response included), the range's days in the organization's time zone, and the
API's validation."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from crm.ads.models import Ad, AdReferral
from crm.ads.services import ad_referrals_record
from crm.models import Deal
from messaging import hooks
from messaging.models import Message
from messaging.services.numbers import number_assign
from tests.conftest import client_for
from tests.crm.ads_support import ad, message, referral, reply
from tests.crm.support import deal
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.ingest_support import cloud_numbers, meta_payload, post_meta, text_message

FIXTURE_AD = "120210581282450389"


def _referral_payload(wamid: str, ad: dict, *, wa_id: str = "16505551234", timestamp: int = 1750000000) -> dict:
    payload = text_message(wamid, "Hi! I saw your ad", wa_id=wa_id, timestamp=timestamp)
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["referral"] = ad
    return payload


def _post(client, org, payload):
    assert post_meta(client, org.pk, payload).status_code == 200


# --- the registry ---------------------------------------------------------------------------------------------


def test_an_ingested_referral_registers_its_ad_and_the_conversation_it_started(client, org):
    cloud_numbers(org)
    _post(client, org, meta_payload("text_referral_ctwa"))

    message = Message.objects.get()
    ad = Ad.objects.get()
    sent = meta_payload("text_referral_ctwa")["entry"][0]["changes"][0]["value"]["messages"][0]["referral"]
    assert (ad.organization, ad.source_type, ad.source_id) == (org, "ad", FIXTURE_AD)
    assert (ad.headline, ad.body, ad.source_url) == (sent["headline"], sent["body"], sent["source_url"])
    assert (ad.media_type, ad.media_url, ad.thumbnail_url) == ("image", sent["image_url"], sent["thumbnail_url"])
    assert ad.first_seen_at == ad.last_seen_at == message.created_at
    row = AdReferral.objects.get()
    assert (row.ad, row.message, row.conversation, row.contact) == (
        ad,
        message,
        message.conversation,
        message.conversation.contact,
    )
    assert (row.ctwa_clid, row.at, row.starts_conversation, row.new_contact) == (
        sent["ctwa_clid"],
        message.created_at,
        True,
        True,
    )


def test_a_redelivered_referral_changes_nothing(client, org):
    cloud_numbers(org)
    _post(client, org, meta_payload("text_referral_ctwa"))
    before = list(Ad.objects.values()), list(AdReferral.objects.values())
    payload = meta_payload("text_referral_ctwa")
    # The same message in another body (not deduplicated as the same event): Meta's redelivery.
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Sheena N."
    _post(client, org, payload)

    assert (list(Ad.objects.values()), list(AdReferral.objects.values())) == before
    assert ad_referrals_record(organization_id=org.pk, message_ids=[Message.objects.get().pk]) == 0


def test_later_referrals_update_the_creative_and_do_not_start_the_conversation(client, org):
    cloud_numbers(org)
    _post(client, org, text_message("wamid.FIRST", "Hello", timestamp=1750000000))
    edited = referral(FIXTURE_AD, headline="Cacti on sale", media_type="video", image_url=None)
    edited["video_url"] = "https://scontent.xx.fbcdn.net/v/cactus.mp4"
    _post(client, org, _referral_payload("wamid.SECOND", edited, timestamp=1750000100))
    _post(client, org, _referral_payload("wamid.THIRD", referral("999", source_type="post"), timestamp=1750000200))

    first, second = Ad.objects.order_by("id")
    assert (first.source_type, first.headline, first.media_type, first.media_url) == (
        "ad",
        "Cacti on sale",
        "video",
        "https://scontent.xx.fbcdn.net/v/cactus.mp4",
    )
    assert (second.source_type, second.source_id) == ("post", "999")
    assert list(AdReferral.objects.order_by("id").values_list("starts_conversation", "new_contact")) == [
        (False, False),
        (False, False),
    ]


def test_a_contact_known_before_the_ad_is_not_a_new_contact(client, org):
    cloud_numbers(org)
    ContactFactory(organization=org, wa_id="16505551234", created_at=datetime(2025, 1, 1, tzinfo=UTC))
    _post(client, org, meta_payload("text_referral_ctwa"))

    assert list(AdReferral.objects.values_list("starts_conversation", "new_contact")) == [(True, False)]


def test_a_referral_without_a_source_or_with_unsafe_links_is_kept_safe(client, org):
    cloud_numbers(org)
    _post(client, org, _referral_payload("wamid.A", {"headline": "no source"}, timestamp=1750000000))
    bad = referral("42", source_type="weird", source_url="javascript:alert(1)", image_url="data:x", headline=7)
    _post(client, org, _referral_payload("wamid.B", bad, wa_id="16505550000", timestamp=1750000100))

    ad = Ad.objects.get()
    assert (ad.source_type, ad.source_id, ad.source_url, ad.media_url, ad.headline) == ("unknown", "42", "", "", "")
    assert AdReferral.objects.count() == 1


def test_the_hook_is_not_announced_for_a_batch_without_referrals(client, org):
    cloud_numbers(org)
    calls = []
    subscriber = hooks.referral_received.connect(lambda **kwargs: calls.append(kwargs))
    try:
        _post(client, org, text_message("wamid.PLAIN", "Hello"))
        assert calls == []
        _post(client, org, meta_payload("text_referral_ctwa"))
    finally:
        hooks.referral_received.disconnect(subscriber)
    referral_message = Message.objects.get(referral__isnull=False)
    assert calls == [{"organization_id": org.pk, "message_ids": [referral_message.pk]}]


def test_the_backfill_records_referrals_stored_before_the_registry_once(org, other_org):
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ours = MessageFactory(organization=org, created_at=at, referral=referral("1"))
    theirs = MessageFactory(organization=other_org, created_at=at, referral=referral("1"))
    MessageFactory(organization=org, created_at=at)  # no referral
    assert AdReferral.objects.count() == 0

    call_command("ads_backfill", verbosity=0)
    call_command("ads_backfill", verbosity=0)

    rows = AdReferral.objects.order_by("message_id").values_list("organization_id", "message_id", "ad__source_id")
    assert list(rows) == [(org.pk, ours.pk, "1"), (other_org.pk, theirs.pk, "1")]
    assert Ad.objects.count() == 2


# --- the figures ----------------------------------------------------------------------------------------------

RIYADH = "Asia/Riyadh"  # UTC+3 all year


def _riyadh(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=3)


@pytest.fixture
def scenario(org, admin_membership):
    """Ads A and B over 1-2 March 2026 in Riyadh (figures computed by hand in the test)."""
    org.settings = {"timezone": RIYADH}
    org.save()
    agent = admin_membership.user
    number = WhatsAppNumberFactory(organization=org)

    def conversation(first_at: datetime, *, new: bool = True):
        contact_at = first_at - timedelta(seconds=1) if new else datetime(2025, 1, 1, tzinfo=UTC)
        contact = ContactFactory(organization=org, created_at=contact_at)
        return ConversationFactory(organization=org, number=number, contact=contact)

    # A, conversation 1 (a new contact): replies by a bot after 10 s, by people after 120 s and 300 s.
    c1 = conversation(_riyadh(1, 9))
    message(c1, _riyadh(1, 9), ad="A")
    reply(c1, _riyadh(1, 9) + timedelta(seconds=10))
    reply(c1, _riyadh(1, 9) + timedelta(seconds=120), by=agent)
    message(c1, _riyadh(1, 9, 5))
    reply(c1, _riyadh(1, 9) + timedelta(seconds=300), by=agent)
    message(c1, _riyadh(1, 10), ad="A")  # the ad again: a referral, not a start
    # A, conversation 2 (a contact known since 2025): on the range's last evening; a person replies after 600 s.
    c2 = conversation(_riyadh(2, 23, 30), new=False)
    message(c2, _riyadh(2, 23, 30), ad="A")
    reply(c2, _riyadh(2, 23, 30) + timedelta(seconds=600), by=agent)
    # A, conversation 5: five minutes into 1 March in Riyadh (still 28 February in UTC); no reply yet.
    c5 = conversation(_riyadh(1, 0, 5))
    message(c5, _riyadh(1, 0, 5), ad="A")
    # Outside the range in Riyadh (3 March 00:10, 28 February 23:50), though the first is 2 March in UTC.
    message(conversation(_riyadh(3, 0, 10)), _riyadh(3, 0, 10), ad="A")
    message(conversation(_riyadh(28, 23, 50, month=2)), _riyadh(28, 23, 50, month=2), ad="A")
    # B: a referral in a conversation that started without one.
    c6 = conversation(_riyadh(1, 8))
    message(c6, _riyadh(1, 8))
    message(c6, _riyadh(1, 8, 10), ad="B")
    ad_a, ad_b = Ad.objects.get(source_id="A"), Ad.objects.get(source_id="B")

    def made(at: datetime, **fields) -> Deal:
        row = deal(org, **fields)
        Deal.objects.filter(pk=row.pk).update(created_at=at)
        return row

    made(_riyadh(1, 12), conversation=c1, value="100", status="won")  # A: from the conversation A started
    made(_riyadh(2, 23, 45), contact=c2.contact, value="50", currency="EUR", status="won")  # A: by the contact
    made(_riyadh(2, 23, 50), contact=c2.contact, value="30")  # A: open
    made(_riyadh(2, 12), contact=c2.contact, value="999", status="won")  # before the contact wrote from the ad
    made(_riyadh(1, 14), ad=ad_b, value="70", status="won")  # B: named
    made(_riyadh(5, 12), contact=c1.contact, value="999", status="won")  # after the range
    made(_riyadh(1, 12), contact=ContactFactory(organization=org), value="999", status="won")  # from no ad
    return ad_a, ad_b


RANGE = {"start_date": "2026-03-01", "end_date": "2026-03-02"}
FIGURES_A = {
    "referrals": 4,
    "conversations_started": 3,
    "new_contacts": 2,
    "messages": 5,
    "agent_replies": 3,
    "median_first_response_seconds": 360.0,  # the median of 120 s and 600 s
    "deals_created": 3,
    "deals_won": 2,
    "won_values": [{"currency": "EUR", "value": "50.00"}, {"currency": "USD", "value": "100.00"}],
}
FIGURES_B = {
    "referrals": 1,
    "conversations_started": 0,
    "new_contacts": 0,
    "messages": 0,
    "agent_replies": 0,
    "median_first_response_seconds": None,
    "deals_created": 1,
    "deals_won": 1,
    "won_values": [{"currency": "USD", "value": "70.00"}],
}


def test_the_figures_per_ad_are_the_hand_computed_ones(admin_client, scenario):
    ad_a, ad_b = scenario
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/api/v1/ads/", RANGE)

    assert response.status_code == 200
    body = response.json()
    assert (body["start_date"], body["end_date"], body["time_zone"]) == ("2026-03-01", "2026-03-02", RIYADH)
    assert [row["id"] for row in body["results"]] == [ad_a.pk, ad_b.pk]
    assert {key: body["results"][0][key] for key in FIGURES_A} == FIGURES_A
    assert {key: body["results"][1][key] for key in FIGURES_B} == FIGURES_B
    assert body["results"][0]["headline"] == "Ad A"
    assert len(queries) <= 12  # a fixed number of grouped queries, whatever the number of rows


def test_a_deal_from_a_conversation_an_ad_started_names_the_ad(org, scenario):
    ad_a, _ = scenario
    row = Deal.objects.get(value=Decimal("100"))
    assert (row.ad, row.source) == (ad_a, "ad")


def test_one_ad_has_its_figures_and_every_day_of_the_range(admin_client, scenario):
    ad_a, _ = scenario
    body = admin_client.get(f"/api/v1/ads/{ad_a.pk}/", RANGE).json()

    assert {key: body[key] for key in FIGURES_A} == FIGURES_A
    assert body["days"] == [
        {"date": "2026-03-01", "referrals": 3, "conversations_started": 2, "new_contacts": 2, "deals_created": 1},
        {"date": "2026-03-02", "referrals": 1, "conversations_started": 1, "new_contacts": 0, "deals_created": 2},
    ]


def test_the_days_are_the_organization_s_days(admin_client, org, scenario):
    ad_a, _ = scenario
    org.settings = {}  # UTC: 1 March 00:05 in Riyadh is 28 February, 3 March 00:10 is 2 March
    org.save()
    body = admin_client.get(f"/api/v1/ads/{ad_a.pk}/", RANGE).json()

    assert (body["time_zone"], body["referrals"], body["conversations_started"]) == ("UTC", 4, 3)
    assert [day["conversations_started"] for day in body["days"]] == [1, 2]


def test_the_default_range_ends_today_in_the_organization_s_time_zone(admin_client, org):
    org.settings = {"timezone": "Pacific/Kiritimati"}  # UTC+14: often tomorrow already
    org.save()
    body = admin_client.get("/api/v1/ads/").json()

    today = timezone.localdate(timezone.now(), ZoneInfo("Pacific/Kiritimati"))
    assert (body["end_date"], body["start_date"]) == (today.isoformat(), (today - timedelta(days=29)).isoformat())


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "start_date"),
        ({"start_date": "2024-01-01", "end_date": "2026-01-01"}, "end_date"),
        ({"since": "2026-01-01"}, "since"),
    ],
)
def test_bad_dates_are_a_400_naming_the_field(admin_client, org, query, field):
    response = admin_client.get("/api/v1/ads/", query)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert response.json()["detail"]


def test_an_agent_counts_only_the_conversations_of_numbers_they_see(org, scenario):
    ad_a, _ = scenario
    agent, colleague = (MembershipFactory(organization=org, role=Role.AGENT) for _ in range(2))
    number = Message.objects.filter(conversation__ad_referrals__ad=ad_a).first().conversation.number
    number_assign(number=number, actor=None, user_id=colleague.user_id, team_id=None)

    row = client_for(agent).get(f"/api/v1/ads/{ad_a.pk}/", RANGE).json()
    assert (row["referrals"], row["conversations_started"], row["messages"], row["deals_created"]) == (0, 0, 0, 3)


def test_another_organization_s_ad_is_not_found(admin_client, other_org):
    foreign = ad(other_org)
    assert admin_client.get(f"/api/v1/ads/{foreign.pk}/").status_code == 404
    assert admin_client.get("/api/v1/ads/").json()["results"] == []
