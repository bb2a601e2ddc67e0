"""deploy/systemd: systemd accepts the units, and every long-running process checks the configuration first."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
UNITS = BASE_DIR / "deploy" / "systemd"
LONG_RUNNING = [
    "whatsapp-hub-gunicorn@.service",
    "whatsapp-hub-daphne@.service",
    "whatsapp-hub-worker@.service",
    "whatsapp-hub-beat.service",
]
CHECK = "ExecStartPre=/srv/whatsapp-hub/app/.venv/bin/python manage.py check --deploy --fail-level ERROR"


@pytest.mark.parametrize("unit", LONG_RUNNING)
def test_every_process_refuses_a_half_set_configuration(unit):
    lines = (UNITS / unit).read_text().splitlines()

    assert CHECK in lines
    assert "EnvironmentFile=/etc/whatsapp-hub/env" in lines
    assert "Restart=always" in lines


def test_the_target_starts_one_beat_and_every_kind_of_process():
    wants = " ".join(
        line.removeprefix("Wants=")
        for line in (UNITS / "whatsapp-hub.target").read_text().splitlines()
        if line.startswith("Wants=")
    ).split()

    assert wants == [
        "whatsapp-hub-gunicorn@8000.service",
        "whatsapp-hub-gunicorn@8010.service",
        "whatsapp-hub-daphne@8001.service",
        "whatsapp-hub-daphne@8002.service",
        "whatsapp-hub-worker@1.service",
        "whatsapp-hub-beat.service",
    ]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    # The units name the production layout (/srv/whatsapp-hub/app, its .venv): point it at this checkout.
    venv = Path(sys.executable).parent.parent
    instances = {
        "whatsapp-hub-gunicorn@.service": "whatsapp-hub-gunicorn@8000.service",
        "whatsapp-hub-daphne@.service": "whatsapp-hub-daphne@8001.service",
        "whatsapp-hub-worker@.service": "whatsapp-hub-worker@1.service",
    }
    names = []
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/whatsapp-hub/app/.venv", str(venv))
        (tmp_path / instances.get(unit.name, unit.name)).write_text(
            text.replace("/srv/whatsapp-hub/app", str(BASE_DIR))
        )
        names.append(str(tmp_path / instances.get(unit.name, unit.name)))

    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(names)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "warning"},
        check=False,
    )

    assert (result.returncode, result.stdout + result.stderr) == (0, "")
