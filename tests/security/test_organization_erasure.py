"""Deleting an organization (the super-admin API; not the Django admin) also deletes its stored media files, after the
commit (accounts.hooks.organization_deleting, messaging's subscriber): those of its messages and of its uploads not
sent yet; never another organization's; none when the deletion rolls back."""

import pytest
from django.db import transaction
from django.urls import reverse

from accounts import hooks, services
from accounts.models import Organization
from messaging.models import Media
from messaging.services import erasure
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.messaging.factories import MediaFactory, MessageFactory


def storage_has(name: str) -> bool:
    return Media._meta.get_field("file").storage.exists(name)


def media_files(organization: Organization) -> list[str]:
    """The organization's stored files: a received image, an upload not sent yet, and a sent copy of another upload
    (its Media row shares the upload's file)."""
    received = MediaFactory(organization=organization, message=MessageFactory(organization=organization, type="image"))
    unsent = MediaFactory(organization=organization)
    sent = MediaFactory(organization=organization)
    MediaFactory(
        organization=organization,
        message=MessageFactory(organization=organization, type="image", direction="outbound"),
        file=sent.file.name,
    )
    names = [received.file.name, unsent.file.name, sent.file.name]
    assert [storage_has(name) for name in names] == [True, True, True]
    return names


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True, email="ops@platform.example")


def test_deleting_an_organization_deletes_its_media_files_after_the_commit(
    staff, org, other_org, django_capture_on_commit_callbacks
):
    mine, theirs = media_files(org), media_files(other_org)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(user=staff).delete(f"/api/v1/super-admin/organizations/{org.pk}")

    assert response.status_code == 204
    assert [storage_has(name) for name in mine] == [True, True, True]  # not before the commit
    for callback in callbacks:
        callback()
    assert [storage_has(name) for name in mine] == [False, False, False]
    assert [storage_has(name) for name in theirs] == [True, True, True]
    assert sorted(Media.objects.for_org(other_org).values_list("file", flat=True)) == sorted([*theirs, theirs[2]])


def test_organizations_are_not_deleted_in_the_django_admin(client, staff, org):
    mine = media_files(org)
    client.force_login(staff)

    response = client.post(reverse("admin:accounts_organization_delete", args=[org.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Organization.objects.filter(pk=org.pk).exists()
    assert Media.objects.for_org(org).count() == 4
    assert [storage_has(name) for name in mine] == [True, True, True]


def test_a_deletion_that_rolls_back_deletes_no_file(org, django_capture_on_commit_callbacks):
    mine, org_id = media_files(org), org.pk

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.organization_delete(organization=org)
        raise RuntimeError("something after the deletion failed")

    assert callbacks == []
    assert Media.objects.for_org(Organization.objects.get(pk=org_id)).count() == 4
    assert [storage_has(name) for name in mine] == [True, True, True]


def test_the_files_are_deleted_by_tasks_of_a_bounded_size(
    org, monkeypatch, task_runs, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(erasure, "FILES_PER_TASK", 2)
    names, org_id = sorted(media_files(org)), org.pk

    with django_capture_on_commit_callbacks(execute=True):
        services.organization_delete(organization=org)

    assert task_runs == [
        ("messaging.tasks.erasure.delete_media_files", (org_id, names[:2]), {}),
        ("messaging.tasks.erasure.delete_media_files", (org_id, names[2:]), {}),
    ]
    assert [storage_has(name) for name in names] == [False, False, False]


def test_an_organization_without_files_queues_nothing(org, task_runs, django_capture_on_commit_callbacks):
    MessageFactory(organization=org)

    with django_capture_on_commit_callbacks(execute=True):
        services.organization_delete(organization=org)

    assert task_runs == []
    assert not Organization.objects.exists()


def test_a_subscriber_that_fails_aborts_the_deletion(org, monkeypatch, django_capture_on_commit_callbacks):
    mine, org_id = media_files(org), org.pk

    def failing(*, organization):
        raise OSError("the storage cannot be listed")

    monkeypatch.setattr(
        hooks.organization_deleting, "subscribers", [erasure.organization_media_files_delete_on_commit, failing]
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(OSError):
        services.organization_delete(organization=org)

    assert callbacks == []
    assert Media.objects.for_org(Organization.objects.get(pk=org_id)).count() == 4
    assert [storage_has(name) for name in mine] == [True, True, True]
