"""Settings of ``benchmarks/queued.py`` and its worker processes.

The settings of the end-to-end scenario whose backend
``SIGNALS_APP_BENCH_BACKEND`` names (``db``, the default: django-tasks-db,
so the outbox; ``rq``; ``celery``), with their databases and queue, plus the
benchmark's app: one queued receiver on ``shop.Product`` and the plain task
it is measured against.
"""

import os

_BACKEND = os.environ.get("SIGNALS_APP_BENCH_BACKEND", "db")
if _BACKEND == "rq":
    from tests.e2e.settings_rq import *  # noqa: F403
elif _BACKEND == "celery":
    from tests.e2e.settings_celery import *  # noqa: F403
else:
    from tests.e2e.settings_worker import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.queued.BenchConfig"]  # noqa: F405

# benchmarks/queued.py measures the workers with Django's default (a new
# connection for every task, since db_worker and Celery close old
# connections around each) and with persistent ones.
if os.environ.get("SIGNALS_APP_BENCH_CONN_MAX_AGE"):
    for _db in DATABASES.values():  # noqa: F405
        _db["CONN_MAX_AGE"] = int(os.environ["SIGNALS_APP_BENCH_CONN_MAX_AGE"])
# Celery's Django fix-up closes connections only every this many tasks.
if os.environ.get("SIGNALS_APP_BENCH_CELERY_DB_REUSE_MAX"):
    CELERY_DB_REUSE_MAX = int(os.environ["SIGNALS_APP_BENCH_CELERY_DB_REUSE_MAX"])
