"""Canned responses in the Django admin go through the canned services: the shortcut and text rules, an attachment
of the response's own organization only, an audit entry with the staff user as actor; a refusal is a form error."""

from accounts.models import AuditLog
from messaging.models import CannedResponse
from tests.accounts.test_django_admin_edits import _add, _change, _errors, _staff
from tests.messaging.factories import CannedResponseFactory, MediaFactory

MODEL = "messaging_cannedresponse"


def test_staff_create_one_through_the_service(staff_browser, org, django_capture_on_commit_callbacks):
    upload = MediaFactory(organization=org)

    response = _add(
        staff_browser,
        MODEL,
        django_capture_on_commit_callbacks,
        organization=org.pk,
        shortcut="/Price",
        title="Prices",
        text="Hi {{contact.first_name}}",
        attachment=upload.pk,
    )

    assert response.status_code == 302, _errors(response)
    canned = CannedResponse.objects.get()
    assert (canned.organization_id, canned.shortcut, canned.attachment_id) == (org.pk, "price", upload.pk)
    entry = AuditLog.objects.for_org(org).get()
    assert (entry.action, entry.actor, entry.target_id) == ("canned_response.create", _staff(), str(canned.pk))


def test_another_organizations_file_is_a_form_error(staff_browser, org, other_org, django_capture_on_commit_callbacks):
    foreign = MediaFactory(organization=other_org)

    response = _add(
        staff_browser,
        MODEL,
        django_capture_on_commit_callbacks,
        organization=org.pk,
        shortcut="menu",
        text="Menu",
        attachment=foreign.pk,
    )

    assert _errors(response) == {
        "attachment": ["No such uploaded media in this organization (upload it with POST media/ first)."]
    }
    assert CannedResponse.objects.count() == 0


def test_an_edit_is_checked_and_a_refusal_changes_nothing(staff_browser, org, django_capture_on_commit_callbacks):
    CannedResponseFactory(organization=org, shortcut="price")
    canned = CannedResponseFactory(organization=org, shortcut="hours", text="We open at 9.")

    refused = _change(staff_browser, MODEL, canned, django_capture_on_commit_callbacks, shortcut="PRICE")
    saved = _change(staff_browser, MODEL, canned, django_capture_on_commit_callbacks, text="We open at 10.")

    assert _errors(refused) == {"shortcut": ["There is already a canned response /price: choose another shortcut."]}
    assert saved.status_code == 302, _errors(saved)
    canned.refresh_from_db()
    assert (canned.shortcut, canned.text) == ("hours", "We open at 10.")
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["canned_response.update"]


def test_staff_delete_one_through_the_service(staff_browser, org):
    canned = CannedResponseFactory(organization=org, shortcut="price")

    response = staff_browser.post(f"/admin/messaging/cannedresponse/{canned.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not CannedResponse.objects.exists()
    entry = AuditLog.objects.get()
    assert (entry.action, entry.actor, entry.data) == ("canned_response.delete", _staff(), {"shortcut": "price"})
