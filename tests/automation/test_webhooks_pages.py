"""Settings > Webhooks (admins): the list and its form (the secret shown once on the page it leads to), an endpoint's
page (edit, test ping, rotate, delete) and its delivery log (filters, redeliver, the fragment the page reloads).
Every write goes through the webhooks services, whose refusals show next to the fields."""

import pytest

from accounts.models import Role
from automation.models import WebhookDelivery, WebhookEndpoint
from tests.accounts.test_settings_pages import field_error
from tests.automation.webhooks_support import WebhookDeliveryFactory, WebhookEndpointFactory, receiving_endpoint
from tests.conftest import signed_in
from tests.factories import MembershipFactory, UserFactory
from tests.fakes import Response
from tests.messaging.inbox_support import committed

LIST = "/settings/webhooks/"
PUBLIC_URL = "https://public.example/hooks"


def detail_url(endpoint) -> str:
    return f"/settings/webhooks/{endpoint.pk}/"


@pytest.fixture(autouse=True)
def dns(fake_dns):
    return fake_dns


@pytest.fixture
def admin(admin_membership):
    return signed_in(admin_membership)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
def test_agents_and_marketers_get_the_permission_denied_page_and_change_nothing(role, org):
    endpoint = WebhookEndpointFactory(organization=org)
    browser = signed_in(MembershipFactory(organization=org, role=role))

    responses = [
        browser.get(LIST),
        browser.post(LIST, {"url": PUBLIC_URL, "events": ["message.received"]}),
        browser.post(detail_url(endpoint), {"url": PUBLIC_URL, "events": ["contact.created"]}),
        browser.post(f"{detail_url(endpoint)}rotate/"),
        browser.post(f"{detail_url(endpoint)}delete/"),
    ]

    assert [response.status_code for response in responses] == [403] * 5
    assert "This page is for admins of Acme. Ask one of them for access." in responses[0].content.decode()
    assert list(WebhookEndpoint.objects.values_list("pk", "events")) == [(endpoint.pk, ["message.received"])]


def test_the_settings_tabs_lead_to_the_page(admin):
    assert f'<a class="tab" href="{LIST}">Webhooks</a>' in page(admin.get("/settings/teams/"))


def test_the_empty_list_says_what_to_do(admin):
    html = page(admin.get(LIST))

    assert "No webhooks yet" in html
    assert 'value="message.received"' in html and 'value="flow.completed"' in html


def test_creating_one_shows_its_secret_once(admin, org):
    response = admin.post(
        LIST, {"url": PUBLIC_URL, "events": ["message.received", "contact.opted_out"], "description": "CRM"}
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(endpoint)
    assert (endpoint.organization, endpoint.url, endpoint.events, endpoint.description) == (
        org,
        PUBLIC_URL,
        ["message.received", "contact.opted_out"],
        "CRM",
    )
    first = page(admin.get(detail_url(endpoint)))
    assert f'value="{endpoint.secret}"' in first
    assert "Copy the signing secret now: it is shown only this once." in first
    again = page(admin.get(detail_url(endpoint)))
    assert endpoint.secret not in again
    assert f"...{endpoint.secret[-4:]}" in again


def test_a_private_url_is_refused_next_to_the_field(admin):
    html = page(admin.post(LIST, {"url": "http://10.0.0.5/hooks", "events": ["message.received"]}))

    assert (
        field_error(
            "url",
            "The host must resolve to public addresses only; a private service needs the hub&#x27;s operator to allow "
            "it.",
        )
        in html
    )
    assert WebhookEndpoint.objects.count() == 0


def test_editing_events_and_switching_it_off(admin, org):
    endpoint = WebhookEndpointFactory(organization=org, url=PUBLIC_URL)

    response = admin.post(detail_url(endpoint), {"url": PUBLIC_URL, "events": ["contact.created", "contact.updated"]})

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.active) == (["contact.created", "contact.updated"], False)
    assert "Inactive" in page(admin.get(LIST))


def test_a_test_ping_from_the_page_says_how_it_went(admin, org, settings, webhook_receiver, scripted_server):
    good = receiving_endpoint(settings, webhook_receiver, org)
    scripted_server.default = Response(503, b"<html>busy</html>", "text/html")
    bad = receiving_endpoint(settings, scripted_server, org)

    ok = page(admin.post(f"{detail_url(good)}test/", follow=True))
    failed = page(admin.post(f"{detail_url(bad)}test/", follow=True))

    latency = WebhookDelivery.objects.get(endpoint=good).latency_ms
    assert f"Test ping delivered: the endpoint answered HTTP 200 in {latency} ms." in ok
    assert "Test ping failed: The endpoint answered HTTP 503 (only 2xx counts as delivered)." in failed
    assert "&lt;html&gt;busy&lt;/html&gt;" in failed  # the excerpt, as text
    assert "<html>busy</html>" not in failed
    assert len(webhook_receiver.requests) == 1


