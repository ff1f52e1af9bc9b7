import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from signals_app.apps import SignalsAppConfig


def test_app_config_is_installed():
    config = apps.get_app_config("signals_app")

    assert isinstance(config, SignalsAppConfig)
    assert config.name == "signals_app"


# Django 6.1's check command checks every database too.
@pytest.mark.django_db(databases="__all__")
def test_system_checks_pass():
    out = StringIO()

    # A check failing at ERROR level raises SystemCheckError.
    call_command("check", stdout=out)

    assert "no issues" in out.getvalue()


# --- installing happens when Django loads the app, not on import --------------------

REPO = Path(__file__).resolve().parent.parent

# Run in a fresh process: prints, as JSON, what of Django's changed between
# django.setup() (with the apps given in argv) and the import of every public
# module of signals_app: the class of each built-in signal, and every
# attribute of the classes whose methods signals_app could replace.
_PROBE = """\
import importlib
import json
import pkgutil
import sys

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=sys.argv[1:],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)

from django.core import signals as core_signals
from django.db import models
from django.db.models import signals as model_signals
from django.dispatch import Signal

NAMES = [
    "class_prepared", "pre_init", "post_init", "pre_save", "post_save",
    "pre_delete", "post_delete", "m2m_changed", "pre_migrate", "post_migrate",
    "request_started", "request_finished", "got_request_exception",
    "setting_changed",
]
CLASSES = [models.QuerySet, models.Manager, models.Model, Signal,
           model_signals.ModelSignal]


def name_of(thing):
    return f"{getattr(thing, '__module__', '?')}.{getattr(thing, '__qualname__', '?')}"


def snapshot():
    seen = {}
    for name in NAMES:
        module = model_signals if hasattr(model_signals, name) else core_signals
        seen[name] = name_of(type(getattr(module, name)))
    for cls in CLASSES:
        for attribute, value in vars(cls).items():
            seen[f"{cls.__name__}.{attribute}"] = name_of(value)
    return seen


before = snapshot()
django.setup()
loaded = snapshot()
import signals_app

for module in pkgutil.walk_packages(signals_app.__path__, "signals_app."):
    if not any(part.startswith("_") for part in module.name.split(".")):
        importlib.import_module(module.name)
imported = snapshot()
print(json.dumps({
    "setup": {key: value for key, value in loaded.items() if before.get(key) != value},
    "import": {key: value for key, value in imported.items()
               if loaded.get(key) != value},
}))
"""


def _probe(*installed_apps: str) -> dict[str, dict[str, str]]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *installed_apps],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            key: value
            for key, value in os.environ.items()
            if key != "DJANGO_SETTINGS_MODULE"
        },
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_importing_signals_app_without_installing_it_changes_nothing_of_django():
    changed = _probe("django.contrib.contenttypes", "django.contrib.auth")

    assert changed == {"setup": {}, "import": {}}


def test_django_setup_with_the_app_installed_switches_signals_and_querysets():
    changed = _probe("django.contrib.contenttypes", "signals_app")

    assert changed["setup"]["post_save"] == "signals_app.signals.ModelSignal"
    assert (
        changed["setup"]["request_started"] == "signals_app.dispatch.dispatcher.Signal"
    )
    assert changed["setup"]["QuerySet.update"] == "signals_app.bulk.patch._update"
    assert changed["import"] == {}
