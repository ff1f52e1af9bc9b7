"""
The pytest plugin, as a project that installs signals_app sees it.

Each test runs pytest in a subprocess, in a directory of its own with no
conftest, so the fixtures can only come from the installed ``pytest11``
entry point. Run through ``./scripts/test``, which installs the checkout with
its entry points.
"""

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from django.conf import settings

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parent.parent

INNER_TESTS = """
from django.db.models.signals import post_save

from signals_app.dispatch import Signal, receiver
from testproject.shop.models import Customer, Order
from tests.factories import OrderFactory

pinged = Signal()
queue_me = Signal()
pings = []
saved = []


@receiver(pinged)
def note_ping(sender, **kwargs):
    pings.append(sender)


def note_save(sender, **kwargs):
    saved.append(sender)


def test_signal_recorder(signal_recorder, db):
    calls = signal_recorder(post_save, sender=Order)
    order = OrderFactory()
    assert [call.kwargs["instance"] for call in calls] == [order]


def test_connect_receiver(connect_receiver, db):
    assert connect_receiver(post_save, note_save, sender=Customer) is note_save
    OrderFactory()
    assert saved == [Customer]


def test_connect_receiver_ended_with_the_test(db):
    OrderFactory()
    assert saved == [Customer]


def test_mute_signals(mute_signals, signal_recorder):
    mute_signals(pinged)
    calls = signal_recorder(pinged)
    pinged.send(sender="muted")
    assert pings == []
    assert [call.sender for call in calls] == ["muted"]


def test_mute_signals_ended_with_the_test():
    pinged.send(sender="heard")
    assert pings == ["heard"]


def test_signal_deliveries(signal_deliveries, db):
    queued = []

    def note_queued(sender, event_id, **kwargs):
        queued.append(sender)

    queue_me.connect(note_queued, delivery="task", weak=False)
    try:
        queue_me.send(sender="queued")
        assert queued == []
        assert signal_deliveries.run() == 1
    finally:
        queue_me.disconnect(note_queued)
    assert queued == ["queued"]
"""


@pytest.fixture
def inner_pytester(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A pytester set up as a project of its own that uses this checkout's models."""
    pytester.makeini(
        f"""
        [pytest]
        DJANGO_SETTINGS_MODULE = {settings.SETTINGS_MODULE}
        pythonpath = {REPO_ROOT}
        django_find_project = false
        addopts = --strict-config --strict-markers -p no:cacheprovider
        filterwarnings =
            error
        """
    )
    pytester.makepyfile(test_inner=INNER_TESTS)
    # SQLite in memory for the inner run: a second run on PostgreSQL would
    # reuse, and replace, the test database of the run around it.
    monkeypatch.delenv("SIGNALS_APP_TEST_POSTGRES", raising=False)
    # The point is that pytest finds the plugin by itself.
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return pytester


def test_the_plugin_is_registered_as_an_entry_point():
    (entry_point,) = entry_points(group="pytest11", name="signals_app")

    assert entry_point.value == "signals_app.pytest_plugin"


def test_the_fixtures_need_no_conftest(inner_pytester: pytest.Pytester):
    result = inner_pytester.runpytest_subprocess()

    result.assert_outcomes(passed=6)


def test_the_plugin_can_be_left_out(inner_pytester: pytest.Pytester):
    result = inner_pytester.runpytest_subprocess(
        "-p", "no:signals_app", "-k", "signal_recorder"
    )

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'signal_recorder' not found*"])


def test_the_plugin_and_the_helpers_import_nothing_of_django_models():
    # pytest imports the plugin before Django is configured, and the helpers
    # are imported by conftests and test modules at collection time.
    code = (
        "import sys, signals_app.pytest_plugin, signals_app.testing\n"
        "loaded = {'django.db.models', 'django.apps.registry', 'signals_app.signals'}\n"
        "print(sorted(loaded & set(sys.modules)))\n"
    )

    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert run.stdout == "[]\n"
