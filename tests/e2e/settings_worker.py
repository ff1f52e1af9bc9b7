"""Settings of the worker scenario: ``tests/e2e/worker_scenario.py`` and its workers.

The scenario's driver and the ``manage.py db_worker`` processes it starts
share these settings, and so their databases: SQLite files in the
directory ``SIGNALS_APP_SCENARIO`` names, or, when SIGNALS_APP_TEST_POSTGRES
is set, PostgreSQL databases of their own on that server, named after
``SIGNALS_APP_SCENARIO_ID``. The driver creates them and drops them.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.e2e.scenario"]

_SCENARIO_DIR = os.environ["SIGNALS_APP_SCENARIO"]
_SCENARIO_ID = os.environ["SIGNALS_APP_SCENARIO_ID"]

if os.environ.get("SIGNALS_APP_TEST_POSTGRES"):
    DATABASES = {
        alias: {**db, "NAME": f"{db['NAME']}_{_SCENARIO_ID}"}
        for alias, db in DATABASES.items()
    }
else:
    DATABASES = {
        alias: {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(_SCENARIO_DIR, f"{alias}.sqlite3"),
            "OPTIONS": {
                # Two processes write: the driver and a worker. WAL lets each
                # read while the other writes; IMMEDIATE takes the write lock
                # at BEGIN, so a transaction waits (up to the timeout) rather
                # than failing when it first writes.
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
        for alias in DATABASES
    }
for _db in DATABASES.values():
    # The driver creates exactly these databases, under these names, for
    # the workers to find.
    _db["TEST"] = {"NAME": _db["NAME"]}
