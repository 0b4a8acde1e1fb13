"""Keyport's settings for a benchmark server in its own process: the no-op view added, persistent
SQLite connections (PostgreSQL keeps its pool). The database comes from the environment as ever."""

from keyport.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
ALLOWED_HOSTS = ["127.0.0.1"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
