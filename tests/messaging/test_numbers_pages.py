"""Settings, WhatsApp numbers pages (admins): the list, connecting Cloud API, WAHA and sandbox numbers through the
numbers service, a number's page (settings, secrets replaced never revealed, assignment, deletion confirmed by name),
the WAHA session page and the API calls its module makes with the browser session, against the fake WAHA."""

import re

import pytest
from django.test import Client

from accounts.models import AuditLog, Team
from messaging.models import WhatsAppNumber
from tests.conftest import signed_in
from tests.factories import MembershipFactory
from tests.fakes.waha import QR_PNG
from tests.messaging.factories import WhatsAppNumberFactory

LIST = "/settings/numbers/"
HUB = "https://hub.example.com"
PUBLIC_ONLY = (
    "The host must resolve to public addresses only; a private service needs the hub&#x27;s operator to allow it."
)
CLOUD_FORM = {
    "display_name": "Sales",
    "phone_number": "+966 50 123 4567",
    "phone_number_id": "109876543210",
    "waba_id": "209876543210",
    "access_token": "EAAG-the-access-token-0001",
    "app_secret": "the-app-secret-0002",
    "verify_token": "",
}


def page(number, path: str = "") -> str:
    return f"/settings/numbers/{number.pk}/{path}"


def html(response) -> str:
    return response.content.decode()


