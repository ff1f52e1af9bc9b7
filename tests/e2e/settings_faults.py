"""Settings of the fault scenario: ``tests/e2e/fault_scenario.py`` and its workers.

One backend's scenario settings, chosen by ``SIGNALS_APP_FAULT_BACKEND``
(``db``, ``rq``, ``celery`` or ``celery-acks-late``), plus the blocking
receiver of ``tests/e2e/faults``.
"""

import os

_BACKEND = os.environ.get("SIGNALS_APP_FAULT_BACKEND", "db")

if _BACKEND == "rq":
    from tests.e2e.settings_rq import *  # noqa: F403
elif _BACKEND.startswith("celery"):
    if _BACKEND == "celery-acks-late":
        os.environ["SIGNALS_APP_CELERY_ACKS_LATE"] = "1"
    from tests.e2e.settings_celery import *  # noqa: F403
else:
    from tests.e2e.settings_worker import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.e2e.faults"]  # noqa: F405
