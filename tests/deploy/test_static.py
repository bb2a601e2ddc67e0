"""Production static files: `collectstatic` (deploy/release.sh) writes hashed names that every page's
`{% static %}` finds in the manifest (a missing one would be a 500 in production only), and the ES modules import
each other by their hashed names, so a module cached for a year never imports another release's."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_deploy_settings import BASE_DIR, production_env

IMPORT = re.compile(r"""^import\s.*?\sfrom\s+["'](\./[^"']+)["'];""", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("static")
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=production_env(STATIC_ROOT=str(root)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return root


def _manifest(root: Path) -> dict[str, str]:
    return json.loads((root / "staticfiles.json").read_text())["paths"]


def test_every_static_file_a_page_names_is_in_the_manifest(collected):
    named = set()
    for template in BASE_DIR.glob("*/templates/**/*.html"):
        named |= set(re.findall(r"""{% static ['"]([^'"]+)['"] %}""", template.read_text()))
    manifest = _manifest(collected)

    assert {"css/app.css", "img/icons.svg", "js/inbox.js"} <= named
    assert sorted(named - set(manifest)) == []
    for name in named:
        hashed = manifest[name]
        assert re.fullmatch(r".+\.[0-9a-f]{12}\.[A-Za-z0-9]+", hashed), hashed
        assert (collected / hashed).is_file()
        assert (collected / f"{hashed}.gz").is_file() or (collected / hashed).stat().st_size < 200


def test_modules_import_each_other_by_hashed_name(collected):
    manifest = _manifest(collected)
    inbox = collected / manifest["js/inbox.js"]

    imports = IMPORT.findall(inbox.read_text())

    assert len(imports) >= 5
    for target in imports:
        assert re.fullmatch(r"\./[a-z-]+\.[0-9a-f]{12}\.js", target), target
        assert (inbox.parent / target).is_file(), target