def field_errors(response, field: str) -> list[str]:
    """The messages shown under a field (numbers_field.html: `<ul class="error" id="id_<field>_error">`)."""
    block = re.search(rf'<ul class="error" id="id_{field}_error">(.*?)</ul>', html(response), re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


def options(response, field: str) -> int:
    return re.search(rf'<select name="{field}".*?</select>', html(response), re.S).group(0).count("<option ")


@pytest.fixture
def admin(admin_membership) -> Client:
    return signed_in(admin_membership)


@pytest.fixture
def hub_url(settings):
    settings.PUBLIC_BASE_URL = HUB


def waha_number(org, fake_waha, **fields) -> WhatsAppNumber:
    """A WAHA number on the hub's WAHA (the fake), its session not created there yet."""
    defaults = {
        "provider": "waha",
        "phone_number": "",
        "phone_number_id": "",
        "waba_id": "",
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
        "waha_session": f"org{org.pk}-web",
        "waha_api_key": fake_waha.api_key,
        "waha_webhook_hmac_key": "hmac-key-of-the-number",
        "status": "pending",
        "session_status": "STOPPED",
    }
    return WhatsAppNumberFactory(organization=org, **{**defaults, **fields})


# --- who may see the pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("membership", ["agent_membership", "marketing_membership"])
def test_only_admins_get_the_pages(membership, request, org, client):
    number = WhatsAppNumberFactory(organization=org, provider="waha", waha_session="web")
    member = signed_in(request.getfixturevalue(membership))
    paths = [LIST, f"{LIST}new/", f"{LIST}new/cloud/", page(number), page(number, "session/")]

    for path in paths:
        response = member.get(path)
        assert response.status_code == 403, path
        assert "This page is for admins of Acme. Ask one of them for access." in html(response)
    refused = member.post(page(number, "delete/"), {"confirm_name": number.display_name})
    assert refused.status_code == 403
    assert WhatsAppNumber.objects.live().count() == 1
    assert client.get(LIST)["Location"] == f"/sign-in/?next={LIST}"


def test_another_organizations_number_is_not_found_and_stays_as_it_is(admin, other_org, outsider_membership):
    theirs = WhatsAppNumberFactory(organization=other_org, display_name="Theirs", provider="waha", waha_session="web")

    for path in ("", "session/"):
        response = admin.get(page(theirs, path))
        assert response.status_code == 404
        assert "This item does not exist, or it has been deleted." in html(response)
    assert admin.post(page(theirs), {"display_name": "Mine now"}).status_code == 404
    assert admin.post(page(theirs, "assign/"), {"user_id": ""}).status_code == 404
    assert admin.post(page(theirs, "delete/"), {"confirm_name": "Theirs"}).status_code == 404
    assert "Theirs" not in html(admin.get(LIST))
    theirs.refresh_from_db()
    assert (theirs.display_name, theirs.deleted_at) == ("Theirs", None)
    assert not AuditLog.objects.exists()


def test_an_id_too_large_for_the_database_is_not_found(admin):
    assert admin.get("/settings/numbers/9999999999999999999/").status_code == 404


# --- the list -------------------------------------------------------------------------------------------


def test_the_empty_list_invites_to_connect_a_number(admin):
    response = admin.get(LIST)

    assert response.status_code == 200
    assert "No WhatsApp number yet" in html(response)
    assert 'href="/settings/numbers/new/"' in html(response)
    assert 'class="tab is-current" href="/settings/numbers/" aria-current="page"' in html(response)


def test_the_list_shows_each_number_once_in_a_fixed_number_of_queries(
    org, other_org, admin, admin_membership, django_assert_num_queries
):
    team = Team.objects.create(organization=org, name="Riyadh team")
    WhatsAppNumberFactory(organization=org, display_name="Main line", phone_number="+966501234567", is_primary=True)
    WhatsAppNumberFactory(
        organization=org, display_name="Web line", provider="waha", status="pending", session_status="SCAN_QR_CODE"
    )
    WhatsAppNumberFactory(
        organization=org, display_name="Demo", provider="sandbox", assigned_user=admin_membership.user
    )
    WhatsAppNumberFactory(organization=org, display_name="Team line", assigned_team=team)
    WhatsAppNumberFactory(organization=org, display_name="Gone", deleted_at="2026-01-01T00:00:00Z")
    WhatsAppNumberFactory(organization=other_org, display_name="Globex line")

    # session, its recorded browser session (accounts.sessions), user, membership, numbers, the switcher's memberships,
    # the rail's custom pages
    with django_assert_num_queries(7):
        response = admin.get(LIST)

    text = html(response)
    rows = re.findall(r'<a href="/settings/numbers/\d+/" dir="auto">(.*?)</a>', text)
    assert rows == ["Main line", "Demo", "Team line", "Web line"]
    assert '<span class="ltr">+966501234567</span>' in text
    assert "Waiting for the QR code to be scanned" in text
    assert admin_membership.user.name in text
    assert "Riyadh team" in text
    assert text.count(">Primary<") == 1
    assert "Gone" not in text and "Globex line" not in text

    for _ in range(4):
        WhatsAppNumberFactory(organization=org, assigned_team=team, assigned_user=admin_membership.user)
    with django_assert_num_queries(7):
        admin.get(LIST)


# --- connecting numbers ---------------------------------------------------------------------------------


def test_connecting_a_cloud_number_shows_the_webhook_url_and_the_generated_verify_token_once(org, admin, hub_url):
    response = admin.post(f"{LIST}new/cloud/", CLOUD_FORM)

    number = WhatsAppNumber.objects.get()
    assert response.status_code == 200
    assert (number.display_name, number.provider, number.phone_number) == ("Sales", "cloud", "+966501234567")
    assert (number.access_token, number.app_secret) == (CLOUD_FORM["access_token"], CLOUD_FORM["app_secret"])
    assert len(number.verify_token) >= 32
    text = html(response)
    webhook_url = f"{HUB}/webhooks/meta/{org.pk}/phone/109876543210/"
    assert f'id="webhook-url" value="{webhook_url}"' in text
    assert f'id="verify-token" value="{number.verify_token}"' in text
    assert 'data-copy="webhook-url"' in text and 'data-copy="verify-token"' in text
    assert CLOUD_FORM["access_token"] not in text and CLOUD_FORM["app_secret"] not in text
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["number.create"]

    later = html(admin.get(page(number)))
    assert webhook_url in later
    assert f"...{number.verify_token[-4:]}" in later and f"...{CLOUD_FORM['access_token'][-4:]}" in later
    for secret in (number.verify_token, number.access_token, number.app_secret):
        assert secret not in later


def test_a_chosen_verify_token_is_kept(admin):
    admin.post(f"{LIST}new/cloud/", {**CLOUD_FORM, "verify_token": "my-own-verify-token"})

    assert WhatsAppNumber.objects.get().verify_token == "my-own-verify-token"


def test_the_service_refusals_are_shown_next_to_their_fields_and_secrets_are_not_sent_back(org, admin):
    WhatsAppNumberFactory(organization=org, phone_number_id="109876543210")

    bad_id = admin.post(f"{LIST}new/cloud/", {**CLOUD_FORM, "waba_id": "WABA-1"})
    duplicate = admin.post(f"{LIST}new/cloud/", CLOUD_FORM)
    missing = admin.post(f"{LIST}new/cloud/", {**CLOUD_FORM, "access_token": ""})

    assert field_errors(bad_id, "waba_id") == ["Meta&#x27;s ids are digits."]
    assert field_errors(duplicate, "phone_number_id") == [
        "Another number of this organization has this phone_number_id."
    ]
    assert field_errors(missing, "access_token") == ["This field is required."]
    for response in (bad_id, duplicate, missing):
        assert response.status_code == 200
        assert CLOUD_FORM["access_token"] not in html(response) and CLOUD_FORM["app_secret"] not in html(response)
        assert 'value="Sales"' in html(response)
    assert WhatsAppNumber.objects.count() == 1


def test_connecting_a_waha_number_creates_its_session_and_opens_the_session_page(
    org, admin, fake_waha, hub_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"{LIST}new/waha/", {"display_name": "Web", "waha_api_key": fake_waha.api_key})

    number = WhatsAppNumber.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(number, "session/")
    assert (number.provider, number.status, number.session_status) == ("waha", "pending", "STOPPED")
    assert number.waha_session.startswith(f"org{org.pk}-")
    assert fake_waha.session(number.waha_session).config["webhooks"][0]["url"] == f"{HUB}/webhooks/waha/{org.pk}/"

    session_page = html(admin.get(response["Location"]))
    assert f'data-session-url="/api/v1/numbers/{number.pk}/session"' in session_page
    assert f'data-qr-url="/api/v1/numbers/{number.pk}/qr"' in session_page
    assert "Web was added: start its session and link the phone." in session_page
    assert fake_waha.api_key not in session_page and number.waha_webhook_hmac_key not in session_page


def test_a_waha_url_refused_by_the_egress_policy_shows_the_hubs_message(admin):
    response = admin.post(f"{LIST}new/waha/", {"display_name": "Web", "waha_base_url": "http://10.0.0.5:3000"})

    assert field_errors(response, "waha_base_url") == [PUBLIC_ONLY]
    assert 'value="http://10.0.0.5:3000"' in html(response)
    assert not WhatsAppNumber.objects.exists()


def test_a_sandbox_number_is_explained_and_added(admin):
    chooser = html(admin.get(f"{LIST}new/"))
    response = admin.post(f"{LIST}new/sandbox/", {"display_name": "Try it", "phone_number": ""})

    number = WhatsAppNumber.objects.get()
    assert "From the inbox you play the customer" in chooser
    assert (number.provider, number.is_primary) == ("sandbox", True)
    assert response["Location"] == page(number)
    assert "play the customer" in html(admin.get(page(number)))


def test_an_unknown_provider_is_not_found(admin):
    assert admin.get(f"{LIST}new/telegram/").status_code == 404


# --- a WAHA session, as its page's module runs it --------------------------------------------------------


def test_the_session_page_s_module_runs_the_session_with_the_browser_session(org, admin_membership, fake_waha):
    number = waha_number(org, fake_waha)
    browser = signed_in(admin_membership)
    browser.handler.enforce_csrf_checks = True
    token = re.search(r'name="csrf-token" content="([^"]+)"', html(browser.get(page(number, "session/")))).group(1)

    start = f"/api/v1/numbers/{number.pk}/session/start"
    refused = browser.post(start, content_type="application/json")
    started = browser.post(start, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    status = browser.get(f"/api/v1/numbers/{number.pk}/session")
    qr = browser.get(f"/api/v1/numbers/{number.pk}/qr", HTTP_ACCEPT="image/png, application/json")
    fake_waha.scan_qr(number.waha_session, phone="966501234567")
    working = browser.get(f"/api/v1/numbers/{number.pk}/session")

    assert refused.status_code == 403
    assert (started.status_code, started.json()["status"]) == (200, "STARTING")
    assert status.json()["status"] == "SCAN_QR_CODE"
    assert (qr.status_code, qr["Content-Type"], qr.content) == (200, "image/png", QR_PNG)
    assert working.json()["status"] == "WORKING"
    number.refresh_from_db()
    assert (number.status, number.phone_number) == ("active", "+966501234567")
    assert "Connected" in html(browser.get(LIST))


def test_only_waha_numbers_have_a_session_page(org, admin):
    assert admin.get(page(WhatsAppNumberFactory(organization=org), "session/")).status_code == 404


# --- a number's page ------------------------------------------------------------------------------------


def test_a_number_s_page_reads_people_and_teams_in_a_fixed_number_of_queries(org, admin, django_assert_num_queries):
    number = WhatsAppNumberFactory(organization=org)
    team = Team.objects.create(organization=org, name="Support")
    # session, its recorded browser session, user, membership, number, the switcher's memberships, the rail's custom
    # pages, members, teams, teams' members; and the fields
    # automation adds (messaging/extensions.py): the number's bot and flow, the bots and flows to choose from
    with django_assert_num_queries(13):
        admin.get(page(number))

    for _ in range(3):
        member = MembershipFactory(organization=org)
        team.members.add(member.user, through_defaults={"organization": org})
        Team.objects.create(organization=org, name=f"Team of {member.user.name}")
    with django_assert_num_queries(13):
        response = admin.get(page(number))
    assert options(response, "user_id") == 1 + 4  # nobody, the admin and 3 members
    assert options(response, "team_id") == 1 + 4  # no team, and 4


def test_saving_keeps_secrets_left_blank_and_replaces_those_typed(org, admin):
    number = WhatsAppNumberFactory(organization=org, display_name="Sales", throughput=80)
    token, verify = number.access_token, number.verify_token
    form = {
        "display_name": "Sales KSA",
        "phone_number": number.phone_number,
        "throughput": "250",
        "phone_number_id": number.phone_number_id,
        "waba_id": number.waba_id,
        "access_token": "",
        "app_secret": "a-brand-new-app-secret",
        "verify_token": "",
    }

    response = admin.post(page(number), form)

    assert response["Location"] == page(number)
    number.refresh_from_db()
    assert (number.display_name, number.throughput) == ("Sales KSA", 250)
    assert (number.access_token, number.app_secret, number.verify_token) == (token, "a-brand-new-app-secret", verify)
    assert AuditLog.objects.get().data == {"changed": ["app_secret", "display_name", "throughput"]}
    assert "a-brand-new-app-secret" not in html(admin.get(page(number)))


def test_a_refused_change_is_shown_next_to_its_field_and_changes_nothing(org, admin, fake_waha):
    number = waha_number(org, fake_waha, display_name="Web")

    too_fast = admin.post(page(number), {"display_name": "Web", "throughput": "5000", "waha_api_key": "new-key"})
    private = admin.post(page(number), {"display_name": "Web", "waha_base_url": "http://169.254.169.254/"})

    assert field_errors(too_fast, "throughput") == ["Ensure this value is less than or equal to 1000."]
    assert "new-key" not in html(too_fast)
    assert 'id="id_waha_api_key_new">' in html(too_fast)  # the secret being replaced stays open, to type again
    assert field_errors(private, "waha_base_url") == [PUBLIC_ONLY]
    number.refresh_from_db()
    assert (number.throughput, number.waha_api_key, number.waha_base_url) == (80, fake_waha.api_key, "")
    assert not AuditLog.objects.exists()


def test_making_a_number_primary_moves_the_badge(org, admin):
    first = WhatsAppNumberFactory(organization=org, display_name="First", is_primary=True)
    second = WhatsAppNumberFactory(organization=org, display_name="Second")
    form = {"display_name": "Second", "phone_number_id": second.phone_number_id, "waba_id": second.waba_id}

    admin.post(page(second), {**form, "is_primary": "on"})

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)
    assert 'name="is_primary"' not in html(admin.get(page(second)))
    assert 'name="is_primary"' in html(admin.get(page(first)))


def test_assigning_a_number_to_a_person_and_a_team(org, admin, agent_membership, outsider_membership):
    number = WhatsAppNumberFactory(organization=org)
    team = Team.objects.create(organization=org, name="Support")
    detail = html(admin.get(page(number)))

    saved = admin.post(page(number, "assign/"), {"user_id": agent_membership.user_id, "team_id": team.pk})
    stranger = admin.post(page(number, "assign/"), {"user_id": outsider_membership.user_id, "team_id": ""})

    assert "The assignment decides who sees this number's conversations" in detail
    assert f'<option value="{agent_membership.user_id}">' in detail and f'<option value="{team.pk}">Support' in detail
    assert saved["Location"] == page(number)
    assert field_errors(stranger, "user_id") == ["No active member of this organization has this id."]
    number.refresh_from_db()
    assert (number.assigned_user_id, number.assigned_team_id) == (agent_membership.user_id, team.pk)

    admin.post(page(number, "assign/"), {"user_id": "", "team_id": ""})
    number.refresh_from_db()
    assert (number.assigned_user_id, number.assigned_team_id) == (None, None)


def test_a_deactivated_member_is_labelled_in_the_choice(org, admin):
    gone = MembershipFactory(organization=org, is_active=False, user__name="Old Agent")
    number = WhatsAppNumberFactory(organization=org)

    assert f'<option value="{gone.user_id}">Old Agent (deactivated)</option>' in html(admin.get(page(number)))


def test_deleting_needs_the_number_s_name_typed(org, admin):
    number = WhatsAppNumberFactory(organization=org, display_name="Sales", is_primary=True)
    other = WhatsAppNumberFactory(organization=org, display_name="Support")

    refused = admin.post(page(number, "delete/"), {"confirm_name": "sales"})
    number.refresh_from_db()
    assert field_errors(refused, "confirm_name") == ["This is not the number&#x27;s name."]
    assert number.deleted_at is None

    deleted = admin.post(page(number, "delete/"), {"confirm_name": "Sales"})

    assert deleted["Location"] == LIST
    number.refresh_from_db()
    other.refresh_from_db()
    assert number.deleted_at is not None and other.is_primary
    assert "Sales was deleted." in html(admin.get(LIST, follow=True))
    assert admin.get(page(number)).status_code == 404
