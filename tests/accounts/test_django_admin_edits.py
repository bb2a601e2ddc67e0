"""Edits in the Django admin go through the services: numbers (checks, secrets, the webhook secret cache, the WAHA
session's sync, an audit entry with the staff user as actor), organizations (plan, suspension, settings),
memberships (role and activation: last admin, seats, live tokens) and invitations (made and revoked, not edited);
a service's refusal is a form error, never a 500, and undoes the whole save. Memberships are not added by hand.
The audit log is read-only."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import AuditLog, Invitation, Membership, Organization, Role
from accounts.org_settings import OPT_OUT_FLOOR
from messaging.models import WhatsAppNumber
from tests.accounts.test_org_admin import ORGANIZATION, TEAM, fill_to
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.inbox_support import cloud_number, waha_number
from tests.messaging.ingest_support import APP_SECRET, cloud_numbers, meta_payload, post_meta

STAFF_EMAIL = "root@platform.example"


def _staff():
    return get_user_model().objects.get(email=STAFF_EMAIL)


def _form_data(response, **changes) -> dict:
    """What a browser posts back from an admin form page, with `changes` typed in: every field's current value
    and each inline's management form."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({formset.management_form.add_prefix(k): v for k, v in formset.management_form.initial.items()})
        for inline_form in formset.forms:
            data.update({inline_form.add_prefix(k): inline_form[k].value() for k in inline_form.fields})
    for name, value in changes.items():
        if value is None or value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    return {name: value for name, value in data.items() if value is not None}


def _add(staff_browser, model: str, django_capture_on_commit_callbacks, **typed):
    url = reverse(f"admin:{model}_add")
    data = _form_data(staff_browser.get(url), **typed)
    with django_capture_on_commit_callbacks(execute=True):
        return staff_browser.post(url, data)


def _change(staff_browser, model: str, obj, django_capture_on_commit_callbacks, **typed):
    url = reverse(f"admin:{model}_change", args=[obj.pk])
    data = _form_data(staff_browser.get(url), **typed)
    with django_capture_on_commit_callbacks(execute=True):
        return staff_browser.post(url, data)


def _errors(response) -> dict:
    """The form's errors by field ("__all__": the form's own), as the page shows them."""
    assert response.status_code == 200, response.status_code  # the form again, not a redirect (nor a 500)
    form = response.context["adminform"].form
    return {name: list(messages) for name, messages in form.errors.items()}


# --- numbers ---------------------------------------------------------------------------------------------


def test_a_waha_number_created_in_the_admin_gets_a_key_a_session_and_an_audit_entry(
    staff_browser, org, fake_waha, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"

    response = _add(
        staff_browser,
        "messaging_whatsappnumber",
        django_capture_on_commit_callbacks,
        organization=org.pk,
        display_name=" Web line ",
        provider="waha",
        waha_api_key=fake_waha.api_key,
    )

    assert response.status_code == 302, _errors(response)
    number = WhatsAppNumber.objects.get()
    assert (number.display_name, number.status, number.is_primary) == ("Web line", "pending", True)
    assert number.waha_session.startswith(f"org{org.pk}-")
    assert len(number.waha_webhook_hmac_key) >= 40
    [hook] = fake_waha.session(number.waha_session).config["webhooks"]
    assert (hook["url"], hook["hmac"]) == (
        f"https://hub.example.com/webhooks/waha/{org.pk}/",
        {"key": number.waha_webhook_hmac_key},
    )
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.target_id) == ("number.create", _staff(), str(number.pk))


