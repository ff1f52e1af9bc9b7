from io import StringIO

from django.apps import apps
from django.core.management import call_command

from signals_app.apps import SignalsAppConfig


def test_app_config_is_installed():
    config = apps.get_app_config("signals_app")

    assert isinstance(config, SignalsAppConfig)
    assert config.name == "signals_app"


def test_system_checks_pass():
    out = StringIO()

    # A check failing at ERROR level raises SystemCheckError.
    call_command("check", stdout=out)

    assert "no issues" in out.getvalue()
