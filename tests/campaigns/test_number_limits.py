"""The number's messaging limit and throughput: set through the numbers API, and updated by Meta's webhooks
(business_capability_update, phone_number_quality_update) through the real, signed endpoint."""

from tests.campaigns.support import deliver, webhooks_through_the_endpoint
from tests.fakes.meta import DEFAULT_WABA_ID


def _account_change(fake_meta, field: str, value: dict) -> None:
    change = {"value": value, "field": field}
    fake_meta.queue_webhook(
        {"object": "whatsapp_business_account", "entry": [{"id": DEFAULT_WABA_ID, "time": 1, "changes": [change]}]}
    )


def test_metas_limit_and_throughput_webhooks_update_the_accounts_numbers(org, number, fake_meta, client):
    webhooks_through_the_endpoint(fake_meta, client, org)
    display = number.phone_number.lstrip("+")
    _account_change(fake_meta, "business_capability_update", {"max_daily_conversations_per_business": 10000})
    _account_change(
        fake_meta,
        "phone_number_quality_update",
        {"display_phone_number": display, "event": "THROUGHPUT_UPGRADE", "current_limit": "TIER_UNLIMITED"},
    )

    assert [response.status_code for response in deliver(fake_meta)] == [200, 200]

    number.refresh_from_db()
    assert (number.messaging_limit_tier, number.throughput) == ("TIER_UNLIMITED", 1000)

    _account_change(fake_meta, "business_capability_update", {"max_daily_conversations_per_business": "TIER_1K"})
    deliver(fake_meta)
    number.refresh_from_db()
    assert number.messaging_limit_tier == "TIER_UNLIMITED"  # a limit Meta no longer uses changes nothing


def test_admins_set_the_messaging_limit_through_the_numbers_api(org, number, admin_client):
    response = admin_client.patch(f"/api/v1/numbers/{number.pk}", {"messaging_limit_tier": "TIER_2K"}, format="json")

    assert response.status_code == 200
    assert response.json()["messaging_limit_tier"] == "TIER_2K"
    number.refresh_from_db()
    assert number.messaging_limit_tier == "TIER_2K"
