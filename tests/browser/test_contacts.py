"""The contacts pages in a browser: the list and its search, a new contact, a CSV import with a bad row, the export,
and the list, tag filter and delete confirmation in Arabic (right to left)."""

import csv
import io
import re

from playwright.sync_api import expect

from messaging.models import Contact
from tests.messaging.factories import ContactFactory

CSV_WITH_A_BAD_ROW = b"name,number,tags\nNadia,966502220003,VIP\nBad,12345,\nOmar,+966 50 222 0004,\n"


def test_the_list_shows_the_contacts_and_searches_them(page, login_session, demo_org, screenshot):
    ContactFactory(organization=demo_org.organization, name="Raj Kumar", tags=["Lead", "VIP"])
    login_session(page, demo_org.admin.user)

    page.goto("/contacts/")

    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(4)
    layla = rows.filter(has_text=demo_org.contact.phone)
    expect(layla.locator("time[data-relative]")).to_have_text(re.compile(r"ago|now"))  # relative, in the browser
    expect(rows.filter(has_text="Raj Kumar").locator(".badge")).to_have_text(["Lead", "VIP"])
    screenshot(page, "contacts-en")

    page.get_by_label("Search contacts").fill("raj")
    page.get_by_label("Search contacts").press("Enter")

    expect(page).to_have_url(re.compile(r"/contacts/\?search=raj$"))  # the empty tag filter stays out
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Raj Kumar")


def test_a_contact_is_created_with_its_tags(page, login_session, demo_org):
    login_session(page, demo_org.agent.user)
    page.goto("/contacts/")

    page.get_by_role("link", name="New contact").click()
    page.wait_for_url("**/contacts/new/")  # loaded: before its script runs, Enter in "Add tags" would submit
    page.get_by_label("Name").fill("Nadia Saleh")
    page.get_by_label("Phone number").fill("+966 50 222 0003")
    page.get_by_label("Add tags").fill("VIP, Riyadh")
    page.get_by_label("Add tags").press("Enter")  # chips, not a submit
    expect(page.locator(".tag-choice")).to_have_count(2)  # in either order: the chips come as the tags are found
    expect(page.locator(".tag-choice", has_text="VIP")).to_have_count(1)
    page.locator(".tag-choice", has_text="Riyadh").locator("input").uncheck()
    page.get_by_role("button", name="Create contact").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Nadia Saleh")
    expect(page.get_by_text("Contact created.")).to_be_visible()
    contact = Contact.objects.get(phone="+966502220003")
    assert (contact.name, [tag.name for tag in contact.tags.all()]) == ("Nadia Saleh", ["VIP"])


def test_an_import_shows_the_row_it_skipped(page, login_session, demo_org):
    login_session(page, demo_org.admin.user)
    page.goto("/contacts/")

    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV_WITH_A_BAD_ROW}]
    )
    page.get_by_role("button", name="Import").click()

    expect(page.locator("[data-count=created]")).to_have_text("2")
    expect(page.locator("[data-count=skipped]")).to_have_text("1")
    expect(page.locator("table.import-errors tbody tr")).to_have_text(
        [re.compile(r"3\s*number\s*invalid number '12345'")]
    )
    assert set(Contact.objects.filter(name__in=["Nadia", "Omar"]).values_list("phone", flat=True)) == {
        "+966502220003",
        "+966502220004",
    }


def test_the_export_downloads_the_listed_contacts_as_csv(page, login_session, demo_org):
    ContactFactory(organization=demo_org.organization, name="Raj Kumar", wa_id="12025550123", tags=["Lead"])
    login_session(page, demo_org.admin.user)
    page.goto("/contacts/?tag=Lead")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export these").click()

    assert re.fullmatch(r"contacts-\d{8}-\d{6}\.csv", download.value.suggested_filename)
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[:4] for row in rows] == [
        ["name", "number", "phone", "tags"],
        ["Raj Kumar", "12025550123", "'+12025550123", "Lead"],
    ]


def test_in_arabic_the_list_filters_by_tag_and_a_delete_waits_for_the_typed_name(arabic_page, login_session, demo_org):
    page = arabic_page
    raj = ContactFactory(organization=demo_org.organization, name="Raj Kumar", tags=["Lead"])
    login_session(page, demo_org.admin.user)

    page.goto("/contacts/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    rail, table = page.locator("nav.rail").bounding_box(), page.locator("table").bounding_box()
    assert rail["x"] > table["x"]  # the navigation on the right, the start side
    page.locator("#id_tag").select_option("Lead")  # applies at once

    expect(page).to_have_url(re.compile(r"/contacts/\?tag=Lead$"))
    expect(page.locator("table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Raj Kumar").click()

    delete = page.locator("form[data-confirm-form] button[type=submit]")
    expect(delete).to_be_disabled()
    page.locator("#id_confirm").fill("Raj")
    expect(delete).to_be_disabled()
    page.locator("#id_confirm").fill("Raj Kumar")
    expect(delete).to_be_enabled()
    delete.click()

    expect(page).to_have_url(re.compile(r"/contacts/$"))
    assert not Contact.objects.filter(pk=raj.pk).exists()
