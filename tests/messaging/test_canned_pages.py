"""Settings > Canned responses: the list (search, empty states), new, edit (attachment replaced or removed), delete
(confirmed). Admins only; every write goes through the canned services, whose refusals show next to the fields."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditLog, Role
from messaging.models import CannedResponse, Media
from tests.accounts.test_settings_pages import field_error
from tests.conftest import signed_in
from tests.factories import MembershipFactory
from tests.messaging.factories import CannedResponseFactory, MediaFactory

LIST = "/settings/canned-responses/"
NEW = "/settings/canned-responses/new/"


def edit_url(canned) -> str:
    return f"/settings/canned-responses/{canned.pk}/"


def delete_url(canned) -> str:
    return f"/settings/canned-responses/{canned.pk}/delete/"


@pytest.fixture
def admin(admin_membership):
    return signed_in(admin_membership)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- who may open them -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
def test_agents_and_marketers_get_the_permission_denied_page_and_change_nothing(role, org):
    canned = CannedResponseFactory(organization=org, text="Kept")
    browser = signed_in(MembershipFactory(organization=org, role=role))

    responses = [
        browser.get(LIST),
        browser.post(NEW, {"shortcut": "new", "text": "New"}),
        browser.post(edit_url(canned), {"shortcut": "x", "text": "Changed"}),
        browser.post(delete_url(canned)),
    ]

    assert [response.status_code for response in responses] == [403] * 4
    assert "This page is for admins of Acme. Ask one of them for access." in responses[0].content.decode()
    assert list(CannedResponse.objects.values_list("shortcut", "text")) == [(canned.shortcut, "Kept")]


def test_the_settings_tabs_lead_to_the_page(admin):
    html = page(admin.get("/settings/teams/"))

    assert f'<a class="tab" href="{LIST}">Canned responses</a>' in html


# --- the list --------------------------------------------------------------------------------------------------------


def test_an_empty_list_says_what_to_do(admin):
    html = page(admin.get(LIST))

    assert "No canned responses yet" in html
    assert f'href="{NEW}">Create the first one</a>' in html
    assert 'aria-current="page">Canned responses</a>' in html


def test_the_list_shows_the_organizations_responses_only(org, other_org, admin):
    CannedResponseFactory(organization=org, shortcut="price", title="Prices", text="Our prices are low")
    CannedResponseFactory(organization=org, shortcut="menu", text="", attachment=MediaFactory(organization=org))
    CannedResponseFactory(organization=other_org, shortcut="secret", text="Globex only")

    html = page(admin.get(LIST))

    assert "<bdi>/price</bdi>" in html and "Our prices are low" in html and "Prices" in html
    assert "<bdi>/menu</bdi>" in html and "picture-" in html  # the attachment's file name
    assert "/secret" not in html and "Globex only" not in html


def test_the_list_searches(org, admin):
    CannedResponseFactory(organization=org, shortcut="price", text="Our prices")
    CannedResponseFactory(organization=org, shortcut="hours", text="We open at 9")

    found = page(admin.get(LIST, {"q": "open"}))
    nothing = page(admin.get(LIST, {"q": "zzz"}))

    assert "/hours" in found and "/price" not in found
    assert "No canned response matches" in nothing


# --- new -------------------------------------------------------------------------------------------------------------


def test_the_form_lists_the_placeholders(admin):
    html = page(admin.get(NEW))

    for name in ("contact.name", "contact.first_name", "contact.phone", "agent.name"):
        assert f'data-insert="{{{{{name}}}}}"' in html
    assert "the first word of the customer&#x27;s name" in html


def test_an_admin_creates_one_with_a_file(org, admin, admin_membership):
    upload = SimpleUploadedFile("menu.pdf", b"%PDF-1.4 menu", content_type="application/pdf")
    data = {"shortcut": "/Menu", "title": "Menu", "text": "Hi {{contact.first_name}}, our menu", "attachment": upload}

    response = admin.post(NEW, data, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Canned response /menu created." in page(response)
    canned = CannedResponse.objects.get()
    assert (canned.organization_id, canned.shortcut, canned.text, canned.created_by_id) == (
        org.pk,
        "menu",
        "Hi {{contact.first_name}}, our menu",
        admin_membership.user_id,
    )
    assert (canned.attachment.filename, canned.attachment.mime_type, canned.attachment.message_id) == (
        "menu.pdf",
        "application/pdf",
        None,
    )
    assert AuditLog.objects.filter(action="canned_response.create", actor=admin_membership.user).count() == 1


def test_refusals_show_next_to_their_fields(org, admin):
    CannedResponseFactory(organization=org, shortcut="price")

    taken = page(admin.post(NEW, {"shortcut": "price", "text": "Again"}))
    unknown = page(admin.post(NEW, {"shortcut": "hello", "text": "Hi {{contact.nmae}}"}))
    audio = page(
        admin.post(
            NEW,
            {"shortcut": "voice", "text": "Hi", "attachment": SimpleUploadedFile("a.ogg", b"OggS", "audio/ogg")},
        )
    )

    assert field_error("shortcut", "There is already a canned response /price: choose another shortcut.") in taken
    assert "Unknown placeholder {{contact.nmae}}: the placeholders are" in unknown
    assert 'id="id_text_error"' in unknown
    assert 'id="id_attachment_error"' in audio and "Attach a photo (JPEG, PNG)" in audio
    assert CannedResponse.objects.count() == 1
    assert Media.objects.count() == 0


# --- edit and delete -------------------------------------------------------------------------------------------------


def test_an_admin_edits_one_and_replaces_its_attachment(org, admin):
    old = MediaFactory(organization=org, filename="old.png")
    canned = CannedResponseFactory(organization=org, shortcut="menu", text="Menu", attachment=old)
    html = page(admin.get(edit_url(canned)))
    assert "old.png" in html and "Remove the attachment" in html and "Replace the attachment" in html
    new = SimpleUploadedFile("new.png", b"\x89PNG\r\n\x1a\n new", content_type="image/png")

    response = admin.post(edit_url(canned), {"shortcut": "menu", "title": "", "text": "New menu", "attachment": new})

    assert response["Location"] == LIST
    canned.refresh_from_db()
    assert (canned.text, canned.attachment.filename) == ("New menu", "new.png")
    assert Media.objects.filter(pk=old.pk).exists()


def test_an_admin_removes_the_attachment(org, admin):
    canned = CannedResponseFactory(organization=org, text="Menu", attachment=MediaFactory(organization=org))

    admin.post(edit_url(canned), {"shortcut": canned.shortcut, "text": "Menu", "remove_attachment": "on"})

    canned.refresh_from_db()
    assert canned.attachment_id is None


def test_a_refused_edit_keeps_the_stored_row_and_shows_why(org, admin):
    CannedResponseFactory(organization=org, shortcut="price")
    canned = CannedResponseFactory(organization=org, shortcut="prices", text="Kept")

    html = page(admin.post(edit_url(canned), {"shortcut": "price", "text": "Changed"}))

    assert field_error("shortcut", "There is already a canned response /price: choose another shortcut.") in html
    assert "Canned response <bdi>/prices</bdi>" in html
    canned.refresh_from_db()
    assert (canned.shortcut, canned.text) == ("prices", "Kept")


def test_deleting_is_confirmed_first(org, admin):
    canned = CannedResponseFactory(organization=org, shortcut="price")

    confirm = page(admin.get(delete_url(canned)))
    assert "Delete the canned response <bdi>/price</bdi>?" in confirm
    assert CannedResponse.objects.filter(pk=canned.pk).exists()

    response = admin.post(delete_url(canned), follow=True)

    assert "Canned response /price deleted." in page(response)
    assert not CannedResponse.objects.exists()


def test_another_organizations_response_is_not_found(other_org, admin):
    foreign = CannedResponseFactory(organization=other_org, text="Globex")

    assert admin.get(edit_url(foreign)).status_code == 404
    assert admin.post(edit_url(foreign), {"shortcut": "mine", "text": "Mine"}).status_code == 404
    assert admin.post(delete_url(foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.text == "Globex"
