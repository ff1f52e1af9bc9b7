"""setting_changed reaches our receivers whenever a test overrides settings."""

from django.conf import Settings, UserSettingsHolder, settings
from django.core import signals as django_signals
from django.test import override_settings

from signals_app import signals
from tests.recorder import assert_same_calls


def test_override_settings_on_enter_and_exit(record):
    ours = record(signals.setting_changed)
    theirs = record(django_signals.setting_changed)

    with override_settings(SIGNALS_APP_EXAMPLE=1):
        entered = list(ours.calls)

    assert_same_calls(ours, theirs)
    assert entered == ours.calls[:1]
    # The sender is the class of the settings in effect once the change is made.
    assert ours.senders == [UserSettingsHolder, Settings]
    assert ours.values("setting", "value", "enter") == [
        ("SIGNALS_APP_EXAMPLE", 1, True),
        ("SIGNALS_APP_EXAMPLE", None, False),
    ]


def test_one_call_per_setting_changed(record):
    ours = record(signals.setting_changed)

    with override_settings(USE_TZ=False, TIME_ZONE="Europe/Paris"):
        assert settings.TIME_ZONE == "Europe/Paris"

    assert ours.values("setting", "value", "enter") == [
        ("USE_TZ", False, True),
        ("TIME_ZONE", "Europe/Paris", True),
        ("USE_TZ", True, False),
        ("TIME_ZONE", "UTC", False),
    ]


def test_pytest_django_settings_fixture(record, settings):
    ours = record(signals.setting_changed)

    settings.SIGNALS_APP_EXAMPLE = "on"

    assert ours.values("setting", "value", "enter") == [
        ("SIGNALS_APP_EXAMPLE", "on", True)
    ]
