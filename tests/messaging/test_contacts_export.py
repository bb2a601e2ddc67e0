"""GET contacts/export: a streamed CSV of the organization's contacts, safe to open in a spreadsheet."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse

from messaging.models import Contact
from tests.conftest import client_for
from tests.messaging.factories import ContactFactory

EXPORT_URL = "/api/v1/contacts/export"


def exported(response) -> tuple[str, list[list[str]]]:
    """(raw text, rows) of a streamed CSV answer."""
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_it_streams_the_contacts_as_a_csv_attachment(org, admin_membership, time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC), tick=False)
    admin_client = client_for(admin_membership)  # a token issued in the frozen time
    ContactFactory(
        organization=org,
        name="رحاب",
        wa_id="966501234567",
        phone="+966501234567",
        tags=["VIP", "Lead"],
        opted_out=True,
        created_at=datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
        notes="=1+1 يفضّل المساء\nسطر ثانٍ",
    )
    ContactFactory(
        organization=org,
        name="Raj, Kumar",
        wa_id="12025550123",
        phone="+12025550123",
        created_at=datetime(2026, 2, 2, 9, 30, tzinfo=UTC),
    )

    response = admin_client.get(EXPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts-20260301-100005.csv"'
    text, rows = exported(response)
    assert text.startswith("\ufeffname,number,phone,tags,opted_out,created_at,notes\r\n")
    assert rows == [
        ["name", "number", "phone", "tags", "opted_out", "created_at", "notes"],
        ["Raj, Kumar", "12025550123", "'+12025550123", "", "false", "2026-02-02T09:30:00+00:00", ""],
        [
            "رحاب",
            "966501234567",
            "'+966501234567",
            "Lead, VIP",
            "true",
            "2026-02-01T09:30:00+00:00",
            "'=1+1 يفضّل المساء\nسطر ثانٍ",
        ],
    ]


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+SUM(1,2)", "'+SUM(1,2)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Sara = Boss", "Sara = Boss"),
        ("'quoted", "'quoted"),
    ],
)
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(name, cell, org, admin_client):
    ContactFactory(organization=org, name=name, tags=["=cmd", "ok"])

    _, rows = exported(admin_client.get(EXPORT_URL))

    assert rows[1][0] == cell
    assert rows[1][3] == "'=cmd, ok"


def test_the_list_filters_apply_to_the_export(org, admin_client):
    ContactFactory(organization=org, name="Vip one", tags=["VIP"])
    ContactFactory(organization=org, name="Vip gone", tags=["VIP"], opted_out=True)
    ContactFactory(organization=org, name="Other")

    _, rows = exported(admin_client.get(EXPORT_URL, {"tag": "VIP", "opted_out": "false"}))
    _, searched = exported(admin_client.get(EXPORT_URL, {"search": "gone", "ordering": "name"}))

    assert [row[0] for row in rows[1:]] == ["Vip one"]
    assert [row[0] for row in searched[1:]] == ["Vip gone"]


def test_a_malformed_filter_is_a_json_400(admin_client):
    response = admin_client.get(EXPORT_URL, {"opted_out": "perhaps"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["opted_out"]


def test_it_exports_only_the_callers_organization(org, other_org, admin_client):
    ContactFactory(organization=org, name="Ours", wa_id="966501234567", phone="+966501234567")
    ContactFactory(organization=other_org, name="Theirs", wa_id="966501234567", phone="+966501234567")
    ContactFactory(organization=other_org, name="Theirs too")

    _, rows = exported(admin_client.get(EXPORT_URL))

    assert [row[0] for row in rows[1:]] == ["Ours"]


def test_it_answers_csv_whatever_the_accept_header(org, admin_client):
    ContactFactory(organization=org, name="Raj")

    response = admin_client.get(EXPORT_URL, HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert [row[0] for row in exported(response)[1][1:]] == ["Raj"]


def test_the_export_reads_tags_per_chunk_not_per_contact(org, admin_client, django_assert_max_num_queries):
    for n in range(60):
        ContactFactory(organization=org, tags=[f"t{n % 3}", "all"])

    # user and membership (auth), the contacts, their tags (one chunk of 1,000)
    with django_assert_max_num_queries(4):
        _, rows = exported(admin_client.get(EXPORT_URL))

    assert len(rows) == 61


def test_an_export_imports_back_unchanged(org, admin_client):
    ContactFactory(organization=org, name="Raj", wa_id="966501234567", phone="+966501234567", tags=["VIP", "Lead"])
    ContactFactory(organization=org, name="-Dash", wa_id="12025550123", phone="+12025550123")
    text, _ = exported(admin_client.get(EXPORT_URL))

    response = admin_client.post(
        "/api/v1/contacts/import",
        {"file": SimpleUploadedFile("contacts.csv", text.encode())},
        format="multipart",
    )

    assert response.json() == {"total_rows": 2, "imported": 0, "updated": 2, "skipped": 0, "errors": []}
    assert Contact.objects.count() == 2
    assert Contact.objects.get(wa_id="966501234567").name == "Raj"


@pytest.mark.parametrize("fixture", ["agent_client", "anon_client"])
def test_agents_and_strangers_cannot_export(fixture, org, request):
    ContactFactory(organization=org)

    response = request.getfixturevalue(fixture).get(EXPORT_URL)

    assert response.status_code == {"agent_client": 403, "anon_client": 401}[fixture]
    assert response["Content-Type"] == "application/json"
