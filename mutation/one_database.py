"""A pytest plugin for `make mutate` (`-p mutation.one_database`): the SQLite test database is
built once for the whole run, not once a mutant.

mutmut runs each mutant's tests in a child it forks from its own process, each child a new
pytest session, and pytest-django would build the test database again in every one: about half
of a mutant's time here. Instead the first session in mutmut's process (the run that finds
which tests cover which function) builds it in memory and no session tears it down; a forked
child starts with its own copy of that memory, so with a fresh, empty database of its own,
exactly as the first session had it. Each test still runs in a transaction rolled back after it
(or, with `transaction=True`, has the tables emptied after it), as under pytest-django alone.
"""

from __future__ import annotations

import pytest

_built = False  # in this process, or in the one it was forked from


class _OneDatabase:
    @pytest.fixture(scope="session")
    @staticmethod
    def django_db_setup(
        request, django_test_environment, django_db_blocker, django_db_use_migrations
    ) -> None:  # type: ignore[no-untyped-def]
        global _built
        if not _built:
            from django.conf import settings
            from django.test.utils import setup_databases
            from pytest_django.fixtures import _disable_migrations

            if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
                raise pytest.UsageError("make mutate runs on SQLite: unset DATABASE_URL.")
            if not django_db_use_migrations:
                _disable_migrations()
            with django_db_blocker.unblock():
                setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
            _built = True


def pytest_configure(config: pytest.Config) -> None:
    # Registered now, after pytest-django, so that this django_db_setup is the one tests get.
    config.pluginmanager.register(_OneDatabase, "keyport-one-database")
