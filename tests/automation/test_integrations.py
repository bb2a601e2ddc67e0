"""Settings > Integrations: settings/integrations (each integration's state) and its "test now", against the fakes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import integrations as recording
from accounts import mail as mail_pipeline
from accounts.integration_models import IntegrationKind, IntegrationStatus
from accounts.models import EmailLog
from automation.models.webhooks import WebhookDelivery
from automation.services.ai import ai_settings_save
from messaging.models import Message
from messaging.services.conversations import message_deliver
from tests.accounts.mail_support import FlakyBackend
from tests.automation.webhooks_support import WebhookDeliveryFactory, WebhookEndpointFactory, receiving_endpoint
from tests.conftest import signed_in
from tests.factories import UserFactory
from tests.messaging.factories import MessageFactory, WhatsAppNumberFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/settings/integrations"
UPSTREAM = "upstream text the hub must not show"


@pytest.fixture(autouse=True)
def _fresh_memo():
    recording.forget()
    yield
    recording.forget()


def test_url():
    assert reverse("settings-integrations") == URL


def _cards(client) -> dict[str, dict]:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return {card["key"]: card for card in response.json()["integrations"]}


def _test(client, key):
    return client.post(f"{URL}/{key}/test")


def _queued(org, number, **fields):
    if "conversation" not in fields:
        fields["conversation__number"] = number
    part = {"type": "text", "text": {"body": "Hello"}}
    return MessageFactory(
        organization=org, direction="outbound", status="queued", provider_message_id=None, payload=part, **fields
    )


# --- states ---------------------------------------------------------------------------------------------------


def test_an_organization_with_nothing_set_up_shows_what_is_not_configured(admin_client, settings):
    settings.OPENAI_BASE_URL = ""
    settings.GOOGLE_CLIENT_ID = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    cards = _cards(admin_client)
    assert list(cards) == ["llm", "embeddings", "google", "email"]
    assert {key: card["state"] for key, card in cards.items()} == {
        "llm": "not_configured",
        "embeddings": "not_configured",
        "google": "not_configured",
        "email": "not_configured",
    }
    assert all(card["test_url"] is None for card in cards.values())
    assert cards["llm"]["fix_url"] == "/settings/ai/"
    assert _test(admin_client, "llm").status_code == 400


def test_a_sandbox_number_is_working_without_network(admin_client, org):
    number = WhatsAppNumberFactory(organization=org, provider="sandbox", phone_number_id="", access_token="")
    card = _cards(admin_client)[f"whatsapp_number-{number.pk}"]
    assert card["state"] == "ok"
    assert {"label": "Network", "value": "None: messages are simulated"} in card["facts"]
    response = _test(admin_client, f"whatsapp_number-{number.pk}")
    assert response.status_code == 200
    assert response.json()["state"] == "ok"
    assert response.json()["last_success_at"] is not None


def test_a_delivery_records_the_numbers_success_and_a_refused_token_its_failure(admin_client, org, fake_meta):
    number = WhatsAppNumberFactory(organization=org)
    key = f"whatsapp_number-{number.pk}"
    assert _cards(admin_client)[key]["state"] == "unknown"
    message = _queued(org, number)
    fake_meta.open_window(message.conversation.contact.wa_id, phone_number_id=number.phone_number_id)
    message_deliver(organization_id=org.pk, message_id=message.pk)
    assert Message.objects.get(pk=message.pk).status == "sent"
    assert _cards(admin_client)[key]["state"] == "ok"

    fake_meta.revoke_token(number.access_token)
    second = _queued(org, number, conversation=message.conversation)
    message_deliver(organization_id=org.pk, message_id=second.pk)
    card = _cards(admin_client)[key]
    assert card["state"] == "failing"
    assert card["last_error"] == "Meta refused the access token: connect the number again with a new token."
    row = IntegrationStatus.objects.get(organization=org, kind="whatsapp_number", object_id=str(number.pk))
    assert (row.error_code, row.http_status) == ("auth", 401)


def test_a_message_level_refusal_says_nothing_about_the_connection(org, fake_meta):
    number = WhatsAppNumberFactory(organization=org)
    message = _queued(org, number)
    fake_meta.fail_next(131026)  # the recipient cannot receive it: about one message
    message_deliver(organization_id=org.pk, message_id=message.pk)
    assert Message.objects.get(pk=message.pk).status == "failed"
    row = IntegrationStatus.objects.filter(organization=org, kind="whatsapp_number").first()
    assert row is None or row.last_error_at is None


def test_test_now_reads_a_cloud_numbers_quality_rating_and_tier(admin_client, org, fake_meta):
    number = WhatsAppNumberFactory(organization=org, messaging_limit_tier="TIER_10K")
    fake_meta.add_phone_number(number.phone_number_id, "15550001111")
    response = _test(admin_client, f"whatsapp_number-{number.pk}")
    assert response.status_code == 200, response.content
    card = response.json()
    assert card["state"] == "ok"
    assert {"label": "Quality rating", "value": "GREEN"} in card["facts"]
    assert {"label": "Messaging limit", "value": "10,000"} in card["facts"]
    assert card["fix_url"] == f"/settings/numbers/{number.pk}/"
    assert fake_meta.requests[-1].method == "GET"
    assert fake_meta.requests[-1].path.endswith(f"/{number.phone_number_id}")


def test_test_now_of_a_cloud_number_with_a_revoked_token_fails_in_the_hubs_words(admin_client, org, fake_meta):
    number = WhatsAppNumberFactory(organization=org)
    fake_meta.add_phone_number(number.phone_number_id)
    fake_meta.revoke_token(number.access_token)
    card = _test(admin_client, f"whatsapp_number-{number.pk}").json()
    assert card["state"] == "failing"
    assert card["last_error"] == "Meta refused the access token: connect the number again with a new token."
    assert "expired" not in str(card).lower()


def test_test_now_of_a_waha_number_reads_its_session(admin_client, org, fake_waha):
    number = WhatsAppNumberFactory(
        organization=org, provider="waha", waha_session="line1", waha_api_key=fake_waha.api_key, phone_number_id=""
    )
    fake_waha.add_session("line1", status="SCAN_QR_CODE")
    card = _test(admin_client, f"whatsapp_number-{number.pk}").json()
    assert card["state"] == "failing"
    assert card["last_error"] == "The WhatsApp Web session is not working: open the number to reconnect it."
    assert {"label": "Session", "value": "Scan QR code"} in card["facts"]

    fake_waha.add_session("line1", status="WORKING")
    IntegrationStatus.objects.filter(organization=org).update(tested_at=timezone.now() - timedelta(seconds=11))
    card = _test(admin_client, f"whatsapp_number-{number.pk}").json()
    assert card["state"] == "ok"
    assert {"label": "Session", "value": "Working"} in card["facts"]


def test_test_now_of_the_ai_provider_and_embeddings(admin_client, org, fake_openai):
    ai_settings_save(organization=org, actor=None, api_key="sk-test", embedding_model="text-embedding-3-small")
    cards = _cards(admin_client)
    assert (cards["llm"]["state"], cards["embeddings"]["state"]) == ("unknown", "unknown")
    assert _test(admin_client, "llm").json()["state"] == "ok"
    assert fake_openai.chat_requests()[-1]["max_tokens"] == 1
    assert _test(admin_client, "embeddings").json()["state"] == "ok"
    assert fake_openai.embedding_requests()[-1]["input"] == ["ping"]

    fake_openai.fail_next(401, message=f"Incorrect API key sk-test ({UPSTREAM})")
    IntegrationStatus.objects.filter(organization=org).update(tested_at=None)
    card = _test(admin_client, "llm").json()
    assert card["state"] == "failing"
    assert card["last_error"] == "The AI provider refused the API key: check it in Settings, AI."

    fake_openai.fail_next(503, times=3, message=UPSTREAM)  # a check is tried once: no retries, no backoff
    IntegrationStatus.objects.filter(organization=org).update(tested_at=None)
    before = len(fake_openai.chat_requests())
    card = _test(admin_client, "llm").json()
    assert card["last_error"] == "The AI provider is unavailable; try again later."
    assert len(fake_openai.chat_requests()) == before + 1
    assert UPSTREAM not in str(_cards(admin_client))


def test_a_bots_failing_call_marks_the_ai_provider_failing(org, admin_client, fake_openai):
    from automation import llm

    ai_settings_save(organization=org, actor=None, api_key="sk-test")
    fake_openai.fail_next(500, times=3, message=UPSTREAM)
    with pytest.raises(llm.LLMError):
        llm.chat(organization=org, messages=[{"role": "user", "content": "hi"}])
    card = _cards(admin_client)["llm"]
    assert card["state"] == "failing"
    assert card["last_error"] == "The AI provider is unavailable; try again later."
    llm.chat(organization=org, messages=[{"role": "user", "content": "hi"}])
    assert _cards(admin_client)["llm"]["state"] == "ok"


def test_the_offline_embedding_model_is_working_with_nothing_to_test(admin_client, org, settings, monkeypatch):
    from automation import llm

    monkeypatch.setattr(llm, "local_embeddings_available", lambda: True)
    card = _cards(admin_client)["embeddings"]
    assert card["state"] == "ok"
    assert card["test_url"] is None
    assert {"label": "Embedding model", "value": "The hub's offline model"} in card["facts"]


def test_webhooks_show_their_deliveries_and_test_now_sends_a_signed_ping(admin_client, org, settings, webhook_receiver):
    endpoint = receiving_endpoint(settings, webhook_receiver, org, description="CRM")
    key = f"webhook-{endpoint.pk}"
    assert _cards(admin_client)[key]["state"] == "unknown"
    card = _test(admin_client, key).json()
    assert card["state"] == "ok"
    assert card["fix_url"] == f"/settings/webhooks/{endpoint.pk}/"
    assert len(webhook_receiver.requests) == 1
    assert "X-Webhook-Signature" in webhook_receiver.requests[0].headers
    assert WebhookDelivery.objects.get(endpoint=endpoint).event_type == "ping"


def test_a_failing_webhook_shows_its_last_error_and_failures(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org, consecutive_failures=2, failing_since=timezone.now())
    now = timezone.now()
    WebhookDeliveryFactory(
        endpoint=endpoint, status="retrying", error_code="http_status", response_status=503, last_attempt_at=now
    )
    card = _cards(admin_client)[f"webhook-{endpoint.pk}"]
    assert card["state"] == "failing"
    assert card["last_error"] == "The endpoint answered HTTP 503 (only 2xx counts as delivered)."
    assert {"label": "Failed attempts, last 24 hours", "value": "1"} in card["facts"]

    switched_off = WebhookEndpointFactory(organization=org, active=False)
    assert _cards(admin_client)[f"webhook-{switched_off.pk}"]["state"] == "off"


def test_a_webhook_test_refused_by_the_egress_policy(admin_client, org, webhook_receiver):
    endpoint = WebhookEndpointFactory(organization=org, url=f"{webhook_receiver.url}/hook")  # loopback: refused
    card = _test(admin_client, f"webhook-{endpoint.pk}").json()
    assert card["state"] == "failing"
    assert card["last_error"].startswith("The endpoint's address is not allowed")
    assert webhook_receiver.requests == []


def test_google_sign_in_fetches_the_key_set(admin_client, fake_google):
    card = _cards(admin_client)["google"]
    assert card["state"] == "unknown"
    card = _test(admin_client, "google").json()
    assert card["state"] == "ok"
    assert card["fix_url"] == ""


def test_google_keys_that_cannot_be_fetched(admin_client, settings, fake_google, scripted_server):
    settings.GOOGLE_JWKS_URL = f"{fake_google.url}/missing"
    card = _test(admin_client, "google").json()
    assert card["state"] == "failing"
    assert card["last_error"] == "Google's keys could not be fetched: try again in a minute."


def test_test_now_sends_the_admin_a_test_email(admin_client, admin_membership):
    card = _test(admin_client, "email").json()
    assert card["state"] == "ok"
    assert [message.to for message in mail.outbox] == [[admin_membership.user.email]]
    assert mail.outbox[0].subject == "WhatsApp Hub: test e-mail"
    logged = EmailLog.objects.get()  # every e-mail the hub sends is in the e-mail log
    assert (logged.kind, logged.status, logged.organization_id) == ("test", "sent", admin_membership.organization_id)


def test_the_organizations_own_emails_say_how_email_fares(admin_client, org, settings, monkeypatch):
    """Not only a test: every e-mail of the organization records the integration's state, failing or working."""
    settings.EMAIL_BACKEND = "tests.accounts.mail_support.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "failures", 1)
    user = UserFactory()
    log = mail_pipeline.send_templated(user=user, template="test", context={"organization": org}, organization=org)
    with pytest.raises(OSError):
        mail_pipeline.email_deliver(log_id=log.pk)
    assert _cards(admin_client)["email"]["state"] == "failing"

    recording.forget()
    mail_pipeline.email_deliver(log_id=log.pk)  # the retry goes through
    assert _cards(admin_client)["email"]["state"] == "ok"