def test_a_cloud_number_without_its_secrets_is_a_form_error_and_nothing_is_created(
    staff_browser, org, django_capture_on_commit_callbacks
):
    response = _add(
        staff_browser,
        "messaging_whatsappnumber",
        django_capture_on_commit_callbacks,
        organization=org.pk,
        display_name="Cloud",
        provider="cloud",
        phone_number_id="106540352242922",
        waba_id="102290129340398",
        access_token="EAAG-typed-token",
    )

    required = ["This field is required for cloud numbers."]
    assert _errors(response) == {"app_secret": required, "verify_token": required}
    assert WhatsAppNumber.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_secrets_typed_in_the_admin_are_stored_and_never_shown_again(
    staff_browser, org, django_capture_on_commit_callbacks
):
    response = _add(
        staff_browser,
        "messaging_whatsappnumber",
        django_capture_on_commit_callbacks,
        organization=org.pk,
        display_name="Cloud",
        provider="cloud",
        phone_number_id="106540352242922",
        waba_id="102290129340398",
        access_token="EAAG-typed-token-1234",
        app_secret="typed-app-secret-5678",
        verify_token="typed-verify-token-9012",
    )

    assert response.status_code == 302, _errors(response)
    number = WhatsAppNumber.objects.get()
    assert (number.access_token, number.app_secret, number.verify_token) == (
        "EAAG-typed-token-1234",
        "typed-app-secret-5678",
        "typed-verify-token-9012",
    )
    page = staff_browser.get(reverse("admin:messaging_whatsappnumber_change", args=[number.pk])).content.decode()
    assert "typed-app-secret" not in page and "EAAG-typed-token" not in page
    assert "app_secret: ...5678" in page


def test_a_blank_secret_keeps_the_stored_one(staff_browser, org, django_capture_on_commit_callbacks):
    number = cloud_number(org, app_secret="kept-app-secret")

    response = _change(
        staff_browser, "messaging_whatsappnumber", number, django_capture_on_commit_callbacks, display_name="Sales"
    )

    assert response.status_code == 302, _errors(response)
    number.refresh_from_db()
    assert (number.display_name, number.app_secret) == ("Sales", "kept-app-secret")
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.data) == ("number.update", _staff(), {"changed": ["display_name"]})


def test_an_app_secret_replaced_in_the_admin_stops_verifying_webhooks_at_once(
    client, staff_browser, org, django_capture_on_commit_callbacks
):
    number, _ = cloud_numbers(org)
    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200  # the secret is now kept

    response = _change(
        staff_browser,
        "messaging_whatsappnumber",
        number,
        django_capture_on_commit_callbacks,
        app_secret="the-new-app-secret",
    )

    assert response.status_code == 302, _errors(response)
    assert post_meta(client, org.pk, meta_payload("reaction"), secret=APP_SECRET).status_code == 401
    assert post_meta(client, org.pk, meta_payload("reaction"), secret="the-new-app-secret").status_code == 200


