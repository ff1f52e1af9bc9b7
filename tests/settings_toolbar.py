"""Test settings with django-debug-toolbar showing signals_app's panel.

Used by ``tests/toolbar_panel_check.py``, run in its own process by
``tests/test_panels.py``: apps cannot be added to a running project.
"""

from typing import Any

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.staticfiles", "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "tests.urls_toolbar"
STATIC_URL = "/static/"
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
]

# No SIGNALS_APP_TRACE: enabling the panel turns tracing on by itself.

DEBUG_TOOLBAR_PANELS = [
    "debug_toolbar.panels.signals.SignalsPanel",  # the toolbar's own, same name
    "signals_app.panels.SignalsPanel",
]
DEBUG_TOOLBAR_CONFIG = {
    "SHOW_TOOLBAR_CALLBACK": "tests.settings_toolbar.show_toolbar",
    # pytest-django sets DEBUG to False; the toolbar is wanted here anyway.
    "IS_RUNNING_TESTS": False,
}


def show_toolbar(request: Any) -> bool:
    return True