def test_an_email_that_cannot_be_sent(admin_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    card = _test(admin_client, "email").json()
    assert card["state"] == "failing"
    assert card["last_error"] == "The test e-mail could not be sent: check the hub's mail server settings."
    assert "refused" not in card["last_error"].lower()


# --- limits, roles, tenants -----------------------------------------------------------------------------------


def test_one_test_per_integration_per_ten_seconds(admin_client, org):
    number = WhatsAppNumberFactory(organization=org, provider="sandbox")
    other = WhatsAppNumberFactory(organization=org, provider="sandbox")
    assert _test(admin_client, f"whatsapp_number-{number.pk}").status_code == 200
    again = _test(admin_client, f"whatsapp_number-{number.pk}")
    assert again.status_code == 429
    assert again.json()["detail"].startswith("This integration was tested a moment ago: try again in ")
    assert 1 <= int(again.headers["Retry-After"]) <= 10
    assert _test(admin_client, f"whatsapp_number-{other.pk}").status_code == 200
    IntegrationStatus.objects.filter(organization=org).update(tested_at=timezone.now() - timedelta(seconds=10))
    assert _test(admin_client, f"whatsapp_number-{number.pk}").status_code == 200


def test_admins_only(agent_client, marketing_client, org, anon_client):
    number = WhatsAppNumberFactory(organization=org, provider="sandbox")
    for client in (agent_client, marketing_client):
        assert client.get(URL).status_code == 403
        assert _test(client, f"whatsapp_number-{number.pk}").status_code == 403
    assert anon_client.get(URL).status_code == 401
    assert not IntegrationStatus.objects.exists()


def test_another_organizations_rows_are_neither_listed_nor_tested(admin_client, other_org, fake_meta):
    number = WhatsAppNumberFactory(organization=other_org)
    endpoint = WebhookEndpointFactory(organization=other_org)
    keys = _cards(admin_client)
    assert f"whatsapp_number-{number.pk}" not in keys and f"webhook-{endpoint.pk}" not in keys
    for key in (f"whatsapp_number-{number.pk}", f"webhook-{endpoint.pk}", "nothing", "llm-3", "webhook-x"):
        response = _test(admin_client, key)
        assert response.status_code == 404, key
    assert fake_meta.requests == []
    assert not IntegrationStatus.objects.exists()


def test_the_list_takes_a_fixed_number_of_queries(admin_client, org, django_assert_max_num_queries):
    for _ in range(3):
        WhatsAppNumberFactory(organization=org)
        WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=org))
    with django_assert_max_num_queries(14):
        _cards(admin_client)