def test_a_waha_key_rotated_in_the_admin_reaches_the_session_on_waha(
    staff_browser, org, fake_waha, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    number = waha_number(org, waha_session=f"org{org.pk}-web")
    fake_waha.add_session(number.waha_session)

    response = _change(
        staff_browser,
        "messaging_whatsappnumber",
        number,
        django_capture_on_commit_callbacks,
        waha_webhook_hmac_key="rotated-in-the-admin",
    )

    assert response.status_code == 302, _errors(response)
    [hook] = fake_waha.session(number.waha_session).config["webhooks"]
    assert hook["hmac"] == {"key": "rotated-in-the-admin"}
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.actor, entry.data) == (_staff(), {"changed": ["waha_webhook_hmac_key"]})


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ({"phone_number_id": "10654-0352"}, {"phone_number_id": ["Meta's ids are digits."]}),
        ({"waba_id": "waba 1"}, {"waba_id": ["Meta's ids are digits."]}),
        ({"throughput": "0"}, {"throughput": ["Ensure this value is greater than or equal to 1."]}),
        ({"throughput": "5000"}, {"throughput": ["Ensure this value is less than or equal to 1000."]}),
        ({"app_secret": "s" * 1025}, {"app_secret": ["Ensure this field has no more than 1024 characters."]}),
    ],
    ids=["phone-number-id", "waba-id", "throughput-low", "throughput-high", "secret-length"],
)
def test_a_cloud_number_of_the_wrong_format_is_a_form_error_as_in_the_api(
    staff_browser, org, typed, errors, django_capture_on_commit_callbacks
):
    response = _add(
        staff_browser,
        "messaging_whatsappnumber",
        django_capture_on_commit_callbacks,
        **{
            "organization": org.pk,
            "display_name": "Cloud",
            "provider": "cloud",
            "phone_number_id": "106540352242922",
            "waba_id": "102290129340398",
            "access_token": "EAAG-typed-token",
            "app_secret": "typed-app-secret",
            "verify_token": "typed-verify-token",
            **typed,
        },
    )

    assert _errors(response) == errors
    assert WhatsAppNumber.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_a_waha_session_name_the_api_refuses_is_refused_in_the_admin_too(
    staff_browser, org, django_capture_on_commit_callbacks
):
    number = waha_number(org, waha_session=f"org{org.pk}-web")

    created = _add(
        staff_browser,
        "messaging_whatsappnumber",
        django_capture_on_commit_callbacks,
        organization=org.pk,
        display_name="Web",
        provider="waha",
        waha_session="../sessions",
    )
    changed = _change(
        staff_browser,
        "messaging_whatsappnumber",
        number,
        django_capture_on_commit_callbacks,
        waha_session="web/../../other",
    )

    message = ["Up to 64 letters, digits, '-' and '_', starting with a letter or a digit."]
    assert (_errors(created), _errors(changed)) == ({"waha_session": message}, {"waha_session": message})
    assert list(WhatsAppNumber.objects.values_list("waha_session", flat=True)) == [f"org{org.pk}-web"]
    assert AuditLog.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        (
            {"is_primary": False},
            {"is_primary": ["The primary number stays primary until another number is made primary."]},
        ),
        ({"waha_session": "web"}, {"waha_session": ["Does not apply to cloud numbers."]}),
        ({"phone_number_id": ""}, {"phone_number_id": ["This field is required for cloud numbers."]}),
    ],
    ids=["unset-primary", "foreign-field", "blank-required"],
)
def test_a_refused_change_is_a_form_error_and_changes_nothing(
    staff_browser, org, typed, errors, django_capture_on_commit_callbacks
):
    number = cloud_number(org, is_primary=True, display_name="Main")

    response = _change(
        staff_browser,
        "messaging_whatsappnumber",
        number,
        django_capture_on_commit_callbacks,
        display_name="Renamed",
        **typed,
    )

    assert _errors(response) == errors
    number.refresh_from_db()
    assert (number.display_name, number.is_primary, number.waha_session) == ("Main", True, "")
    assert AuditLog.objects.count() == 0


def test_an_assignment_made_in_the_admin_is_checked_and_audited(
    staff_browser, org, other_org, admin_membership, outsider_membership, django_capture_on_commit_callbacks
):
    number = cloud_number(org)

    refused = _change(
        staff_browser,
        "messaging_whatsappnumber",
        number,
        django_capture_on_commit_callbacks,
        assigned_user=outsider_membership.user_id,
    )
    assert _errors(refused) == {"assigned_user": ["No active member of this organization has this id."]}
    accepted = _change(
        staff_browser,
        "messaging_whatsappnumber",
        number,
        django_capture_on_commit_callbacks,
        assigned_user=admin_membership.user_id,
    )

    assert accepted.status_code == 302, _errors(accepted)
    number.refresh_from_db()
    assert number.assigned_user == admin_membership.user
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor) == ("number.assign", _staff())


