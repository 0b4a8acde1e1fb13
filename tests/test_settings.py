import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from keyport.lib import env

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "KEYPORT_ENV": "production",
    "SECRET_KEY": "x" * 24 + "-production-secret-key-for-the-check-deploy-test",
    "ALLOWED_HOSTS": "keyport.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


def run_manage(*args: str, extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "KEYPORT_ENV",
            "ALLOWED_HOSTS",
            "EMAIL_HOST",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    environment.update({"KEYPORT_VAR_DIR": str(tmp_path / "var"), **extra_env})
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION_ENV, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_HOST"])
def test_production_refuses_to_start_without_required_variable(tmp_path, missing):
    production = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run_manage("check", extra_env=production, tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr


def test_bad_boolean_names_the_variable(tmp_path):
    result = run_manage("check", extra_env={"DEBUG": "maybe"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_bad_database_url_names_the_variable(tmp_path):
    result = run_manage("check", extra_env={"DATABASE_URL": "mysql://nobody@localhost/db"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres:// URL" in result.stderr


def test_laptop_secret_key_is_made_once_and_kept(tmp_path):
    first = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        extra_env={},
        tmp_path=tmp_path,
    )
    second = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        extra_env={},
        tmp_path=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip()
    assert len(first.stdout.strip()) >= 50
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_django_loggers_redact_guest_keys_and_sign_in_tokens_with_debug_on(tmp_path):
    script = "; ".join(
        [
            "import logging",
            "logging.getLogger('django.request').warning('Not Found: %s', '/key/GUESTKEY123/')",
            "logging.getLogger('django.server').info('\"GET /login/link/SIGNINTOKEN456/ HTTP/1.1\" 200 1')",
            "logging.getLogger('django.security.csrf').warning('Forbidden: /key/GUESTKEY789/open/1/')",
            "logging.getLogger('django.server').info('GET /portal/settings/email/EMAILTOKEN012/ HTTP/1.1')",
        ]
    )
    result = run_manage("shell", "--no-imports", "-c", script, extra_env={"DEBUG": "true"}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "Not Found: /key/[redacted]/" in output and "/login/link/[redacted]/" in output
    assert "Forbidden: /key/[redacted]/open/1/" in output
    assert "/portal/settings/email/[redacted]/" in output
    for secret in ("GUESTKEY123", "SIGNINTOKEN456", "GUESTKEY789", "EMAILTOKEN012"):
        assert secret not in output


def test_env_int_rejects_words_and_out_of_range(monkeypatch):
    monkeypatch.setenv("KEYPORT_TEST_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="KEYPORT_TEST_NUMBER must be a whole number"):
        env.env_int("KEYPORT_TEST_NUMBER", 1)
    monkeypatch.setenv("KEYPORT_TEST_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="KEYPORT_TEST_NUMBER must be at least 1"):
        env.env_int("KEYPORT_TEST_NUMBER", 1, minimum=1)
    monkeypatch.setenv("KEYPORT_TEST_NUMBER", "7")
    assert env.env_int("KEYPORT_TEST_NUMBER", 1, minimum=1) == 7


def test_env_choice_and_list(monkeypatch):
    monkeypatch.setenv("KEYPORT_TEST_CHOICE", "staging")
    with pytest.raises(ImproperlyConfigured, match="KEYPORT_TEST_CHOICE must be one of"):
        env.env_choice("KEYPORT_TEST_CHOICE", "development", ("development", "production"))
    monkeypatch.setenv("KEYPORT_TEST_LIST", " a.example , b.example,, ")
    assert env.env_list("KEYPORT_TEST_LIST") == ["a.example", "b.example"]


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    # The test database lives in memory, where SQLite reports "memory"; files use WAL.
    assert mode in {"wal", "memory"}
    assert "journal_mode=WAL" in connection.settings_dict["OPTIONS"]["init_command"]


def test_sqlite_file_database_uses_wal(tmp_path):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])",
        extra_env={},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wal"


def test_security_headers_and_csp_on_pages(client, db):
    response = client.get("/dashboard/login/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _redis_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis server at 127.0.0.1:6379")
def test_redis_url_gives_a_shared_cache_that_counts_across_processes(tmp_path):
    script = "; ".join(
        [
            "from django.conf import settings",
            "from django.core.cache import cache",
            "import uuid",
            "key = 'kp-test-' + uuid.uuid4().hex",
            "cache.add(key, 0)",
            "cache.incr(key)",
            "cache.incr(key)",
            "print('counted', cache.get(key), settings.CACHES['default']['BACKEND'])",
        ]
    )
    redis = {"REDIS_URL": "redis://127.0.0.1:6379/15"}
    result = run_manage("shell", "-c", script, extra_env=redis, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "counted 2 django.core.cache.backends.redis.RedisCache" in result.stdout


@pytest.mark.parametrize(
    ("switch", "threshold"), [({}, "5"), ({"DATABASE_PREPARED_STATEMENTS": "false"}, "None")]
)
def test_prepared_statements_on_postgresql_can_be_turned_off(tmp_path, switch, threshold):
    database = {"DATABASE_URL": "postgres://keyport@127.0.0.1:5432/keyport", **switch}
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = run_manage("shell", "-c", show, extra_env=database, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"'prepare_threshold': {threshold}" in result.stdout.splitlines()[-1]
