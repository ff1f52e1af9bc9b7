"""Settings of ``benchmarks/queued.py`` and its ``db_worker`` processes.

The worker scenario's settings (its SQLite files or PostgreSQL databases,
django-tasks-db as the task backend, so the outbox), plus the benchmark's
one queued receiver, on ``shop.Product``.
"""

import os

from tests.e2e.settings_worker import *  # noqa: F403
from tests.e2e.settings_worker import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.queued.BenchConfig"]

# benchmarks/queued.py measures the workers with Django's default (a new
# connection for every task, since db_worker closes old connections around
# each) and with persistent ones.
if os.environ.get("SIGNALS_APP_BENCH_CONN_MAX_AGE"):
    for _db in DATABASES.values():  # noqa: F405
        _db["CONN_MAX_AGE"] = int(os.environ["SIGNALS_APP_BENCH_CONN_MAX_AGE"])