def test_numbers_are_not_deleted_in_the_admin(staff_browser, org):
    number = cloud_number(org)

    response = staff_browser.post(reverse("admin:messaging_whatsappnumber_delete", args=[number.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert WhatsAppNumber.objects.live().count() == 1


# --- organizations -----------------------------------------------------------------------------------------


def test_an_organization_created_in_the_admin_invites_its_first_admin(
    staff_browser, db, django_capture_on_commit_callbacks
):
    response = _add(
        staff_browser,
        "accounts_organization",
        django_capture_on_commit_callbacks,
        name=" Initech ",
        plan="pro",
        admin_email="Boss@Initech.example",
    )

    assert response.status_code == 302, _errors(response)
    organization = Organization.objects.get()
    assert (organization.name, organization.slug, organization.plan) == ("Initech", "initech", "pro")
    invitation = Invitation.objects.for_org(organization).get()
    assert (invitation.email, invitation.role) == ("boss@initech.example", "admin")
    assert [message.to for message in mail.outbox] == [["boss@initech.example"]]
    assert list(AuditLog.objects.for_org(organization).order_by("id").values_list("action", "actor__email")) == [
        ("organization.create", STAFF_EMAIL),
        ("invitation.create", STAFF_EMAIL),
    ]


def test_an_organization_needs_its_first_admins_email(staff_browser, db, django_capture_on_commit_callbacks):
    response = _add(staff_browser, "accounts_organization", django_capture_on_commit_callbacks, name="Initech")

    assert _errors(response) == {"admin_email": ["This field is required."]}
    assert Organization.objects.count() == 0


def test_suspending_in_the_admin_goes_through_the_service(
    staff_browser, org, admin_membership, django_capture_on_commit_callbacks
):
    member = client_for(admin_membership)
    assert member.get("/api/v1/organization").status_code == 200

    response = _change(
        staff_browser, "accounts_organization", org, django_capture_on_commit_callbacks, status="suspended"
    )

    assert response.status_code == 302, _errors(response)
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.data) == (
        "organization.status_change",
        _staff(),
        {"from": "active", "to": "suspended"},
    )
    assert member.get("/api/v1/organization").status_code in (401, 403)


def test_a_plan_change_in_the_admin_is_audited(staff_browser, org, django_capture_on_commit_callbacks):
    response = _change(
        staff_browser, "accounts_organization", org, django_capture_on_commit_callbacks, plan="enterprise"
    )

    assert response.status_code == 302, _errors(response)
    org.refresh_from_db()
    assert org.plan == "enterprise"
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.data) == ("organization.update", _staff(), {"plan": "enterprise"})


def test_settings_edited_in_the_admin_follow_the_schema(staff_browser, org, django_capture_on_commit_callbacks):
    org.settings = {"locale": "en", "timezone": "UTC"}
    org.save()

    response = _change(
        staff_browser,
        "accounts_organization",
        org,
        django_capture_on_commit_callbacks,
        settings='{"locale": "ar", "opt_out_keywords": ["halt"]}',
    )

    assert response.status_code == 302, _errors(response)
    org.refresh_from_db()
    assert org.settings == {"locale": "ar", "opt_out_keywords": [*OPT_OUT_FLOOR, "halt"]}
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.data) == ("organization.update", _staff(), {"fields": ["settings"]})


@pytest.mark.parametrize(
    ("settings_text", "errors"),
    [
        ('{"colour": "green"}', {"settings": ["colour: Unknown setting."]}),
        ('{"locale": "fr"}', {"settings": ["locale: Must be one of: en, ar."]}),
        ('["stop"]', {"settings": ["Must be an object."]}),
    ],
)
def test_a_refused_setting_is_a_form_error_and_undoes_the_whole_save(
    staff_browser, org, settings_text, errors, django_capture_on_commit_callbacks
):
    response = _change(
        staff_browser,
        "accounts_organization",
        org,
        django_capture_on_commit_callbacks,
        name="Renamed",
        status="suspended",
        settings=settings_text,
    )

    assert _errors(response) == errors
    org.refresh_from_db()
    assert (org.name, org.status, org.settings) == ("Acme", "active", {})
    assert AuditLog.objects.count() == 0


# --- memberships -----------------------------------------------------------------------------------------


def test_a_role_changed_in_the_admin_is_audited_and_applies_to_the_members_live_token(
    staff_browser, org, admin_membership, agent_membership, django_capture_on_commit_callbacks
):
    member = client_for(agent_membership)
    assert member.get(TEAM).status_code == 403

    response = _change(
        staff_browser, "accounts_membership", agent_membership, django_capture_on_commit_callbacks, role="admin"
    )

    assert response.status_code == 302, _errors(response)
    agent_membership.refresh_from_db()
    assert (agent_membership.role, agent_membership.is_active) == ("admin", True)
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.target_id, entry.data) == (
        "member.role_change",
        _staff(),
        str(agent_membership.user_id),
        {"from": "agent", "to": "admin"},
    )
    assert member.get(TEAM).status_code == 200


