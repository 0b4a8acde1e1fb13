"""Keyport's settings for a benchmark server in its own process: the no-op view added, persistent
SQLite connections (PostgreSQL keeps its pool). The database comes from the environment as ever.

BENCH_SQLITE_PRAGMAS (`synchronous=OFF,wal_autocheckpoint=0`) adds pragmas to every SQLite
connection, for what-ifs (`bench/access_check.py --sqlite-pragmas`)."""

import os

from keyport.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
ALLOWED_HOSTS = ["127.0.0.1"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
    DATABASES["default"]["OPTIONS"]["init_command"] += "".join(  # noqa: F405
        f"PRAGMA {pragma};" for pragma in os.environ.get("BENCH_SQLITE_PRAGMAS", "").split(",") if pragma
    )
