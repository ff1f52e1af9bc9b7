"""
System checks (signals_app.checks): a lazy sender that never resolves is
reported by ``manage.py check`` as ``signals_app.E001``; settings that cannot
work as ``signals_app.E002`` (a wrong type), ``E003`` (a task backend TASKS
lacks), ``E004`` (a queue the backend lacks), ``E005`` (a backend that does
not load), ``E006`` (its app not installed) and ``E007`` (no Tasks API); a
delete receiver for any sender as the warning ``signals_app.W001``.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import ERROR, WARNING, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test.utils import isolate_apps

from signals_app import inspector, signals
from signals_app.checks import check_settings
from signals_app.dispatch import receiver
from signals_app.dispatch.names import signal_name
from testproject.shop.models import Note, Order
from tests.queuing.project import DJANGO_TASKS, MISCONFIGURED, manage, settings_module

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("signals_left_clean")


def order_saved(**kwargs):
    pass


def _run_checks():
    # Django 6.1's run_checks() checks every database unless told which: its
    # JSONField check asks SQLite whether it supports JSON, which a test
    # without database access may not do. These checks read no database.
    return run_checks(databases=[])


class Auditor:
    def __call__(self, **kwargs):
        pass


def _connect(signal, receiver, sender, **options):
    """Connect as a user would; return the ``file:line`` of the connect() call."""
    line = sys._getframe().f_lineno + 1
    signal.connect(receiver, sender=sender, **options)
    return f"{__file__}:{line}"


def _e001():
    return [message for message in _run_checks() if message.id == "signals_app.E001"]


def test_unknown_model_is_reported():
    connected_at = _connect(signals.post_save, order_saved, "shop.Ordr")

    [error] = _e001()

    assert error.level == ERROR
    # As Django's own signals.E001: the receiver's module, not its repr.
    assert error.obj == "tests.test_checks"
    assert error.msg == (
        f"tests.test_checks.order_saved was connected at {connected_at} to "
        "django.db.models.signals.post_save for the sender 'shop.Ordr', but app "
        "'shop' has no model 'Ordr', so it is never called."
    )
    assert "INSTALLED_APPS" in error.hint


def test_unknown_model_hint_suggests_the_closest_model():
    _connect(signals.post_save, order_saved, "shop.Ordr")

    [error] = _e001()

    assert error.hint.startswith("Did you mean 'shop.Order'? ")


def test_unknown_model_hint_suggests_across_case_and_apps():
    _connect(signals.post_save, order_saved, "shops.customer")

    [error] = _e001()

    assert error.hint.startswith("Did you mean 'shop.Customer'? ")


def test_unknown_model_hint_suggests_nothing_when_nothing_is_close():
    _connect(signals.post_save, order_saved, "nosuchapp.Thing")

    [error] = _e001()

    assert error.hint == (
        "Correct the 'app_label.ModelName' string, or add the app to INSTALLED_APPS."
    )


def test_uninstalled_app_is_reported():
    connected_at = _connect(signals.pre_delete, order_saved, "nosuchapp.Thing")

    [error] = _e001()

    assert "django.db.models.signals.pre_delete" in error.msg
    assert "'nosuchapp.Thing'" in error.msg
    assert "app 'nosuchapp' isn't installed" in error.msg
    assert connected_at in error.msg


def test_callable_instance_is_named_by_its_class():
    auditor = Auditor()
    _connect(signals.m2m_changed, auditor, "shop.Nope")

    [error] = _e001()

    assert error.msg.startswith("tests.test_checks.Auditor was connected at ")
    assert error.obj == "tests.test_checks"


def test_receiver_decorator_reports_where_it_decorated():
    line = sys._getframe().f_lineno + 2

    @receiver(signals.post_save, sender="shop.Ordr")
    def decorated(**kwargs):
        pass

    [error] = _e001()

    assert error.msg.startswith(
        "tests.test_checks.test_receiver_decorator_reports_where_it_decorated"
        f".<locals>.decorated was connected at {__file__}:{line} to "
    )


def test_each_unresolved_connection_is_reported():
    _connect(signals.post_save, order_saved, "shop.Ordr")
    _connect(signals.post_delete, order_saved, "shop.Ordr")

    signal_names = sorted(error.msg.split(" to ")[1].split()[0] for error in _e001())

    assert signal_names == [
        "django.db.models.signals.post_delete",
        "django.db.models.signals.post_save",
    ]


def test_unresolved_sender_is_the_only_error_reported():
    _connect(signals.post_save, order_saved, "shop.Ordr")

    serious = [message.id for message in _run_checks() if message.is_serious()]

    # Not also Django's models.E022 for the same lazy reference.
    assert serious == ["signals_app.E001"]


def test_lazy_disconnect_withdraws_a_waiting_connection_from_the_report():
    signals.post_save.connect(order_saved, sender="shop.Ordr")

    assert signals.post_save.disconnect(order_saved, sender="shop.Ordr") is None

    assert [m.id for m in _run_checks() if m.is_serious()] == []


# On Django 6.1, manage.py check looks at every database.
@pytest.mark.django_db(databases="__all__")
def test_check_command_fails_on_an_unresolved_sender():
    _connect(signals.post_save, order_saved, "shop.Ordr")

    with pytest.raises(SystemCheckError, match=r"\(signals_app\.E001\)"):
        call_command("check")


def test_resolved_sender_is_not_reported():
    _connect(signals.post_save, order_saved, "shop.Order")
    try:
        messages = _run_checks()
    finally:
        signals.post_save.disconnect(order_saved, sender="shop.Order")

    assert [message for message in messages if message.is_serious()] == []


def test_waiting_in_another_registry_is_not_reported():
    with isolate_apps("testproject.shop") as registry:
        _connect(signals.post_save, order_saved, "shop.Coupon", apps=registry)

        assert _e001() == []


# --- W001: delete receivers for any sender ------------------------------------------


def _w001():
    return [message for message in _run_checks() if message.id == "signals_app.W001"]


@pytest.mark.parametrize("signal", [signals.pre_delete, signals.post_delete])
def test_a_delete_receiver_for_any_sender_is_a_warning(signal):
    connected_at = _connect(signal, order_saved, None)
    try:
        [warning] = _w001()
    finally:
        signal.disconnect(order_saved)

    assert warning.level == WARNING
    assert warning.obj == "tests.test_checks.order_saved"
    assert warning.msg.startswith(
        f"tests.test_checks.order_saved receives {signal_name(signal)} from any "
        "sender, which turns off Django's fast delete for every model"
    )
    assert connected_at.replace(f"{REPO}/", "") in warning.hint
    assert "SILENCED_SYSTEM_CHECKS" in warning.hint


def test_the_warning_is_the_inspectors():
    _connect(signals.pre_delete, order_saved, None)
    try:
        [warning] = _w001()
        [report] = inspector.collect(signals=["pre_delete"])
    finally:
        signals.pre_delete.disconnect(order_saved)

    assert report.receivers[0].warnings == (warning.msg,)


def test_a_delete_receiver_for_a_model_is_no_warning():
    _connect(signals.pre_delete, order_saved, Order)
    try:
        assert _w001() == []
    finally:
        signals.pre_delete.disconnect(order_saved, sender=Order)


def test_a_receiver_of_another_signal_for_any_sender_is_no_warning():
    _connect(signals.post_save, order_saved, None)
    try:
        assert _w001() == []
    finally:
        signals.post_save.disconnect(order_saved)


def test_the_warning_goes_with_the_receiver():
    _connect(signals.post_delete, order_saved, None)
    signals.post_delete.disconnect(order_saved)

    assert _w001() == []


@pytest.mark.django_db(databases="__all__")
def test_the_warning_can_be_silenced(settings):
    settings.SILENCED_SYSTEM_CHECKS = ["signals_app.W001"]
    _connect(signals.post_delete, order_saved, None)
    try:
        call_command("check", stdout=(out := io.StringIO()))
    finally:
        signals.post_delete.disconnect(order_saved)

    assert out.getvalue() == "System check identified no issues (1 silenced).\n"


def test_a_delete_receiver_for_any_sender_costs_djangos_fast_delete(db):
    # What the warning is about, with Django's own collector: one DELETE
    # query with no receiver, a SELECT first with one for any sender.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def deletes() -> list[str]:
        Note.objects.create(text="n")
        with CaptureQueriesContext(connection) as queries:
            Note.objects.all().delete()
        return [q["sql"].split()[0] for q in queries.captured_queries]

    before = deletes()
    _connect(signals.post_delete, order_saved, None)
    try:
        after = deletes()
    finally:
        signals.post_delete.disconnect(order_saved)

    assert before == ["DELETE"]
    assert after[0] == "SELECT"


# --- manage.py check, in a process of its own -------------------------------------


def test_manage_py_check_passes_on_the_example_project():
    # The example project's audit app connects receivers to lazy senders.
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "System check identified no issues (0 silenced).\n"


_MANAGE_WITH_A_TYPO = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
import django

django.setup()
from signals_app.signals import post_save


def on_order_saved(**kwargs):
    pass


post_save.connect(on_order_saved, sender="shop.Ordr")

from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""


def test_manage_py_check_fails_on_an_unresolved_sender(tmp_path):
    script = tmp_path / "manage_with_a_typo.py"
    script.write_text(_MANAGE_WITH_A_TYPO)
    connect_line = _MANAGE_WITH_A_TYPO.splitlines().index(
        'post_save.connect(on_order_saved, sender="shop.Ordr")'
    )

    result = subprocess.run(
        [sys.executable, str(script), "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )

    assert result.returncode == 1
    assert "(signals_app.E001) __main__.on_order_saved was connected at " in (
        result.stderr
    )
    assert f"{script}:{connect_line + 1}" in result.stderr


# --- settings -----------------------------------------------------------------------


def _settings_errors():
    return [
        m
        for m in _run_checks()
        if m.id.startswith("signals_app.E") and m.id != "signals_app.E001"
    ]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SIGNALS_APP_TRACE", "yes", "True or False"),
        ("SIGNALS_APP_SLOW_RECEIVER_MS", "fast", "a number of milliseconds"),
        ("SIGNALS_APP_SLOW_RECEIVER_MS", True, "a number of milliseconds"),
        ("SIGNALS_APP_TASK_BACKEND", 1, "the alias of a backend in TASKS"),
        ("SIGNALS_APP_TASK_QUEUE", None, "the name of a queue"),
    ],
)
def test_a_setting_of_the_wrong_type_is_reported(settings, name, value, expected):
    setattr(settings, name, value)

    [error] = _settings_errors()

    assert error.id == "signals_app.E002"
    assert (
        error.msg
        == f"{name} must be {expected}, not {value!r} ({type(value).__name__})."
    )
    assert error.hint.startswith(f"Set {name} to {expected}, or remove it")


def test_settings_of_the_right_types_are_not_reported(settings):
    settings.SIGNALS_APP_TRACE = False
    settings.SIGNALS_APP_SLOW_RECEIVER_MS = 5
    settings.SIGNALS_APP_TASK_BACKEND = "default"
    settings.SIGNALS_APP_TASK_QUEUE = "default"

    assert _settings_errors() == []


def test_a_task_backend_missing_from_tasks_is_reported(settings):
    settings.SIGNALS_APP_TASK_BACKEND = "nope"

    [error] = _settings_errors()

    assert error.id == "signals_app.E003"
    assert error.msg == (
        "SIGNALS_APP_TASK_BACKEND is 'nope', which is not a backend in TASKS "
        "(it defines 'default')."
    )
    assert "Set SIGNALS_APP_TASK_BACKEND to the alias of a backend" in error.hint


def test_a_task_backend_that_cannot_be_loaded_is_reported(settings):
    settings.SIGNALS_APP_TASK_BACKEND = "default"
    settings.TASKS = {"default": {"BACKEND": "nowhere.Backend"}}

    # Only our check: on Django 6, Django's own check of TASKS raises
    # InvalidTaskBackend for this setting rather than reporting it, which
    # stops run_checks() before ours is read.
    [error] = [m for m in check_settings() if m.is_serious()]

    assert error.id == "signals_app.E005"
    assert error.msg.startswith(
        "TASKS['default']['BACKEND'] is 'nowhere.Backend', which cannot be imported: "
    )


def test_a_queue_the_backend_lacks_is_reported(settings):
    settings.SIGNALS_APP_TASK_QUEUE = "signals"

    [error] = _settings_errors()

    assert error.id == "signals_app.E004"
    assert error.msg == (
        "SIGNALS_APP_TASK_QUEUE is 'signals', which is not one of the QUEUES of "
        "the task backend 'default' ('default')."
    )


def test_tasks_without_our_backend_are_not_reported_while_nothing_is_queued(settings):
    settings.TASKS = {"db": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    assert _settings_errors() == []


def test_tasks_losing_our_backend_is_reported_once_a_receiver_is_queued(settings):
    signals.post_save.connect(order_saved, delivery="task", dispatch_uid="checks.q")
    try:
        settings.TASKS = {"db": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
        messages = _settings_errors()
    finally:
        signals.post_save.disconnect(dispatch_uid="checks.q")

    assert [message.id for message in messages] == ["signals_app.E003"]


def test_manage_py_check_fails_on_a_task_backend_missing_from_tasks(tmp_path):
    (tmp_path / "typo_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        "SIGNALS_APP_TASK_BACKEND = 'queues'\n"
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
            "DJANGO_SETTINGS_MODULE": "typo_settings",
        },
    )

    assert result.returncode == 1
    assert (
        "(signals_app.E003) SIGNALS_APP_TASK_BACKEND is 'queues', which is not a "
        "backend in TASKS"
    ) in result.stderr


# --- task settings that do not work, with a receiver queued ---------------------------


@pytest.fixture
def queued_receiver():
    """A receiver connected with delivery="task"; the task settings are checked."""
    signals.post_save.connect(order_saved, delivery="task", dispatch_uid="checks.q")
    yield
    signals.post_save.disconnect(dispatch_uid="checks.q")


@pytest.mark.parametrize("case", MISCONFIGURED.values(), ids=MISCONFIGURED)
@pytest.mark.django_db(databases="__all__")
@pytest.mark.usefixtures("queued_receiver")
def test_check_command_names_task_settings_that_do_not_work(case, settings):
    if case.django_check_raises and DJANGO_TASKS:
        pytest.skip("Django 6's own check of TASKS raises for it before ours run")
    case.apply(settings)

    with pytest.raises(SystemCheckError) as raised:
        call_command("check")

    assert f"({case.check_id}) {case.message}" in str(raised.value)
    assert f"HINT: {case.hint}" in str(raised.value)


@pytest.mark.parametrize("case", MISCONFIGURED.values(), ids=MISCONFIGURED)
def test_manage_py_check_names_task_settings_that_do_not_work(case, tmp_path):
    # tests.queuing connects a receiver with delivery="task" in ready(): this
    # used to end every command, check included, with a traceback.
    if case.django_check_raises and DJANGO_TASKS:
        pytest.skip("Django 6's own check of TASKS raises for it before ours run")

    result = manage(tmp_path, case.settings_module(), "check")

    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert f"({case.check_id}) {case.message}" in result.stderr
    assert f"HINT: {case.hint}" in result.stderr


_WITHOUT_A_TASKS_API = """\
import sys
from importlib.abc import MetaPathFinder

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS


class _Absent(MetaPathFinder):
    # As on Django 5.2 without the django-tasks backport: neither API imports.
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("django_tasks", "django.tasks")):
            raise ImportError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, _Absent())
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "django_tasks_db"]
INSTALLED_APPS += ["tests.queuing"]
del TASKS  # noqa: F821
"""


def test_manage_py_check_names_a_missing_tasks_api(tmp_path):
    result = manage(tmp_path, _WITHOUT_A_TASKS_API, "check")

    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert (
        "(signals_app.E007) delivery='task' needs Django's Tasks API: django.tasks, "
        "which Django 6 has, or the django-tasks backport, which is not installed."
    ) in result.stderr
    assert (
        "HINT: Install django-tasks (signals-app's 'tasks' extra brings it), or "
        "upgrade to Django 6."
    ) in result.stderr


def test_task_settings_that_work_pass_manage_py_check(tmp_path):
    # The same project with its settings right: nothing to report.
    result = manage(tmp_path, settings_module(), "check")

    assert (result.returncode, result.stderr) == (0, "")