def test_a_member_deactivated_in_the_admin_loses_their_tokens_at_once(
    staff_browser, org, admin_membership, agent_membership, django_capture_on_commit_callbacks
):
    member = client_for(agent_membership)
    assert member.get(ORGANIZATION).status_code == 200

    response = _change(
        staff_browser, "accounts_membership", agent_membership, django_capture_on_commit_callbacks, is_active=False
    )

    assert response.status_code == 302, _errors(response)
    agent_membership.refresh_from_db()
    assert (agent_membership.role, agent_membership.is_active) == ("agent", False)
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.target_id) == (
        "member.deactivate",
        _staff(),
        str(agent_membership.user_id),
    )
    assert member.get(ORGANIZATION).status_code == 401


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ({"role": "agent"}, "The last admin cannot be demoted: make someone else admin first."),
        ({"is_active": False}, "The last admin cannot be deactivated."),
        ({"role": "marketing", "is_active": False}, "The last admin cannot be demoted: make someone else admin first."),
    ],
    ids=["demote", "deactivate", "both"],
)
def test_the_last_admin_stays_an_active_admin_in_the_admin_too(
    staff_browser, org, admin_membership, agent_membership, typed, error, django_capture_on_commit_callbacks
):
    response = _change(
        staff_browser, "accounts_membership", admin_membership, django_capture_on_commit_callbacks, **typed
    )

    assert _errors(response) == {"__all__": [error]}
    admin_membership.refresh_from_db()
    assert (admin_membership.role, admin_membership.is_active) == ("admin", True)
    assert AuditLog.objects.count() == 0
    assert client_for(admin_membership).get(TEAM).status_code == 200


def test_reactivating_in_the_admin_respects_the_plans_seats_and_undoes_the_role_change(
    staff_browser, org, admin_membership, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.STARTER)
    former = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)
    fill_to(org, 5)

    response = _change(
        staff_browser,
        "accounts_membership",
        former,
        django_capture_on_commit_callbacks,
        role="marketing",
        is_active=True,
    )

    assert _errors(response) == {"__all__": ["The Starter plan allows 5 users: the user limit is reached."]}
    former.refresh_from_db()
    assert (former.role, former.is_active) == ("agent", False)
    assert AuditLog.objects.count() == 0


def test_reactivating_in_the_admin_is_audited(staff_browser, org, admin_membership, django_capture_on_commit_callbacks):
    former = MembershipFactory(organization=org, role=Role.AGENT, is_active=False)

    response = _change(staff_browser, "accounts_membership", former, django_capture_on_commit_callbacks, is_active=True)

    assert response.status_code == 302, _errors(response)
    former.refresh_from_db()
    assert former.is_active is True
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.target_id) == ("member.activate", _staff(), str(former.user_id))
    assert client_for(former).get(ORGANIZATION).status_code == 200


def test_memberships_are_neither_added_nor_deleted_in_the_admin(staff_browser, org, other_org, agent_membership):
    stranger = UserFactory()

    added = staff_browser.post(
        reverse("admin:accounts_membership_add"), {"organization": org.pk, "user": stranger.pk, "role": "admin"}
    )
    deleted = staff_browser.post(
        reverse("admin:accounts_membership_delete", args=[agent_membership.pk]), {"post": "yes"}
    )
    changelist = staff_browser.get(reverse("admin:accounts_membership_changelist"))

    assert (added.status_code, deleted.status_code) == (403, 403)
    assert changelist.context["has_add_permission"] is False
    assert changelist.context["action_form"] is None  # no "delete selected"
    assert list(Membership.objects.values_list("user_id", "role", "is_active")) == [
        (agent_membership.user_id, "agent", True)
    ]


def test_the_organization_and_user_of_a_membership_are_not_changed_in_the_admin(
    staff_browser, org, other_org, admin_membership, agent_membership, django_capture_on_commit_callbacks
):
    url = reverse("admin:accounts_membership_change", args=[agent_membership.pk])
    data = {**_form_data(staff_browser.get(url)), "organization": other_org.pk, "user": admin_membership.user_id}

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_browser.post(url, data)

    assert response.status_code == 302, _errors(response)
    agent_membership.refresh_from_db()
    assert (agent_membership.organization, agent_membership.user_id) == (org, agent_membership.user.pk)
    assert AuditLog.objects.count() == 0


