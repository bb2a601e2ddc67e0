"""The super admin's console beyond tenants: plans and their limits (each enforced where it applies), the dashboard's
figures, the platform pages (staff only), and read-only impersonation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts import impersonation, plans
from accounts.models import (
    AuditLog,
    Invitation,
    MessageUsage,
    Organization,
    Plan,
    PlatformAuditLog,
    Role,
    StorageUsage,
    Team,
)
from accounts.selectors import Principal
from messaging.consumers import _send_message
from messaging.models import Media, Message, WhatsAppNumber
from messaging.services.numbers import number_create
from tests.assertions import assert_error
from tests.conftest import client_for, signed_in
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.messaging.inbox_support import JPEG, cloud_number, open_conversation, send
from whatsapp_hub.errors import ServiceError

PLANS = "/api/v1/super-admin/plans"
DASHBOARD = "/api/v1/super-admin/dashboard"
ORGS = "/api/v1/super-admin/organizations"


@pytest.fixture(autouse=True)
def _default_plans(db):
    """The plans the data migration creates: a transactional test run before this one in the process has flushed
    them (pytest-django empties every table), so each test here makes sure they are there."""
    for code, values in plans.DEFAULT_PLANS.items():
        Plan.objects.get_or_create(code=code, defaults=values)


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, email="ops@platform.example")


@pytest.fixture
def staff_client(staff):
    return client_for(user=staff)


@pytest.fixture
def staff_browser(staff):
    browser = Client()
    browser.force_login(staff)
    return browser


def limited(org, **limits) -> Plan:
    plan = Plan.objects.create(code="tiny", name="Tiny", **limits)
    Organization.objects.filter(pk=org.pk).update(plan="tiny")
    org.refresh_from_db()
    return plan


# --- the data migration ------------------------------------------------------------------------------------


def test_the_plans_the_product_had_exist_with_their_user_limits(db):
    rows = Plan.objects.order_by("code").values_list("code", "name", "max_users", "max_numbers", "monthly_price")
    assert list(rows) == [
        ("enterprise", "Enterprise", None, None, Decimal("0.00")),
        ("pro", "Pro", 25, None, Decimal("0.00")),
        ("starter", "Starter", 5, None, Decimal("0.00")),
    ]


# --- each limit enforced -----------------------------------------------------------------------------------


def test_the_number_limit_refuses_another_number(org, admin_client):
    limited(org, max_numbers=1)
    number_create(organization=org, actor=None, display_name="One", provider="sandbox")

    with pytest.raises(ServiceError) as refused:
        number_create(organization=org, actor=None, display_name="Two", provider="sandbox")

    assert (refused.value.status_code, refused.value.code) == (400, "number_limit_reached")
    assert refused.value.detail == "The Tiny plan allows 1 WhatsApp numbers: the number limit is reached."
    assert WhatsAppNumber.objects.filter(organization=org).count() == 1
    body = assert_error(admin_client.post("/api/v1/numbers", {"display_name": "Three", "provider": "sandbox"}), 400)
    assert body["code"] == "number_limit_reached"


def test_the_monthly_message_limit_refuses_the_send_that_goes_over(org, agent_client, fake_meta):
    limited(org, max_messages_per_month=2)
    conversation = open_conversation(org, number=cloud_number(org))
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=conversation.number.phone_number_id)

    assert send(agent_client, conversation, {"type": "text", "text": "one"}).status_code == 202
    assert send(agent_client, conversation, {"type": "text", "text": "two"}).status_code == 202
    body = assert_error(send(agent_client, conversation, {"type": "text", "text": "three"}), 400)

    assert body["code"] == "message_limit_reached"
    assert body["detail"] == "The Tiny plan allows 2 outbound messages a month: this month's are used up."
    assert list(Message.objects.filter(organization=org).values_list("text", flat=True).order_by("id")) == [
        "one",
        "two",
    ]
    assert MessageUsage.objects.get(organization=org).messages == 2


def test_a_new_month_starts_a_new_allowance(org, frozen):
    limited(org, max_messages_per_month=1)
    assert plans.usage_messages_reserve(organization=org) == 1
    with pytest.raises(ServiceError):
        plans.usage_messages_reserve(organization=org)

    frozen.shift(timedelta(days=32))

    assert plans.usage_messages_reserve(organization=org) == 1
    assert MessageUsage.objects.filter(organization=org).count() == 2


def test_a_partial_reservation_takes_what_is_left(org):
    limited(org, max_messages_per_month=5)
    assert plans.usage_messages_reserve(organization=org, count=3, partial=True) == 3
    assert plans.usage_messages_reserve(organization=org, count=4, partial=True) == 2
    assert plans.usage_messages_reserve(organization=org, count=1, partial=True) == 0
    assert plans.messages_this_month(organization=org) == 5


def test_the_storage_limit_refuses_an_upload_that_does_not_fit(org, agent_client):
    limited(org, max_storage_bytes=len(JPEG) + 10)

    def upload():
        return agent_client.post(
            "/api/v1/media", {"file": SimpleUploadedFile("a.jpg", JPEG, content_type="image/jpeg")}, format="multipart"
        )

    assert upload().status_code == 201
    assert StorageUsage.objects.get(organization=org).bytes == len(JPEG)
    body = assert_error(upload(), 400)

    assert body["code"] == "storage_limit_reached"
    assert "The Tiny plan allows" in body["detail"]
    assert Media.objects.filter(organization=org).count() == 1
    assert StorageUsage.objects.get(organization=org).bytes == len(JPEG)


def test_the_user_limit_follows_the_plan_row(org, admin_client, admin_membership):
    limited(org, max_users=1)

    body = assert_error(
        admin_client.post("/api/v1/admin/access-list", {"email": "b@example.com", "role": "agent"}), 400
    )

    assert (body["code"], body["detail"]) == (
        "user_limit_reached",
        "The Tiny plan allows 1 users: the user limit is reached.",
    )
    Plan.objects.filter(code="tiny").update(max_users=None)
    r = admin_client.post("/api/v1/admin/access-list", {"email": "b@example.com", "role": "agent"})
    assert r.status_code == 201, r.content


# --- plans API ---------------------------------------------------------------------------------------------


def test_staff_create_edit_and_delete_a_plan(staff_client, staff, org):
    r = staff_client.post(
        PLANS,
        {
            "code": "gold",
            "name": "Gold",
            "monthly_price": "499.00",
            "currency": "sar",
            "max_users": 50,
            "max_numbers": 5,
            "max_messages_per_month": 100000,
            "max_storage_bytes": 10 * 1024**3,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert {k: r.json()[k] for k in ("code", "monthly_price", "currency", "max_numbers", "subscribers")} == {
        "code": "gold",
        "monthly_price": "499.00",
        "currency": "SAR",
        "max_numbers": 5,
        "subscribers": 0,
    }
    assert staff_client.patch(f"{ORGS}/{org.pk}", {"plan": "gold"}, format="json").status_code == 200

    r = staff_client.patch(f"{PLANS}/gold", {"max_numbers": 6, "monthly_price": "450.50"}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["max_numbers"], r.json()["monthly_price"], r.json()["subscribers"]) == (6, "450.50", 1)
    assert assert_error(staff_client.patch(f"{PLANS}/gold", {"code": "x"}, format="json"), 400)["errors"] == {
        "code": ["Unknown field."]
    }
    assert assert_error(staff_client.patch(f"{PLANS}/gold", {"currency": "XYZ"}, format="json"), 400)["errors"]

    body = assert_error(staff_client.delete(f"{PLANS}/gold"), 409)
    assert body["code"] == "plan_in_use"
    assert Plan.objects.filter(code="gold").exists()
    staff_client.patch(f"{ORGS}/{org.pk}", {"plan": "pro"}, format="json")
    assert staff_client.delete(f"{PLANS}/gold").status_code == 204
    assert list(PlatformAuditLog.objects.filter(action__startswith="plan.").values_list("action", flat=True)) == [
        "plan.delete",
        "plan.update",
        "plan.create",
    ]


def test_an_inactive_plan_cannot_be_given(staff_client, org):
    Plan.objects.create(code="old", name="Old", is_active=False)

    body = assert_error(staff_client.patch(f"{ORGS}/{org.pk}", {"plan": "old"}, format="json"), 400)

    assert list(body["errors"]) == ["plan"]
    org.refresh_from_db()
    assert org.plan == "pro"


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_tenants_get_403_on_plans(who, org, admin_membership, agent_membership):
    client = client_for(admin_membership if who == "admin" else agent_membership)
    for method, url, data in [
        ("get", PLANS, None),
        ("post", PLANS, {"code": "evil", "name": "Evil"}),
        ("patch", f"{PLANS}/pro", {"max_users": None}),
        ("delete", f"{PLANS}/starter", None),
    ]:
        assert getattr(client, method)(url, data, format="json").status_code == 403
    assert Plan.objects.get(code="pro").max_users == 25
    assert not Plan.objects.filter(code="evil").exists()
    assert Plan.objects.filter(code="starter").exists()


# --- dashboard ---------------------------------------------------------------------------------------------


def test_the_dashboard_figures_hand_computed(staff_client, staff, frozen):
    Plan.objects.filter(code="pro").update(monthly_price=Decimal("100.00"), currency="USD")
    Plan.objects.filter(code="enterprise").update(monthly_price=Decimal("1000.00"), currency="USD")
    Plan.objects.create(code="riyal", name="Riyal", monthly_price=Decimal("50.00"), currency="SAR")
    acme = OrganizationFactory(name="Acme", plan="pro")
    OrganizationFactory(name="Beta", plan="pro")
    OrganizationFactory(name="Gamma", plan="enterprise")
    OrganizationFactory(name="Delta", plan="pro", status=Organization.Status.SUSPENDED)  # not paying
    OrganizationFactory(name="Epsilon", plan="starter")  # free
    OrganizationFactory(name="Zeta", plan="riyal")
    MembershipFactory(organization=acme, role=Role.ADMIN)
    MembershipFactory(organization=acme, role=Role.AGENT)
    cloud_number(acme)
    plans.usage_messages_reserve(organization=acme, count=7)
    plans.usage_storage_add(organization_id=acme.pk, delta=2048)

    body = staff_client.get(DASHBOARD).json()

    assert body["total_organizations"] == 6
    assert body["active_subscriptions"] == 4  # Acme, Beta (pro), Gamma (enterprise), Zeta (riyal)
    assert body["monthly_revenue"] == 1200.0  # 2 × 100 + 1000 USD; the SAR plan apart
    assert body["revenue_currency"] == "USD"
    assert body["monthly_revenue_by_currency"] == {"USD": 1200.0, "SAR": 50.0}
    assert body["messages_this_month"] == 7
    assert body["organizations_by_plan"] == {"starter": 1, "pro": 3, "enterprise": 1, "riyal": 1}
    assert body["usage"][0] == {
        "id": acme.pk,
        "name": "Acme",
        "plan": "pro",
        "status": "active",
        "messages_this_month": 7,
        "numbers": 1,
        "members": 2,
        "storage_bytes": 2048,
    }
    assert len(body["months"]) == 12
    assert body["months"][-1] == {
        "month": timezone.now().date().replace(day=1).isoformat(),
        "signups": 6,
        "messages": 7,
    }


def test_the_organization_list_shows_usage_and_owner(staff_client, org, admin_membership):
    cloud_number(org)
    plans.usage_messages_reserve(organization=org, count=3)

    row = staff_client.get(ORGS).json()["results"][0]

    assert (row["owner_email"], row["number_count"], row["messages_this_month"], row["storage_bytes"]) == (
        admin_membership.user.email,
        1,
        3,
        0,
    )


# --- pages -------------------------------------------------------------------------------------------------


PAGES = ["/platform/", "/platform/organizations/", "/platform/plans/", "/platform/plans/pro/"]


@pytest.mark.parametrize("url", PAGES)
def test_platform_pages_are_for_staff_only(url, org, admin_membership, staff_browser):
    assert signed_in(admin_membership).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    response = staff_browser.get(url)
    assert response.status_code == 200
    assert b"impersonation-banner" not in response.content


def test_a_non_staff_post_changes_nothing(org, other_org, admin_membership):
    browser = signed_in(admin_membership)

    assert browser.post(f"/platform/organizations/{other_org.pk}/status/", {"status": "suspended"}).status_code == 404
    assert (
        browser.post(f"/platform/organizations/{other_org.pk}/delete/", {"confirm_name": "Globex"}).status_code == 404
    )
    other_org.refresh_from_db()
    assert other_org.status == "active"


def test_staff_search_create_suspend_and_reactivate_in_pages(staff_browser, org, other_org, admin_membership, staff):
    page = staff_browser.get("/platform/organizations/", {"q": "glob"}).content.decode()
    assert "Globex" in page and "Acme" not in page

    r = staff_browser.post(
        "/platform/organizations/", {"name": "Initech", "admin_email": "b@initech.example", "plan": "starter"}
    )
    initech = Organization.objects.get(name="Initech")
    assert r.status_code == 302 and r.url == f"/platform/organizations/{initech.pk}/"
    assert Invitation.objects.for_org(initech).get().email == "b@initech.example"

    staff_browser.post(f"/platform/organizations/{org.pk}/status/", {"status": "suspended"})
    org.refresh_from_db()
    assert org.status == "suspended"
    assert client_for(admin_membership).get("/api/v1/organization").status_code == 401
    staff_browser.post(f"/platform/organizations/{org.pk}/status/", {"status": "active"})
    org.refresh_from_db()
    assert org.status == "active"
    assert [e.data for e in PlatformAuditLog.objects.filter(action="organization.status_change").order_by("id")] == [
        {"from": "active", "to": "suspended"},
        {"from": "suspended", "to": "active"},
    ]

    staff_browser.post(f"/platform/organizations/{org.pk}/plan/", {"plan": "enterprise"})
    org.refresh_from_db()
    assert org.plan == "enterprise"


def test_deleting_needs_the_exact_name_typed(staff_browser, org, staff):
    r = staff_browser.post(f"/platform/organizations/{org.pk}/delete/", {"confirm_name": "acme"})
    assert r.status_code == 200
    assert "That is not the organization&#x27;s name." in r.content.decode()
    assert Organization.objects.filter(pk=org.pk).exists()

    r = staff_browser.post(f"/platform/organizations/{org.pk}/delete/", {"confirm_name": "Acme"})

    assert r.status_code == 302
    assert not Organization.objects.filter(pk=org.pk).exists()
    entry = PlatformAuditLog.objects.get(action="organization.delete")
    assert (entry.actor, entry.organization_ref, entry.organization_name) == (staff, org.pk, "Acme")


def test_plans_page_creates_and_edits(staff_browser):
    r = staff_browser.post(
        "/platform/plans/",
        {
            "code": "gold",
            "name": "Gold",
            "monthly_price": "99",
            "currency": "EUR",
            "max_storage_mb": "100",
            "is_active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    gold = Plan.objects.get(code="gold")
    assert (gold.monthly_price, gold.currency, gold.max_storage_bytes, gold.max_users) == (
        Decimal("99.00"),
        "EUR",
        100 * 1024 * 1024,
        None,
    )
    r = staff_browser.post(
        "/platform/plans/gold/",
        {"code": "other", "name": "Gold+", "monthly_price": "120", "currency": "EUR", "max_users": "9"},
    )
    gold.refresh_from_db()
    assert (gold.code, gold.name, gold.max_users, gold.is_active, gold.max_storage_bytes) == (
        "gold",
        "Gold+",
        9,
        False,
        None,
    )


# --- impersonation -----------------------------------------------------------------------------------------


def _impersonate(staff_browser, org):
    r = staff_browser.post(f"/platform/organizations/{org.pk}/impersonate/")
    assert r.status_code == 302
    return staff_browser


def test_impersonation_is_audited_and_shows_a_banner(staff_browser, staff, org, admin_membership):
    browser = _impersonate(staff_browser, org)

    page = browser.get("/settings/team/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="impersonation-banner"' in html
    assert admin_membership.user.email in html  # the organization's team, as its admin sees it
    start = AuditLog.objects.for_org(org).get(action="impersonation.start")
    assert (start.actor, start.data["read_only"]) == (staff, True)
    assert (
        PlatformAuditLog.objects.filter(action="impersonation.start", organization_ref=org.pk, actor=staff).count() == 1
    )

    browser.post("/platform/impersonation/stop/")

    assert AuditLog.objects.for_org(org).filter(action="impersonation.stop", actor=staff).count() == 1
    assert b"impersonation-banner" not in browser.get("/platform/").content


def test_impersonation_is_read_only_on_pages_and_api(staff_browser, org, admin_membership):
    browser = _impersonate(staff_browser, org)

    page = browser.post("/settings/teams/", {"name": "Intruders"})
    api = browser.post("/api/v1/teams", {"name": "Intruders"}, content_type="application/json")
    patch = browser.patch("/api/v1/organization", {"name": "Owned"}, content_type="application/json")
    platform_write = browser.post(f"/platform/organizations/{org.pk}/status/", {"status": "suspended"})

    assert page.status_code == 403 and "Read-only" in page.content.decode()
    assert api.status_code == 403 and api.json()["code"] == "impersonation_read_only"
    assert patch.status_code == 403
    assert platform_write.status_code == 403
    assert not Team.objects.exists()
    org.refresh_from_db()
    assert (org.name, org.status) == ("Acme", "active")
    assert browser.get("/api/v1/organization").json()["name"] == "Acme"  # reads work, as the admin


def test_impersonation_ends_after_its_time_limit(staff_browser, staff, org, frozen):
    browser = _impersonate(staff_browser, org)
    frozen.shift(impersonation.IMPERSONATION_TTL + timedelta(seconds=1))

    page = browser.get("/platform/")

    assert b"impersonation-banner" not in page.content
    stop = AuditLog.objects.for_org(org).get(action="impersonation.stop")
    assert stop.data["reason"] == "expired"
    assert browser.post("/platform/plans/", {"code": "x"}).status_code == 200  # writable again (a form error)


def test_impersonating_needs_staff(org, other_org, admin_membership):
    browser = signed_in(admin_membership)

    assert browser.post(f"/platform/organizations/{other_org.pk}/impersonate/").status_code == 404
    assert not AuditLog.objects.filter(action="impersonation.start").exists()
    assert impersonation.SESSION_KEY not in browser.session


def test_an_impersonating_socket_cannot_send(org):
    conversation = open_conversation(org, number=cloud_number(org))
    principal = Principal(organization=org, role=Role.ADMIN, user=UserFactory(is_staff=True), read_only=True)

    with pytest.raises(ServiceError) as refused:
        _send_message(principal, conversation.pk, "hello")

    assert (refused.value.status_code, refused.value.code) == (403, "impersonation_read_only")
    assert not Message.objects.filter(organization=org).exists()
