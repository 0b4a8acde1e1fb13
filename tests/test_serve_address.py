"""Links in emails point at the address the development server was started on (KEYPORT_ADDR)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_BASE_URL = "from django.conf import settings; print(settings.PUBLIC_BASE_URL)"


def _public_base_url(tmp_path: Path, **extra_env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PUBLIC_BASE_URL", "KEYPORT_ADDR", "KEYPORT_ENV", "DATABASE_URL"}
    }
    environment.update({"KEYPORT_VAR_DIR": str(tmp_path / "var"), "DEBUG": "true", **extra_env})
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", PRINT_BASE_URL],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_email_links_follow_the_address_the_server_was_started_on(tmp_path):
    assert _public_base_url(tmp_path, KEYPORT_ADDR="127.0.0.1:8123") == "http://127.0.0.1:8123"


def test_email_links_default_to_serve_sh_default_address(tmp_path):
    assert _public_base_url(tmp_path) == "http://127.0.0.1:8000"


def test_a_public_base_url_given_wins_over_the_address(tmp_path):
    url = _public_base_url(tmp_path, KEYPORT_ADDR="0.0.0.0:9000", PUBLIC_BASE_URL="https://demo.example.com/")
    assert url == "https://demo.example.com"
