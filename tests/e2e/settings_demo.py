"""
Settings of ``tests/e2e/test_demo.py``: the example project as
``./scripts/demo`` runs it, audit and demo apps included, on a SQLite file of
the test's own (``SIGNALS_APP_DEMO_DB``), which the demo's worker shares.
"""

import os

from testproject.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["SIGNALS_APP_DEMO_DB"],
    }
}