# --- invitations ------------------------------------------------------------------------------------------


def test_an_invitation_made_in_the_admin_goes_through_the_service(
    staff_browser, org, admin_membership, django_capture_on_commit_callbacks
):
    response = _add(
        staff_browser,
        "accounts_invitation",
        django_capture_on_commit_callbacks,
        organization=org.pk,
        email="New.Agent@Example.com",
        role="agent",
    )

    assert response.status_code == 302, _errors(response)
    invitation = Invitation.objects.for_org(org).get()
    assert (invitation.email, invitation.role, invitation.status, invitation.invited_by) == (
        "new.agent@example.com",
        "agent",
        "pending",
        _staff(),
    )
    assert [message.to for message in mail.outbox] == [["new.agent@example.com"]]
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.data) == ("invitation.create", _staff(), {"role": "agent"})


def test_inviting_a_member_in_the_admin_is_a_form_error(
    staff_browser, org, admin_membership, django_capture_on_commit_callbacks
):
    response = _add(
        staff_browser,
        "accounts_invitation",
        django_capture_on_commit_callbacks,
        organization=org.pk,
        email=admin_membership.user.email,
        role="agent",
    )

    assert _errors(response) == {"email": ["Already a member."]}
    assert Invitation.objects.count() == 0
    assert mail.outbox == []


def test_invitations_are_revoked_in_the_admin_not_edited_or_deleted(
    staff_browser, org, admin_membership, django_capture_on_commit_callbacks
):
    pending = services.invitation_create(organization=org, email="a@example.com", role="agent", invited_by=None)
    accepted = services.invitation_create(organization=org, email="b@example.com", role="agent", invited_by=None)
    Invitation.objects.filter(pk=accepted.pk).update(status=Invitation.Status.ACCEPTED)
    AuditLog.objects.all().delete()
    change_url = reverse("admin:accounts_invitation_change", args=[pending.pk])

    edited = staff_browser.post(change_url, {"organization": org.pk, "email": "c@example.com", "role": "admin"})
    deleted = staff_browser.post(reverse("admin:accounts_invitation_delete", args=[pending.pk]), {"post": "yes"})
    revoked = staff_browser.post(
        reverse("admin:accounts_invitation_changelist"),
        {"action": "revoke", "_selected_action": [pending.pk, accepted.pk]},
    )

    assert (edited.status_code, deleted.status_code, revoked.status_code) == (403, 403, 302)
    assert list(Invitation.objects.order_by("email").values_list("email", "role", "status")) == [
        ("a@example.com", "agent", "revoked"),
        ("b@example.com", "agent", "accepted"),
    ]
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.target_id) == ("invitation.revoke", _staff(), str(pending.pk))


# --- the audit log ----------------------------------------------------------------------------------------


def test_people_are_deactivated_not_deleted_in_the_admin(staff_browser, org, admin_membership):
    user = admin_membership.user

    response = staff_browser.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Membership.objects.for_org(org).get().user == user  # the organization keeps its admin


def test_the_audit_log_is_read_only_in_the_admin(staff_browser, org, admin_membership):
    AuditLog.objects.create(organization=org, actor=admin_membership.user, action="member.activate", data={"n": 1})
    entry = AuditLog.objects.get()
    change_url = reverse("admin:accounts_auditlog_change", args=[entry.pk])

    changelist = staff_browser.get(reverse("admin:accounts_auditlog_changelist"))
    page = staff_browser.get(change_url)

    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None  # no actions: no "delete selected"
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert staff_browser.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert staff_browser.post(change_url, {"action": "forged", "data": "{}"}).status_code == 403
    assert (
        staff_browser.post(reverse("admin:accounts_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    entry.refresh_from_db()
    assert (entry.action, entry.data) == ("member.activate", {"n": 1})
    assert AuditLog.objects.count() == 1