def test_rotating_from_the_page_shows_the_new_secret_once(admin, org):
    endpoint = WebhookEndpointFactory(organization=org)
    old = endpoint.secret

    html = page(admin.post(f"{detail_url(endpoint)}rotate/", {"grace_hours": "1"}, follow=True))

    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert f'value="{endpoint.secret}"' in html
    assert "The previous secret signs too until" in html
    assert endpoint.secret not in page(admin.get(detail_url(endpoint)))


def test_the_log_shows_each_delivery_and_filters(admin, org):
    endpoint = WebhookEndpointFactory(organization=org)
    failed = WebhookDeliveryFactory(endpoint=endpoint, response_excerpt="<script>alert(1)</script>", latency_ms=812)
    succeeded = WebhookDeliveryFactory(
        endpoint=endpoint,
        event_type="contact.created",
        status="succeeded",
        attempts=1,
        response_status=204,
        error_code="",
    )

    html = page(admin.get(detail_url(endpoint)))
    only_failed = page(admin.get(detail_url(endpoint), {"status": "failed"}))

    assert f'data-delivery="{failed.pk}" data-status="failed"' in html
    assert f'data-delivery="{succeeded.pk}" data-status="succeeded"' in html
    assert "The endpoint answered HTTP 500 (only 2xx counts as delivered)." in html
    assert "812 ms" in html and "8 attempts" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert f'data-delivery="{succeeded.pk}"' not in only_failed


def test_the_log_alone_is_what_the_page_reloads(admin, org, other_org):
    endpoint = WebhookEndpointFactory(organization=org)
    delivery = WebhookDeliveryFactory(endpoint=endpoint)

    fragment = page(admin.get(f"{detail_url(endpoint)}deliveries/", {"event": "message.received"}))
    theirs = admin.get(f"{detail_url(WebhookEndpointFactory(organization=other_org))}deliveries/")

    assert f'data-delivery="{delivery.pk}"' in fragment
    assert "<html" not in fragment and "settings-tabs" not in fragment
    assert theirs.status_code == 404


def test_redelivering_from_the_log(admin, org, settings, webhook_receiver):
    endpoint = receiving_endpoint(settings, webhook_receiver, org)
    failed = WebhookDeliveryFactory(endpoint=endpoint)

    html = page(committed(admin.post, f"{detail_url(endpoint)}deliveries/{failed.pk}/redeliver/", follow=True))

    again = WebhookDelivery.objects.get(redelivery_of=failed)
    assert (again.status, len(webhook_receiver.requests)) == ("succeeded", 1)
    assert "The event was queued again: its new delivery is at the top of the log." in html


def test_deleting_is_confirmed(admin, org):
    endpoint = WebhookEndpointFactory(organization=org)

    confirm = page(admin.get(f"{detail_url(endpoint)}delete/"))
    response = admin.post(f"{detail_url(endpoint)}delete/")

    assert "Delete this webhook?" in confirm and endpoint.url in confirm
    assert response.status_code == 302 and response["Location"] == LIST
    assert WebhookEndpoint.objects.count() == 0


def test_a_disabled_endpoint_says_why(admin, org):
    from django.utils import timezone

    endpoint = WebhookEndpointFactory(
        organization=org, active=False, disabled_at=timezone.now(), consecutive_failures=9
    )

    html = page(admin.get(detail_url(endpoint)))

    assert "Every delivery attempt failed for more than a day." in html
    assert "Disabled: failing" in html


def test_the_page_in_arabic(org, admin_membership):
    endpoint = WebhookEndpointFactory(organization=org)
    WebhookDeliveryFactory(endpoint=endpoint)
    arabic_admin = MembershipFactory(organization=org, role=Role.ADMIN, user=UserFactory(language="ar"))
    browser = signed_in(arabic_admin)

    listing = page(browser.get(LIST))
    detail = page(browser.get(detail_url(endpoint)))

    assert 'lang="ar" dir="rtl"' in listing
    assert "إنشاء Webhook" in listing and "Create webhook" not in listing
    assert "وصلت رسالة من عميل." in listing  # the events' descriptions
    assert "إرسال إشعار اختبار" in detail and "Send test ping" not in detail
    assert "إعادة الإرسال" in detail and "Redeliver" not in detail
    assert "ردّت نقطة الاستقبال بـ HTTP 500" in detail  # the delivery's error
