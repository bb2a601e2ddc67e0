"""Syncing a WABA's templates from Meta: every page of the fake Graph API's listing, cursor after cursor; templates
gone from Meta marked deleted, renamed ones kept as one row; a refused page changes nothing; twice is once; two at
once never duplicate a row; on demand (POST templates/sync, GET templates/syncs/{id}) and by beat."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuditLog
from templates import services
from templates.models import MessageTemplate, TemplateSync
from templates.tasks import schedule_template_syncs
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_WABA_ID
from tests.messaging.factories import WhatsAppNumberFactory
from tests.races import committed_meanwhile
from tests.templates.factories import MessageTemplateFactory, TemplateSyncFactory
from tests.templates.support import committed

SYNC = "/api/v1/templates/sync"
PAGES = 3  # 205 templates, 100 a page


def _library(fake_meta, count: int = 205) -> list[dict]:
    return [
        fake_meta.add_template(
            f"promo_{n:03d}",
            category="MARKETING" if n % 2 else "UTILITY",
            components=[
                {"type": "BODY", "text": f"Offer {n} for {{{{1}}}} today.", "example": {"body_text": [["Maya"]]}}
            ],
        )
        for n in range(count)
    ]


def _run(org, **fields) -> TemplateSync:
    sync = TemplateSyncFactory(organization=org, **fields)
    services.template_sync_run(organization_id=org.pk, sync_id=sync.pk)
    sync.refresh_from_db()
    return sync


def _listing_requests(fake_meta) -> list:
    return fake_meta.find_requests(method="GET", path_endswith=f"/{DEFAULT_WABA_ID}/message_templates")


def test_a_sync_reads_every_page_and_stores_every_template(org, cloud, fake_meta):
    library = _library(fake_meta)

    sync = _run(org)

    assert (sync.status, sync.pages, sync.created, sync.updated, sync.deleted, sync.error) == (
        "succeeded",
        PAGES,
        205,
        0,
        0,
        "",
    )
    requests = _listing_requests(fake_meta)
    assert [r.query.get("limit") for r in requests] == ["100"] * PAGES
    assert "after" not in requests[0].query and requests[1].query["after"] != requests[2].query["after"]
    assert requests[0].query["fields"] == services.SYNC_FIELDS
    stored = {t.meta_id: t for t in MessageTemplate.objects.filter(organization=org)}
    assert set(stored) == {t["id"] for t in library}
    sample = stored[library[7]["id"]]
    assert (sample.name, sample.language, sample.category, sample.sub_category, sample.status, sample.waba_id) == (
        "promo_007",
        "en_US",
        "MARKETING",
        "CUSTOM",
        "APPROVED",
        DEFAULT_WABA_ID,
    )
    assert sample.components == library[7]["components"]
    assert sample.last_synced_at is not None


def test_templates_gone_from_meta_are_marked_and_renamed_ones_keep_their_row(org, cloud, fake_meta):
    library = _library(fake_meta, 5)
    _run(org)
    renamed, gone = library[1], library[3]
    kept_row = MessageTemplate.objects.get(meta_id=renamed["id"])
    with fake_meta.lock:
        renamed["name"] = "promo_renamed"
        renamed["status"] = "PAUSED"
        fake_meta.templates[DEFAULT_WABA_ID].remove(gone)

    sync = _run(org)

    assert (sync.created, sync.updated, sync.deleted) == (0, 1, 1)
    assert MessageTemplate.objects.filter(organization=org).count() == 5
    row = MessageTemplate.objects.get(meta_id=renamed["id"])
    assert (row.pk, row.name, row.status, row.deleted_at) == (kept_row.pk, "promo_renamed", "PAUSED", None)
    deleted = MessageTemplate.objects.get(meta_id=gone["id"])
    assert (deleted.status, deleted.deleted_at is not None) == ("DELETED", True)
    assert sorted(MessageTemplate.objects.live().values_list("name", flat=True)) == [
        "promo_000",
        "promo_002",
        "promo_004",
        "promo_renamed",
    ]


def test_a_template_back_at_meta_is_live_again(org, cloud, fake_meta):
    [template] = _library(fake_meta, 1)
    MessageTemplateFactory(organization=org, meta_id=template["id"], status="DELETED", deleted_at="2026-01-01T00:00Z")

    sync = _run(org)

    assert (sync.created, sync.updated) == (0, 1)
    row = MessageTemplate.objects.get()
    assert (row.status, row.deleted_at, row.name) == ("APPROVED", None, template["name"])


def test_a_sync_leaves_other_accounts_and_templates_newer_than_its_listing_alone(org, cloud, fake_meta):
    _library(fake_meta, 2)
    other_account = MessageTemplateFactory(organization=org, waba_id="999")
    # Created while Meta was listing (the hub submitted it meanwhile): the listing could not have it.
    newer = MessageTemplateFactory(organization=org, created_at=timezone.now() + timedelta(minutes=1))

    sync = _run(org)

    assert sync.deleted == 0
    assert list(
        MessageTemplate.objects.filter(pk__in=[other_account.pk, newer.pk]).values_list("deleted_at", flat=True)
    ) == [None, None]


def test_a_refused_page_fails_the_sync_and_changes_nothing(org, cloud, fake_meta):
    library = _library(fake_meta)
    stale = MessageTemplateFactory(organization=org, meta_id=library[0]["id"], name="old_name")
    missing_at_meta = MessageTemplateFactory(organization=org)
    fake_meta.fail_next(80007, endpoint="templates", skip=1)  # the second page

    sync = _run(org)

    assert (sync.status, sync.pages, sync.created, sync.updated, sync.deleted) == ("failed", 1, 0, 0, 0)
    assert sync.error == "Meta refused page 2 of the listing: Rate limit issues (80007). Nothing was changed."
    assert list(MessageTemplate.objects.order_by("id").values_list("pk", "name", "deleted_at")) == [
        (stale.pk, "old_name", None),
        (missing_at_meta.pk, missing_at_meta.name, None),
    ]
    audit = AuditLog.objects.get(action="template.sync")
    assert audit.data == {"waba_id": DEFAULT_WABA_ID, "status": "failed", "pages": 1, "error": sync.error}


def test_a_sync_twice_is_a_sync_once(org, cloud, fake_meta):
    _library(fake_meta, 3)
    first = _run(org)
    fields = ("pk", "meta_id", "name", "status", "components", "deleted_at")
    rows = list(MessageTemplate.objects.order_by("id").values_list(*fields))

    second = _run(org)

    assert (first.created, second.created, second.updated, second.deleted) == (3, 0, 0, 0)
    assert list(MessageTemplate.objects.order_by("id").values_list(*fields)) == rows
    assert AuditLog.objects.filter(action="template.sync").count() == 1  # nobody asked, nothing changed: no entry


def test_a_sync_runs_once_however_often_its_task_runs(org, cloud, fake_meta):
    _library(fake_meta, 2)
    sync = _run(org)

    services.template_sync_run(organization_id=org.pk, sync_id=sync.pk)

    assert len(_listing_requests(fake_meta)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the race needs PostgreSQL's lock waits")
@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_never_duplicate_a_row(org, cloud, fake_meta):
    library = _library(fake_meta, 30)
    first, second = TemplateSyncFactory(organization=org), TemplateSyncFactory(organization=org)

    # The first sync's rows sit uncommitted while the second writes the same ones (its insert waits on them).
    with committed_meanwhile(lambda: services.template_sync_run(organization_id=org.pk, sync_id=first.pk)):
        services.template_sync_run(organization_id=org.pk, sync_id=second.pk)

    assert MessageTemplate.objects.filter(organization=org).count() == 30
    assert set(MessageTemplate.objects.values_list("meta_id", flat=True)) == {t["id"] for t in library}
    assert set(TemplateSync.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_sync_is_asked_for_and_read_over_the_api(marketing_client, marketing_membership, org, cloud, fake_meta):
    _library(fake_meta, 2)

    response = committed(marketing_client.post, SYNC, {}, format="json")

    assert response.status_code == 202
    sync = TemplateSync.objects.get()
    body = response.json()
    assert (body["sync_id"], body["status"]) == (sync.pk, "queued")  # the task runs after the commit
    assert [s["id"] for s in body["syncs"]] == [sync.pk]
    detail = marketing_client.get(f"/api/v1/templates/syncs/{sync.pk}").json()
    assert {key: detail[key] for key in ("waba_id", "status", "pages", "created", "updated", "deleted", "error")} == {
        "waba_id": DEFAULT_WABA_ID,
        "status": "succeeded",
        "pages": 1,
        "created": 2,
        "updated": 0,
        "deleted": 0,
        "error": "",
    }
    audit = AuditLog.objects.get(action="template.sync")
    assert (audit.actor_id, audit.data["created"]) == (marketing_membership.user_id, 2)


def test_one_sync_per_account_of_the_organizations_cloud_numbers(admin_client, org, cloud, sandbox, fake_meta):
    WhatsAppNumberFactory(organization=org, waba_id="5467539754836534")
    WhatsAppNumberFactory(organization=org, waba_id=DEFAULT_WABA_ID)  # the same account twice: one sync

    body = committed(admin_client.post, SYNC, {}, format="json").json()

    assert [s["waba_id"] for s in body["syncs"]] == [DEFAULT_WABA_ID, "5467539754836534"]


def test_a_number_syncs_its_own_account(admin_client, org, cloud, fake_meta):
    other = WhatsAppNumberFactory(organization=org, waba_id="5467539754836534")

    body = committed(admin_client.post, SYNC, {"number_id": other.pk}, format="json").json()

    assert [s["waba_id"] for s in body["syncs"]] == ["5467539754836534"]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (
            "sandbox",
            "Only Cloud API numbers with a waba_id have templates at Meta to sync: sandbox templates live here.",
        ),
        ("none", "No Cloud API number to sync templates from: connect one first."),
    ],
)
def test_there_is_nothing_to_sync_without_a_cloud_number(admin_client, sandbox, fake_meta, number, message):
    body = {"number_id": sandbox.pk} if number == "sandbox" else {}

    assert assert_error(admin_client.post(SYNC, body, format="json"), 400)["errors"] == {"number_id": [message]}
    assert TemplateSync.objects.count() == 0


def test_agents_do_not_sync(agent_client, cloud, fake_meta):
    assert_error(agent_client.post(SYNC, {}, format="json"), 403)
    assert TemplateSync.objects.count() == 0


def test_a_queued_sync_is_not_queued_twice(org, cloud, fake_meta):
    queued = TemplateSyncFactory(organization=org)

    [sync] = services.template_sync_request(organization=org, waba_id=DEFAULT_WABA_ID)

    assert sync.pk == queued.pk


def test_beat_syncs_every_account_of_every_active_organization(org, other_org, cloud, fake_meta, task_runs):
    WhatsAppNumberFactory(organization=other_org, waba_id=DEFAULT_WABA_ID)
    WhatsAppNumberFactory(organization=org, waba_id="", phone_number_id="no-waba")
    deleted = WhatsAppNumberFactory(organization=org, waba_id="777")
    deleted.deleted_at = deleted.created_at
    deleted.save()
    suspended = WhatsAppNumberFactory(waba_id="888")
    suspended.organization.status = "suspended"
    suspended.organization.save()
    _library(fake_meta, 1)

    assert committed(schedule_template_syncs.delay).result == 2
    assert sorted(TemplateSync.objects.values_list("organization_id", "waba_id", "status")) == sorted(
        [(org.pk, DEFAULT_WABA_ID, "succeeded"), (other_org.pk, DEFAULT_WABA_ID, "succeeded")]
    )


def test_a_number_hidden_from_the_caller_is_not_synced(org, fake_meta):
    marketer = MembershipFactory(organization=org, role="marketing")
    hidden = WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)

    body = assert_error(client_for(marketer).post(SYNC, {"number_id": hidden.pk}, format="json"), 400)

    assert body["errors"] == {"number_id": ["No such WhatsApp number in this organization."]}
    assert TemplateSync.objects.count() == 0
