"""Vendored front-end libraries (static/vendor/, written by static/vendor/update.sh) are what their SHA256SUMS say,
carry their licence, and nothing in the web app loads a script or stylesheet from another origin."""

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor"
LIBRARIES = sorted(path for path in VENDOR.iterdir() if path.is_dir())
TEMPLATES = [
    path
    for path in Path(settings.BASE_DIR).rglob("*.html")
    if ".venv" not in path.parts and "staticfiles" not in path.parts and "node_modules" not in path.parts
]


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda path: path.name)
def test_each_vendored_file_matches_its_checksum_and_has_a_licence(library):
    sums = dict(reversed(line.split(maxsplit=1)) for line in (library / "SHA256SUMS").read_text().splitlines())
    files = {path.name for path in library.iterdir()} - {"SHA256SUMS"}
    assert set(sums) == files
    for name, digest in sums.items():
        assert hashlib.sha256((library / name).read_bytes()).hexdigest() == digest, name
    assert any(name.upper().startswith("LICENSE") for name in files)


def test_pages_load_scripts_and_styles_from_this_origin_only():
    remote = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)
    offenders = [str(path) for path in TEMPLATES if remote.search(path.read_text())]
    assert offenders == []


def test_pages_have_no_inline_scripts_styles_or_handlers():
    """The Content-Security-Policy refuses them: they would silently not run. E-mails are no pages: mail clients
    read only inline styles (and no script at all)."""
    inline = re.compile(r"""<script(?![^>]*\bsrc=)(?![^>]*type="application/json")[^>]*>|\sstyle=|\son[a-z]+=""")
    pages = [path for path in TEMPLATES if "admin" not in path.parts and "email" not in path.parts]
    offenders = [str(path) for path in pages if inline.search(path.read_text())]
    assert offenders == []


def test_emails_have_no_scripts_or_handlers():
    scripted = re.compile(r"<script|\son[a-z]+=", re.IGNORECASE)
    emails = [path for path in TEMPLATES if "email" in path.parts]
    assert emails
    offenders = [str(path) for path in emails if scripted.search(path.read_text())]
    assert offenders == []
