"""The contacts pages (/contacts/): the list, a new contact, a contact (edit, opt-out, conversations, delete), CSV
import and export, for each role, as the contacts API allows them."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import AuditLog, Role
from messaging.models import Contact, Conversation
from messaging.services import contacts as services
from tests.conftest import signed_in
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, WhatsAppNumberFactory


@pytest.fixture
def admin(admin_membership):
    return signed_in(admin_membership)


@pytest.fixture
def agent(agent_membership):
    return signed_in(agent_membership)


@pytest.fixture
def marketing(marketing_membership):
    return signed_in(marketing_membership)


def tags_of(contact: Contact) -> list[str]:
    return sorted(tag.name for tag in contact.tags.all())


def refused(response, action: str) -> None:
    assertContains(response, f"{action} is for marketing and admins of Acme", status_code=403)


# --- the list ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
def test_every_role_sees_the_organization_s_contacts(role, org, other_org):
    layla = ContactFactory(organization=org, name="Layla", wa_id="966501234567", phone="+966501234567", tags=["VIP"])
    ContactFactory(organization=other_org, name="Someone else's")

    response = signed_in(MembershipFactory(organization=org, role=role)).get("/contacts/")

    assertContains(response, f'<a href="/contacts/{layla.pk}/" dir="auto">Layla</a>', html=True)
    assertContains(response, '<span class="ltr num">+966501234567</span>', html=True)
    assertContains(response, '<span class="badge badge-accent" dir="auto">VIP</span>', html=True)
    assertNotContains(response, "Someone else")


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    assert client.get("/contacts/")["Location"] == "/sign-in/?next=/contacts/"


def test_a_row_shows_the_opt_out_and_the_times_in_the_organization_s_time_zone(org, agent):
    org.settings = {"timezone": "Asia/Riyadh"}
    org.save()
    ContactFactory(
        organization=org,
        opted_out=True,
        last_inbound_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        created_at=datetime(2026, 2, 1, 21, 0, tzinfo=UTC),
    )

    response = agent.get("/contacts/")

    assertContains(response, '<span class="badge badge-danger">Opted out</span>', html=True)
    assertContains(
        response,
        '<time datetime="2026-03-01T12:30:00+03:00" title="March 1, 2026, 12:30 p.m." data-relative>'
        "03/01/2026 12:30 p.m.</time>",
        html=True,
    )
    assertContains(
        response,
        '<time datetime="2026-02-02T00:00:00+03:00" title="Feb. 2, 2026, midnight">Feb. 2, 2026</time>',
        html=True,
    )


@pytest.fixture
def people(org, other_org):
    ContactFactory(organization=org, name="Raj Kumar", wa_id="12025550123", phone="+12025550123", tags=["Lead"])
    ContactFactory(organization=org, name="Sara", wa_id="966501234567", phone="+966501234567", tags=["VIP", "Lead"])
    ContactFactory(organization=org, name="Omar", wa_id="966502220002", phone="+966502220002")
    ContactFactory(organization=other_org, name="Outsider", tags=["Secret"])


def names_on(response) -> list[str]:
    return [contact.name for contact in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Omar", "Sara", "Raj Kumar"]),
        ("?search=raj", ["Raj Kumar"]),
        ("?search=%2B1+202", ["Raj Kumar"]),
        ("?search=vip", ["Sara"]),
        ("?tag=Lead", ["Sara", "Raj Kumar"]),
        ("?search=sara&tag=Lead", ["Sara"]),
        ("?tag=Secret", []),
    ],
)
def test_search_and_the_tag_filter_select_contacts(query, expected, people, agent):
    assert names_on(agent.get(f"/contacts/{query}")) == expected


def test_the_tag_filter_offers_the_organization_s_tags_only(people, agent):
    response = agent.get("/contacts/?tag=VIP")

    assertContains(
        response,
        '<select name="tag" id="id_tag"><option value="">All tags</option><option value="Lead">Lead</option>'
        '<option value="VIP" selected>VIP</option></select>',
        html=True,
    )


def test_a_search_without_matches_says_so(people, agent):
    response = agent.get("/contacts/?search=nobody")

    assertContains(response, "No contacts match")
    assertNotContains(response, "No contacts yet")


def test_no_contacts_yet_offers_to_create_and_import(marketing):
    response = marketing.get("/contacts/")

    assertContains(response, "No contacts yet")
    assertContains(response, '<a class="button button-primary" href="/contacts/new/">Create a contact</a>', html=True)
    assertContains(response, '<a class="button" href="/contacts/import/">Import a CSV file</a>', html=True)


def test_agents_are_not_offered_import_or_export(people, agent):
    response = agent.get("/contacts/")

    assertNotContains(response, "/contacts/import/")
    assertNotContains(response, "/contacts/export/")


def test_the_export_button_carries_the_list_s_filters(people, marketing):
    response = marketing.get("/contacts/?search=sara&tag=Lead&page=1")

    assertContains(response, 'href="/contacts/export/?search=sara&amp;tag=Lead"')


def test_the_list_is_paginated_on_the_server_and_keeps_its_filters(org, agent, monkeypatch):
    for number in range(5):
        ContactFactory(organization=org, name=f"Lead {number}", tags=["Lead"])
    ContactFactory(organization=org, name="Not a lead")
    monkeypatch.setattr("messaging.views.contacts.PAGE_SIZE", 2)

    first = agent.get("/contacts/?tag=Lead")
    last = agent.get("/contacts/?tag=Lead&page=3")

    assert names_on(first) == ["Lead 4", "Lead 3"]
    assertContains(first, 'href="?tag=Lead&amp;page=2"')
    assertContains(first, "Page 1 of 3")
    assert names_on(last) == ["Lead 0"]
    assertContains(last, 'href="?tag=Lead&amp;page=2"')
    assert names_on(agent.get("/contacts/?tag=Lead&page=junk")) == ["Lead 4", "Lead 3"]


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/contacts/?tag=Lead").status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_whatever_the_number_of_contacts(org, agent):
    number = WhatsAppNumberFactory(organization=org)
    ContactFactory(organization=org, tags=["Lead"])
    few = _list_queries(agent)

    for _ in range(30):
        contact = ContactFactory(
            organization=org, tags=["Lead", "VIP"], last_inbound_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        ConversationFactory(organization=org, number=number, contact=contact)

    # session, its recorded browser session, user, membership, the shell's organizations and custom pages, tags,
    # count, the page, its tags.
    assert (few, _list_queries(agent)) == (10, 10)


# --- a new contact -------------------------------------------------------------------------------------------------


def test_an_agent_creates_a_contact_with_tags_and_attributes(org, agent):
    response = agent.post(
        "/contacts/new/",
        {
            "name": " Layla ",
            "phone": "+966 50 123 4567",
            "new_tags": "VIP, Riyadh; VIP",
            "attributes": "city: Riyadh",
            "notes": "Met at the fair.",
        },
    )

    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert (contact.organization, contact.name, contact.phone, contact.wa_id) == (
        org,
        "Layla",
        "+966501234567",
        "966501234567",
    )
    assert (tags_of(contact), contact.attributes, contact.is_active, contact.notes) == (
        ["Riyadh", "VIP"],
        {"city": "Riyadh"},
        True,
        "Met at the fair.",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "&#x27;12345&#x27; is not a possible phone number (too short for its country)."),
        ({"phone": ""}, "phone", "This field is required."),
        ({"phone": "966501234567", "new_tags": "x" * 65}, "new-tags", "is longer than 64 characters."),
        ({"phone": "966501234567", "attributes": "no colon"}, "attributes", "Line 1: write it as key: value."),
        ({"phone": "966501234567", "name": "n" * 201}, "name", "Ensure this value has at most 200 characters"),
        ({"phone": "966501234567", "notes": "n" * 5001}, "notes", "Notes are longer than 5000 characters."),
    ],
)
def test_a_refused_contact_shows_the_error_next_to_its_field(data, field, message, agent):
    response = agent.post("/contacts/new/", data)

    assert response.status_code == 200
    assertContains(response, f'<ul class="errorlist" id="{field}-errors"><li>')
    errors = response.content.decode().split(f'id="{field}-errors"><li>')[1]
    assert message in errors.split("</li>")[0]
    assert Contact.objects.count() == 0


def test_a_number_that_is_already_a_contact_is_refused_next_to_the_phone(org, agent):
    ContactFactory(organization=org, wa_id="966501234567", phone="+966501234567")

    response = agent.post("/contacts/new/", {"name": "Again", "phone": "00966501234567", "new_tags": "kept"})

    assertContains(
        response,
        '<ul class="errorlist" id="phone-errors">'
        "<li>A contact with the number +966501234567 already exists in this organization.</li></ul>",
        html=True,
    )
    assertContains(response, 'value="Again"')  # what was typed is still there
    assertContains(response, 'value="kept"')
    assert Contact.objects.count() == 1


# --- a contact -----------------------------------------------------------------------------------------------------


@pytest.fixture
def layla(org):
    return ContactFactory(
        organization=org,
        name="Layla",
        wa_id="966501234567",
        phone="+966501234567",
        tags=["VIP", "Riyadh"],
        attributes={"city": "Riyadh"},
    )


def test_the_contact_page_shows_the_contact_in_its_form(layla, agent):
    response = agent.get(f"/contacts/{layla.pk}/")

    assertContains(response, "<h1><bdi>Layla</bdi></h1>", html=True)
    assertContains(response, '<input type="checkbox" name="tags" value="Riyadh" checked>', html=True)
    assertContains(response, '<input type="checkbox" name="tags" value="VIP" checked>', html=True)
    assertContains(response, ">city: Riyadh</textarea>")


def test_an_edit_renames_removes_and_adds_tags_and_replaces_attributes(layla, agent):
    response = agent.post(
        f"/contacts/{layla.pk}/",
        {
            "name": "Layla Haddad",
            "phone": "+966501234567",
            "tags": ["VIP"],
            "new_tags": "Jeddah",
            "attributes": "city: Jeddah\nplan: gold",
            "is_active": "on",
        },
    )

    assert response["Location"] == f"/contacts/{layla.pk}/"
    layla.refresh_from_db()
    assert (layla.name, tags_of(layla), layla.attributes) == (
        "Layla Haddad",
        ["Jeddah", "VIP"],
        {"city": "Jeddah", "plan": "gold"},
    )
    assertContains(agent.get(response["Location"]), "Changes saved.")


def test_an_edit_saves_the_notes_with_their_line_breaks(layla, agent):
    layla.notes = "Old note"
    layla.save()
    assertContains(
        agent.get(f"/contacts/{layla.pk}/"),
        '<textarea name="notes" id="id_notes" rows="4" maxlength="5000" dir="auto" aria-describedby="notes-help">'
        "Old note</textarea>",
        html=True,
    )

    response = agent.post(
        f"/contacts/{layla.pk}/",
        {"name": "Layla", "phone": "+966501234567", "tags": ["VIP"], "notes": "Calls after 5 pm.\r\nيفضل العربية"},
    )

    assert response["Location"] == f"/contacts/{layla.pk}/"
    layla.refresh_from_db()
    assert layla.notes == "Calls after 5 pm.\nيفضل العربية"


def test_an_edit_to_another_contact_s_number_is_refused_and_changes_nothing(org, layla, agent):
    ContactFactory(organization=org, wa_id="12025550123", phone="+12025550123")

    response = agent.post(
        f"/contacts/{layla.pk}/", {"name": "Renamed", "phone": "+1 202 555 0123", "tags": ["VIP"], "is_active": "on"}
    )

    assert response.status_code == 200
    assertContains(response, "A contact with the number +12025550123 already exists in this organization.")
    assertContains(response, "<h1><bdi>Layla</bdi></h1>", html=True)  # as stored, not as typed
    layla.refresh_from_db()
    assert (layla.name, layla.phone, tags_of(layla)) == ("Layla", "+966501234567", ["Riyadh", "VIP"])


def test_unchecking_active_makes_the_contact_inactive(layla, agent):
    agent.post(f"/contacts/{layla.pk}/", {"name": "Layla", "phone": "+966501234567"})

    layla.refresh_from_db()
    assert (layla.is_active, tags_of(layla)) == (False, [])


def test_structured_attributes_are_shown_not_edited_and_kept(org, agent):
    contact = ContactFactory(organization=org, attributes={"orders": 3, "address": {"city": "Riyadh"}})

    page = agent.get(f"/contacts/{contact.pk}/")
    agent.post(f"/contacts/{contact.pk}/", {"name": "New", "phone": contact.phone, "attributes": "orders: 4"})

    assertNotContains(page, 'name="attributes"')
    assertContains(page, "These attributes hold structured values")
    contact.refresh_from_db()
    assert (contact.name, contact.attributes) == ("New", {"orders": 3, "address": {"city": "Riyadh"}})


def test_a_contact_without_a_number_is_saved_without_one(org, agent):
    contact = ContactFactory(organization=org, wa_id=None, phone="", user_id="US.123", name="")

    response = agent.post(f"/contacts/{contact.pk}/", {"name": "Known by id", "phone": ""})

    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.wa_id) == ("Known by id", "", None)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/contacts/{}/"),
        ("post", "/contacts/{}/"),
        ("post", "/contacts/{}/opt-out/"),
        ("post", "/contacts/{}/delete/"),
    ],
)
def test_another_organization_s_contact_is_a_404_and_stays_unchanged(method, path, other_org, admin):
    theirs = ContactFactory(organization=other_org, name="Theirs", phone="+966509999999", wa_id="966509999999")

    data = {"name": "Mine now", "phone": "+966509999999", "opted_out": "true", "confirm": "Theirs"}
    response = getattr(admin, method)(path.format(theirs.pk), data if method == "post" else None)

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.opted_out) == ("Theirs", False)
    assert admin.get("/contacts/99999999999999999999/").status_code == 404


def test_agents_see_links_to_the_contact_s_conversations_they_may_open(org, layla, agent_membership, agent):
    shared = WhatsAppNumberFactory(organization=org, display_name="Support line")
    someone_else_s = WhatsAppNumberFactory(organization=org, display_name="Private line")
    someone_else_s.assigned_user = MembershipFactory(organization=org, role=Role.AGENT).user
    someone_else_s.save()
    visible = ConversationFactory(organization=org, number=shared, contact=layla, last_message_preview="Hello")
    hidden = ConversationFactory(organization=org, number=someone_else_s, contact=layla)

    response = agent.get(f"/contacts/{layla.pk}/")

    assertContains(response, f'href="/inbox/{visible.pk}/"')
    assertContains(response, "Support line")
    assertNotContains(response, f'href="/inbox/{hidden.pk}/"')
    assertNotContains(response, "Private line")


def test_marketing_gets_no_inbox_links(org, layla, marketing):
    ConversationFactory(organization=org, contact=layla)

    response = marketing.get(f"/contacts/{layla.pk}/")

    assertNotContains(response, "/inbox/")
    assertNotContains(response, "Conversations")


def test_the_contact_page_costs_the_same_queries_whatever_its_conversations(org, layla, agent):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agent.get(f"/contacts/{layla.pk}/").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(5):
        ConversationFactory(organization=org, contact=layla)

    assert queries() == few


# --- opt-out -------------------------------------------------------------------------------------------------------


def test_an_agent_opts_a_contact_out_and_it_is_audited(layla, agent, agent_membership):
    response = agent.post(f"/contacts/{layla.pk}/opt-out/", {"opted_out": "true"})

    assert response["Location"] == f"/contacts/{layla.pk}/"
    layla.refresh_from_db()
    assert layla.opted_out is True
    entry = AuditLog.objects.get(action="contact.opt_out")
    assert (entry.actor, entry.data) == (agent_membership.user, {"source": "web"})
    assertContains(agent.get(response["Location"]), "Opted out: this contact gets no marketing messages.")


def test_an_agent_cannot_opt_a_contact_back_in(org, agent):
    contact = ContactFactory(organization=org, opted_out=True)

    page = agent.get(f"/contacts/{contact.pk}/")
    response = agent.post(f"/contacts/{contact.pk}/opt-out/", {"opted_out": "false"})

    assertNotContains(page, "Opt back in")
    refused(response, "Opting a contact back in")
    contact.refresh_from_db()
    assert contact.opted_out is True


def test_marketing_opts_a_contact_back_in(org, marketing):
    contact = ContactFactory(organization=org, opted_out=True)

    marketing.post(f"/contacts/{contact.pk}/opt-out/", {"opted_out": "false"})

    contact.refresh_from_db()
    assert (contact.opted_out, contact.opted_out_at) == (False, None)
    assert AuditLog.objects.filter(action="contact.opt_in").count() == 1


def test_a_malformed_opt_out_changes_nothing(layla, agent):
    response = agent.post(f"/contacts/{layla.pk}/opt-out/", {"opted_out": "maybe"})

    assert response.status_code == 302
    layla.refresh_from_db()
    assert layla.opted_out is False


# --- delete --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["Layla", " +966501234567 ", "966501234567"])
def test_marketing_deletes_a_contact_by_typing_its_name_or_number(typed, org, layla, marketing, marketing_membership):
    ConversationFactory(organization=org, contact=layla)

    response = marketing.post(f"/contacts/{layla.pk}/delete/", {"confirm": typed})

    assert response["Location"] == "/contacts/"
    assert (Contact.objects.count(), Conversation.objects.count()) == (0, 0)
    assert AuditLog.objects.get(action="contact.delete").actor == marketing_membership.user
    assertContains(marketing.get("/contacts/"), "Layla was deleted with their conversations.")


def test_a_delete_without_the_right_name_deletes_nothing(layla, admin):
    response = admin.post(f"/contacts/{layla.pk}/delete/", {"confirm": "layla"})

    assert response.status_code == 200
    assertContains(
        response,
        '<ul class="errorlist" id="confirm-errors"><li>That is not this contact\'s name or number.</li></ul>',
        html=True,
    )
    assert Contact.objects.count() == 1


def test_agents_cannot_delete_contacts(layla, agent):
    page = agent.get(f"/contacts/{layla.pk}/")
    response = agent.post(f"/contacts/{layla.pk}/delete/", {"confirm": "Layla"})

    assertNotContains(page, "/delete/")
    refused(response, "Deleting contacts")
    assert Contact.objects.count() == 1


def test_the_delete_confirmation_lists_what_may_be_typed(layla, admin):
    response = admin.get(f"/contacts/{layla.pk}/")

    assertContains(
        response,
        '<script id="delete-confirm" type="application/json">["+966501234567", "966501234567", "Layla"]</script>',
        html=True,
    )


# --- import --------------------------------------------------------------------------------------------------------


def upload(client, content: str | bytes, *, name: str = "contacts.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post("/contacts/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def test_the_import_page_shows_the_expected_columns_with_an_example(marketing):
    response = marketing.get("/contacts/import/")

    assertContains(response, '<input type="file" name="file" id="id_file" accept=".csv,text/csv"')
    assertContains(response, "name,number,tags\nLayla Haddad,966501234567,")


def test_an_import_shows_its_counts_and_the_rows_it_skipped(org, marketing):
    ContactFactory(organization=org, wa_id="12025550123", phone="+12025550123", name="Old")

    response = upload(marketing, "name,number,tags\nLayla,966501234567,VIP\nBad,12345,\nRaj,+1 202 555 0123,\n")

    assert response.status_code == 200
    assertContains(response, '<div class="stat-value" data-count="created">1</div>', html=True)
    assertContains(response, '<div class="stat-value" data-count="updated">1</div>', html=True)
    assertContains(response, '<div class="stat-value" data-count="skipped">1</div>', html=True)
    assertContains(
        response,
        '<tr><td class="num">3</td><td><code>number</code></td>'
        '<td dir="auto">invalid number &#x27;12345&#x27;.</td></tr>',
        html=True,
    )
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Layla", "Raj"]


def test_an_import_names_the_column_at_fault(marketing):
    csv_text = f"name,phone,tags\nNo number,,\n{'n' * 201},966501234567,\nTagged,966501234568,{'t' * 65}\n"

    result = upload(marketing, csv_text).context["result"]

    assert [(error.row, error.column) for error in result.row_errors] == [(2, "phone"), (3, "name"), (4, "tags")]


def test_an_import_with_more_bad_rows_than_listed_says_how_many_more(marketing, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_MAX_ERRORS", 2)

    response = upload(marketing, "name,number\n" + "x,bad\n" * 5)

    assert len(response.context["result"].row_errors) == 2
    assertContains(response, "… and 3 more skipped rows.")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U0#\xf4\x00",
            "The file is not UTF-8 text (near row 1): save it as &#x27;CSV UTF-8&#x27; and upload it again.",
        ),
        ("name,number\nJosé,966501234567\n".encode("latin-1"), "The file is not UTF-8 text (near row"),
        (
            "first name,mobile\nRaj,966501234567\n",
            "The first row must name the columns, with a &#x27;number&#x27; (or &#x27;phone&#x27;) column",
        ),
        (b"", "The submitted file is empty."),
        ("name,number\nA,966501234567\n\x00,966501234568\n", "The file is not CSV text (row 3 has a NUL character)"),
    ],
)
def test_a_file_that_cannot_be_imported_gets_a_clear_error(content, message, marketing):
    response = upload(marketing, content)

    assert response.status_code == 200
    assertContains(response, '<ul class="errorlist" id="file-errors" role="alert"><li>')
    assertContains(response, message)
    assert Contact.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(marketing, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 1024)

    response = upload(marketing, "name,number\n" + "Customer,966501234567\n" * 100)

    assertContains(response, "The file is too large: at most 0 MB.")
    assert Contact.objects.count() == 0


def test_an_import_without_a_file_asks_for_one(marketing):
    assertContains(marketing.post("/contacts/import/", {}), "This field is required.")


def test_agents_cannot_import(agent):
    refused(agent.get("/contacts/import/"), "Importing contacts")
    refused(upload(agent, "name,number\nA,966501234567\n"), "Importing contacts")
    assert Contact.objects.count() == 0


# --- export --------------------------------------------------------------------------------------------------------


def exported(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_export_is_the_api_s_csv_of_the_listed_contacts(people, marketing):
    rows = exported(marketing.get("/contacts/export/?tag=Lead"))

    assert [row[:5] for row in rows] == [
        ["name", "number", "phone", "tags", "opted_out"],
        ["Sara", "966501234567", "'+966501234567", "Lead, VIP", "false"],
        ["Raj Kumar", "12025550123", "'+12025550123", "Lead", "false"],
    ]


def test_an_unfiltered_export_has_every_contact_of_the_organization_only(people, admin):
    rows = exported(admin.get("/contacts/export/"))

    assert [row[0] for row in rows[1:]] == ["Omar", "Sara", "Raj Kumar"]


def test_agents_cannot_export(people, agent):
    refused(agent.get("/contacts/export/"), "Exporting contacts")
