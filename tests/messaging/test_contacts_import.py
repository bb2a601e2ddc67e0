"""POST contacts/import: CSV in, contacts created or updated in batches, bad rows reported by row."""

import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog
from messaging.models import Contact, ContactTag, Tag
from messaging.services import contacts as services
from tests.messaging.factories import ContactFactory
from whatsapp_hub.errors import ServiceError

IMPORT_URL = "/api/v1/contacts/import"


def upload(client, content: str | bytes, *, name: str = "contacts.csv", content_type: str = "text/csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        IMPORT_URL, {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


def result(*, total_rows, imported=0, updated=0, skipped=0, errors=()) -> dict:
    return {
        "total_rows": total_rows,
        "imported": imported,
        "updated": updated,
        "skipped": skipped,
        "errors": list(errors),
    }


def contacts(org) -> dict[str, tuple[str, list[str]]]:
    """wa_id -> (name, sorted tag names) of the organization's contacts."""
    rows = {contact.wa_id: (contact.name, []) for contact in Contact.objects.for_org(org)}
    for wa_id, tag in ContactTag.objects.for_org(org).values_list("contact__wa_id", "tag__name"):
        rows[wa_id][1].append(tag)
    return {wa_id: (name, sorted(tags)) for wa_id, (name, tags) in rows.items()}


# --- rows ------------------------------------------------------------------------------------------


def test_it_imports_new_contacts_with_tags_separated_by_comma_semicolon_or_pipe(org, marketing_client):
    csv_text = (
        "name,number,tags\n"
        'Raj Kumar,966501234567,"Lead, Delhi"\n'
        "Sara,+1 202 555 0123,VIP;Lead\n"
        "Omar,00966502220002,a | b\n"
        "Nadia,966502220003,\n"
    )

    response = upload(marketing_client, csv_text)

    assert response.status_code == 200
    assert response.json() == result(total_rows=4, imported=4)
    assert contacts(org) == {
        "966501234567": ("Raj Kumar", ["Delhi", "Lead"]),
        "12025550123": ("Sara", ["Lead", "VIP"]),
        "966502220002": ("Omar", ["a", "b"]),
        "966502220003": ("Nadia", []),
    }
    assert Contact.objects.get(wa_id="12025550123").phone == "+12025550123"
    assert sorted(Tag.objects.for_org(org).values_list("name", flat=True)) == ["Delhi", "Lead", "VIP", "a", "b"]


def test_bad_rows_are_skipped_with_their_row_number_as_a_spreadsheet_shows_it(org, admin_client):
    csv_text = (
        "name,number,tags\n"  # row 1
        "Good,966501234567,\n"  # 2
        "Bad,12345,\n"  # 3
        ",,\n"  # 4: blank, not a row to import
        "No number,,x\n"  # 5
        '"Two\nlines",966501234568,\n'  # 6: one row over two lines
        f"Long tag,966501234569,{'x' * 65}\n"  # 7
        "Bad again,abc,\n"  # 8
        f"{'n' * 201},966501234570,\n"  # 9
    )

    response = upload(admin_client, csv_text)

    assert response.json() == result(
        total_rows=7,
        imported=2,
        skipped=5,
        errors=[
            "Row 3: invalid number '12345'.",
            "Row 5: missing number.",
            "Row 7: Tag 'xxxxxxxxxxxxxxxxxxxx'... is longer than 64 characters.",
            "Row 8: invalid number 'abc'.",
            "Row 9: name longer than 200 characters.",
        ],
    )
    assert contacts(org) == {"966501234567": ("Good", []), "966501234568": ("Two\nlines", [])}


def test_existing_numbers_are_updated_the_name_when_given_and_tags_merged(org, other_org, admin_client):
    ContactFactory(organization=org, wa_id="966501234567", phone="+966501234567", name="Old", tags=["keep"])
    ContactFactory(organization=org, wa_id="966501234568", phone="+966501234568", name="Stays", tags=["keep"])
    ContactFactory(organization=other_org, wa_id="966501234567", phone="+966501234567", name="Theirs")

    response = upload(admin_client, "name,number,tags\nNew,966501234567,new\n,966501234568,keep;more\n")

    assert response.json() == result(total_rows=2, updated=2)
    assert contacts(org) == {
        "966501234567": ("New", ["keep", "new"]),
        "966501234568": ("Stays", ["keep", "more"]),
    }
    assert contacts(other_org) == {"966501234567": ("Theirs", [])}


def test_an_import_never_opts_a_contact_back_in_or_reactivates_it(org, admin_client):
    ContactFactory(organization=org, wa_id="966501234567", phone="+966501234567", opted_out=True, is_active=False)

    upload(admin_client, "name,number\nRaj,966501234567\n")

    contact = Contact.objects.get()
    assert (contact.name, contact.opted_out, contact.is_active) == ("Raj", True, False)


def test_a_number_repeated_in_the_file_is_one_contact(org, admin_client):
    csv_text = "name,number,tags\nFirst,966501234567,x\nSecond,+966 50 123 4567,y\n,00966501234567,z;x\n"

    response = upload(admin_client, csv_text)

    assert response.json() == result(total_rows=3, imported=1, updated=2)
    assert contacts(org) == {"966501234567": ("Second", ["x", "y", "z"])}


def test_a_number_repeated_in_a_later_batch_updates_the_contact_the_file_created(org, admin_client, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_BATCH_SIZE", 2)
    csv_text = "name,number\nA,966501234567\nB,966501234568\nA again,966501234567\nC,966501234569\n"

    response = upload(admin_client, csv_text)

    assert response.json() == result(total_rows=4, imported=3, updated=1)
    assert contacts(org) == {
        "966501234567": ("A again", []),
        "966501234568": ("B", []),
        "966501234569": ("C", []),
    }


def test_it_takes_a_phone_column_a_bom_any_header_case_and_apostrophe_numbers(org, admin_client):
    csv_bytes = "\ufeffName , PHONE,Tags,Notes\r\nرحاب,'+966501234567,عميل,ignored\r\n".encode()

    response = upload(admin_client, csv_bytes)

    assert response.json() == result(total_rows=1, imported=1)
    assert contacts(org) == {"966501234567": ("رحاب", ["عميل"])}


def test_the_import_is_audited_with_its_counts(org, admin_client, admin_membership):
    upload(admin_client, "name,number\nA,966501234567\nB,bad\n")

    entry = AuditLog.objects.get(action="contact.import")
    assert (entry.actor, entry.data) == (
        admin_membership.user,
        {"total_rows": 2, "imported": 1, "updated": 0, "skipped": 1},
    )


def test_the_error_list_is_capped_but_every_bad_row_is_counted(admin_client):
    csv_text = "name,number\n" + "x,bad\n" * 150

    body = upload(admin_client, csv_text).json()

    assert (body["total_rows"], body["skipped"], len(body["errors"])) == (150, 150, 101)
    assert body["errors"][99] == "Row 101: invalid number 'bad'."
    assert body["errors"][100] == "... and 50 more skipped rows."


def test_a_header_without_rows_imports_nothing(admin_client):
    assert upload(admin_client, "name,number,tags\n").json() == result(total_rows=0)


# --- the file --------------------------------------------------------------------------------------


def test_a_missing_file_is_a_400(admin_client):
    multipart = admin_client.post(IMPORT_URL, {}, format="multipart")
    json = admin_client.post(IMPORT_URL, {}, format="json")

    assert (multipart.status_code, multipart.json()["errors"]) == (400, {"file": ["No file was submitted."]})
    # The file comes as multipart, as the schema documents: a JSON body is not read.
    assert (json.status_code, json.json()) == (415, {"detail": 'Unsupported media type "application/json" in request.'})


def test_an_empty_file_is_a_400(admin_client):
    response = upload(admin_client, b"")

    assert (response.status_code, response.json()["errors"]) == (400, {"file": ["The submitted file is empty."]})


def test_a_binary_file_is_a_400(admin_client):
    xlsx_like = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U0#\xf4\x00\x00\x00L\x02"

    response = upload(admin_client, xlsx_like, name="contacts.xlsx", content_type="application/octet-stream")

    assert response.status_code == 400
    message = "The file is not UTF-8 text (near row 1): save it as 'CSV UTF-8' and upload it again."
    assert response.json()["errors"] == {"file": [message]}


def test_a_file_without_a_number_column_is_a_400(admin_client):
    response = upload(admin_client, "first name,mobile\nRaj,966501234567\n")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The first row must name the columns, with a 'number' (or 'phone') column; found ['first name', 'mobile']."
    )


def test_a_file_that_turns_out_not_utf8_stores_nothing(org, admin_client, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_BATCH_SIZE", 10)
    good_rows = "".join(f"Customer {n},9665{n:08d}\n" for n in range(1000))  # 10 batches written first
    latin1_row = "José,966509999999\n".encode("latin-1")

    response = upload(admin_client, ("name,number\n" + good_rows).encode() + latin1_row)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The file is not UTF-8 text (near row ")
    assert Contact.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_an_upload_over_the_size_limit_is_a_413_before_it_is_read(admin_client, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 1024 * 1024)

    response = upload(admin_client, "name,number\n" + "Customer,966501234567\n" * 50_000)

    assert response.status_code == 413
    assert response.json() == {"detail": "The file is too large: at most 1 MB.", "code": "too_large"}
    assert Contact.objects.count() == 0


def test_the_service_refuses_a_file_over_the_size_limit(org, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 1024 * 1024)
    big = SimpleUploadedFile("contacts.csv", b"name,number\n" + b"x" * 1024 * 1024)

    with pytest.raises(ServiceError) as refused:
        services.contact_import_csv(organization=org, file=big)

    assert (refused.value.status_code, refused.value.code) == (413, "too_large")


def test_agents_cannot_import(org, agent_client):
    response = upload(agent_client, "name,number\nA,966501234567\n")

    assert response.status_code == 403
    assert Contact.objects.count() == 0


# --- volume ----------------------------------------------------------------------------------------


def test_a_10k_row_file_imports_in_batches_with_exact_counts(org, other_org, admin_client, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # the upload is spooled to disk, as a big one would be
    ContactFactory(organization=other_org, wa_id="966500000001", phone="+966500000001", name="Theirs")
    for n in range(100):
        ContactFactory(organization=org, wa_id=f"9665{n:08d}", phone=f"+9665{n:08d}", name="", tags=["old"])
    lines = ["name,number,tags"]
    errors = []
    bad_rows = {
        1234: ("Bad", "12345", "", "invalid number '12345'."),
        2500: ("No number", "", "", "missing number."),
        5000: ("Bad", "966-abc", "", "invalid number '966-abc'."),
        7777: ("Bad tag", "966599999999", "x" * 70, "Tag 'xxxxxxxxxxxxxxxxxxxx'... is longer than 64 characters."),
        9999: ("Bad", "+1555", "", "invalid number '+1555'."),
    }
    for n in range(10_000):
        if n in bad_rows:
            name, number, tags, reason = bad_rows[n]
            lines.append(f'{name},{number},"{tags}"')
            errors.append(f"Row {len(lines)}: {reason}")
        lines.append(f'Customer {n},9665{n:08d},"bulk{", even" if n % 2 == 0 else ""}"')
    for n in (10, 5000, 9998):  # repeated numbers: the later row's name wins
        lines.append(f"Repeat {n},+9665{n:08d},again")

    with CaptureQueriesContext(connection) as queries:
        response = upload(admin_client, "\n".join(lines) + "\n")

    assert response.status_code == 200
    assert response.json() == result(total_rows=10_008, imported=9_900, updated=103, skipped=5, errors=errors)
    assert Contact.objects.for_org(org).count() == 10_000
    assert Contact.objects.for_org(org).get(wa_id="966500000010").name == "Repeat 10"
    assert Contact.objects.for_org(org).get(wa_id="966500000011").name == "Customer 11"
    assert Contact.objects.for_org(other_org).get().name == "Theirs"
    tag_counts = {
        name: ContactTag.objects.for_org(org).filter(tag__name=name).count()
        for name in Tag.objects.for_org(org).values_list("name", flat=True)
    }
    assert tag_counts == {"bulk": 10_000, "even": 5_000, "old": 100, "again": 3}
    # Not per row: each batch of 1,000 numbers (11 here: 10 full, then the repeats) costs a lookup, the
    # upsert and the tag links, each split only as the database requires (SQLite: 999 parameters).
    per_batch = 1 + statements(Contact, rows=1000) + statements(ContactTag, rows=2000)
    assert len(queries) <= 11 * per_batch + 10


def statements(model, *, rows: int) -> int:
    """INSERT statements the database needs for `rows` rows of `model`."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows))
