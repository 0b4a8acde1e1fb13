"""The pytest plugin of `make mutate` (`-p mutation.plugin`): what makes a mutant's run quick.

mutmut runs each mutant's tests in a child it forks from its own process, each child a new pytest
session, with `-x`: the first failing test ends it.

- The SQLite test database is built once for the whole run, not once a mutant: pytest-django would
  build it again in every session, about half of a mutant's time here. The first session in
  mutmut's process (the run that finds which tests cover which function) builds it in memory and no
  session tears it down; a forked child starts with its own copy of that memory, so with a fresh,
  empty database of its own, as the first session had it. Each test still runs in a transaction
  rolled back after it (or, with `transaction=True`, has its tables emptied after it).
- The tests written for the mutated function's rules run first (the file named beside it in its
  target set's file, targets*.txt), then the others that cover it, each group in mutmut's order
  (quickest first): a function every test calls on the way (a booking's sync) is broken in a way
  those tests notice first. A mutant no test kills still runs every test that covers it.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def _tests_first() -> str | None:
    """The test file to run first for the mutant under test, from the target sets' files."""
    function = os.environ.get("MUTANT_UNDER_TEST", "").split("__mutmut_")[0]
    for targets in sorted(Path(__file__).parent.glob("targets*.txt")):
        for line in targets.read_text().splitlines():
            fields = line.split("#")[0].split()
            if len(fields) == 2 and fields[0] == function:
                return fields[1]
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    first = _tests_first()
    if first is not None:
        items.sort(key=lambda item: item.nodeid.split("::")[0] != first)  # stable: keeps the order within
