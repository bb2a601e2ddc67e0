"""Where stored files go: the local directory by default, an S3-compatible bucket with MEDIA_STORAGE=s3
(django-storages). Only the wiring is tested (the storage class chosen and its options, as the media and
knowledge-base code reach it): no test talks to S3. Settings are read once at import, hence subprocesses."""

import json
import subprocess
import sys

from tests.test_deploy_settings import BASE_DIR, manage, production_env

# What the hub's code reaches: the Media model's file field and default_storage (knowledge-base documents).
PROBE = """
import json
from django.core.files.storage import default_storage, storages
from messaging.models import Media
storage = storages["default"]
found = {
    "media_field_uses_default_storage": Media._meta.get_field("file").storage is default_storage,
    "class": f"{type(storage).__module__}.{type(storage).__qualname__}",
}
for name in ("bucket_name", "endpoint_url", "region_name", "access_key", "secret_key", "location",
             "addressing_style", "default_acl", "file_overwrite", "querystring_auth"):
    if hasattr(storage, name):
        found[name] = str(getattr(storage, name)) if name == "location" else getattr(storage, name)
print(json.dumps(found))
"""


def probe(**changes: str | None) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=BASE_DIR,
        env=production_env(**changes),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_media_is_stored_in_media_root_by_default():
    assert probe(MEDIA_ROOT="/srv/hub-media") == {
        "media_field_uses_default_storage": True,
        "class": "django.core.files.storage.filesystem.FileSystemStorage",
        "location": "/srv/hub-media",
    }


def test_media_storage_s3_stores_in_the_bucket_with_the_given_endpoint_and_keys():
    found = probe(
        MEDIA_STORAGE="s3",
        S3_BUCKET="hub-media",
        S3_ENDPOINT_URL="https://minio.internal:9000",
        S3_REGION="eu-central-1",
        S3_ACCESS_KEY_ID="AKIAHUB",
        S3_SECRET_ACCESS_KEY="hub-secret",
        S3_PREFIX="prod",
        S3_ADDRESSING_STYLE="path",
    )

    assert found == {
        "media_field_uses_default_storage": True,
        "class": "storages.backends.s3.S3Storage",
        "bucket_name": "hub-media",
        "endpoint_url": "https://minio.internal:9000",
        "region_name": "eu-central-1",
        "access_key": "AKIAHUB",
        "secret_key": "hub-secret",
        "location": "prod",
        "addressing_style": "path",
        # Private objects, never overwritten, handed out only by the hub (signed when at all).
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
    }


def test_media_storage_s3_without_keys_leaves_them_to_boto3():
    found = probe(MEDIA_STORAGE="s3", S3_BUCKET="hub-media")

    assert (found["bucket_name"], found["endpoint_url"], found["access_key"], found["secret_key"]) == (
        "hub-media",
        None,
        None,
        None,
    )


def test_media_storage_s3_needs_a_bucket():
    result = manage("check", env=production_env(MEDIA_STORAGE="s3"))

    assert result.returncode == 1
    assert (
        "django.core.exceptions.ImproperlyConfigured: The environment variable S3_BUCKET is required with "
        "MEDIA_STORAGE=s3." in result.stderr
    ), result.stderr


def test_an_unknown_media_storage_stops_start_up():
    result = manage("check", env=production_env(MEDIA_STORAGE="nfs"))

    assert result.returncode == 1
    assert "ImproperlyConfigured: MEDIA_STORAGE must be local or s3, not 'nfs'." in result.stderr