# --- recording ------------------------------------------------------------------------------------------------


def test_an_unchanged_state_is_written_at_most_every_interval(org, settings, django_assert_num_queries):
    settings.INTEGRATION_STATUS_INTERVAL = 60
    kind = IntegrationKind.LLM
    recording.integration_ok(organization_id=org.pk, kind=kind)
    first = IntegrationStatus.objects.get(organization=org, kind=kind).last_success_at
    with django_assert_num_queries(0):
        recording.integration_ok(organization_id=org.pk, kind=kind)
    recording.forget()
    recording.integration_ok(organization_id=org.pk, kind=kind)  # the conditional update leaves it as it was
    assert IntegrationStatus.objects.get(organization=org, kind=kind).last_success_at == first
    recording.integration_failed(organization_id=org.pk, kind=kind, error_code="llm_down")
    recording.integration_ok(organization_id=org.pk, kind=kind)  # a flip is written at once
    row = IntegrationStatus.objects.get(organization=org, kind=kind)
    assert row.last_success_at > row.last_error_at > first
    assert not row.failing


# --- the page ---------------------------------------------------------------------------------------------------


def test_the_page_shows_a_card_per_integration(admin_membership, org, settings):
    settings.GOOGLE_CLIENT_ID = ""
    number = WhatsAppNumberFactory(organization=org, display_name="Support line")
    IntegrationStatus.objects.create(
        organization=org,
        kind="whatsapp_number",
        object_id=str(number.pk),
        last_error_at=timezone.now(),
        error_code="auth",
        http_status=401,
    )
    response = signed_in(admin_membership).get("/settings/integrations/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Support line" in html
    assert 'data-state="failing"' in html
    assert "Meta refused the access token" in html
    assert f'data-test-url="/api/v1/settings/integrations/whatsapp_number-{number.pk}/test"' in html
    assert "No outbound webhooks yet" in html


def test_the_page_is_for_admins(agent_membership):
    assert signed_in(agent_membership).get("/settings/integrations/").status_code == 403


def test_the_page_in_arabic(admin_membership, org):
    client = signed_in(admin_membership)
    response = client.get("/settings/integrations/", HTTP_ACCEPT_LANGUAGE="ar")
    html = response.content.decode()
    assert 'dir="rtl"' in html
    assert "التكاملات" in html


def test_the_embedded_defaults_demo_reads_sensibly(embedded_default):
    """`make run`: the demo's sandbox number works without network, the rest is not configured (the console mail
    backend prints e-mails: nothing is sent), and nothing is failing."""
    from django.core.management import call_command

    from accounts.models import Membership
    from tests.conftest import client_for

    embedded_default.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    embedded_default.OPENAI_BASE_URL = ""
    embedded_default.GOOGLE_CLIENT_ID = ""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    admin = Membership.objects.filter(role="admin").first()
    cards = _cards(client_for(admin))
    assert {card["name"]: card["state"] for card in cards.values()} == {
        "Demo sandbox": "ok",
        "AI provider": "not_configured",
        "Embeddings": "not_configured",
        "Google sign-in": "not_configured",
        "E-mail": "not_configured",
    }


def test_metas_quality_event_shows_on_the_numbers_card_and_outlives_a_test(admin_client, org, fake_meta, client):
    from tests.campaigns.support import campaign_number, deliver, webhooks_through_the_endpoint
    from tests.fakes.meta import DEFAULT_WABA_ID

    number = campaign_number(org)
    webhooks_through_the_endpoint(fake_meta, client, org)
    change = {
        "field": "phone_number_quality_update",
        "value": {"display_phone_number": number.phone_number.lstrip("+"), "event": "FLAGGED <b>", "x": "y"},
    }
    fake_meta.queue_webhook(
        {"object": "whatsapp_business_account", "entry": [{"id": DEFAULT_WABA_ID, "time": 1, "changes": [change]}]}
    )
    assert [response.status_code for response in deliver(fake_meta)] == [200]
    key = f"whatsapp_number-{number.pk}"
    assert {"label": "Latest quality event from Meta", "value": "FLAGGEDb"} in _cards(admin_client)[key]["facts"]

    fake_meta.add_phone_number(number.phone_number_id)
    card = _test(admin_client, key).json()
    assert {"label": "Quality rating", "value": "GREEN"} in card["facts"]
    assert {"label": "Latest quality event from Meta", "value": "FLAGGEDb"} in card["facts"]


def test_the_page_shows_times_in_the_organizations_time_zone(admin_membership, org):
    org.settings = {**(org.settings or {}), "timezone": "Asia/Riyadh"}
    org.save()
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    IntegrationStatus.objects.create(organization=org, kind="email", last_success_at=at)
    html = signed_in(admin_membership).get("/settings/integrations/").content.decode()
    assert '<time datetime="2026-01-05T12:00:00+03:00" title="Jan. 5, 2026, noon">' in html
    assert 'data-time-zone="Asia/Riyadh"' in html
