"""
signals_app.delivery.backend: which Tasks API a configured backend is built on;
task settings that do not work, which connecting accepts and each send reports.
"""

import importlib.util
import logging
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from signals_app import signals
from signals_app.delivery import Scheduled, backend
from signals_app.delivery.tasks import task_for
from signals_app.dispatch import Signal
from testproject.shop.models import Customer
from tests.delivery import worker
from tests.factories import CustomerFactory
from tests.queuing.project import MISCONFIGURED, REPO, settings_module
from tests.recorder import Recorder

# Queued receivers need a signal a worker can find by name: a module-level one.
custom = Signal()

BOTH_APIS = all(
    importlib.util.find_spec(name) is not None
    for name in ("django.tasks", "django_tasks")
)
needs_both = pytest.mark.skipif(
    not BOTH_APIS, reason="needs Django 6's django.tasks and the django-tasks backport"
)


@needs_both
@override_settings(TASKS={"rq": {"BACKEND": "django_tasks_rq.RQBackend"}})
def test_a_backend_built_on_the_backport_gets_the_backports_task():
    api = backend.tasks_api("rq")

    assert api.__name__ == "django_tasks"
    assert task_for(api).module_path.endswith(".deliver_on_backport")


@needs_both
@override_settings(
    TASKS={"db": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
)
def test_a_backend_built_on_djangos_api_gets_djangos_task():
    api = backend.tasks_api("db")

    assert api.__name__ == "django.tasks"
    assert task_for(api).module_path == "signals_app.delivery.tasks.deliver"


def test_without_an_alias_the_api_is_djangos_where_there_is_one():
    expected = (
        "django.tasks" if importlib.util.find_spec("django.tasks") else "django_tasks"
    )

    assert backend.tasks_api().__name__ == expected


# --- settings that do not work: connecting goes on, sends report them -----------------


def test_a_backend_alias_missing_from_tasks_is_accepted_at_connect(connect, settings):
    settings.SIGNALS_APP_TASK_BACKEND = "nope"

    connect(custom, Recorder(), delivery="task", dispatch_uid="b.nope")

    assert custom.has_listeners()


@pytest.mark.parametrize("case", MISCONFIGURED.values(), ids=MISCONFIGURED)
@pytest.mark.django_db(transaction=True)
def test_a_save_under_task_settings_that_do_not_work_succeeds_and_logs_why(
    case, connect, settings, caplog
):
    later = connect(
        signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="b.broken",
    )
    case.apply(settings)

    with caplog.at_level(logging.ERROR, "signals_app.delivery"):
        customer = CustomerFactory()

    assert Customer.objects.get() == customer
    [record] = caplog.records
    assert record.getMessage().startswith(
        "Cannot queue django.db.models.signals.post_save:"
        f"tests.recorder.Recorder#b.broken: {case.message}"
    )
    assert case.hint in record.getMessage()
    assert later.received() == []


@pytest.mark.parametrize("case", MISCONFIGURED.values(), ids=MISCONFIGURED)
def test_a_send_under_task_settings_that_do_not_work_responds_with_the_problem(
    case, connect, settings
):
    connect(custom, Recorder(), delivery="task", dispatch_uid="b.respond")
    case.apply(settings)

    [(_, error)] = custom.send_robust(sender=None)

    assert isinstance(error, ImproperlyConfigured)
    assert str(error).startswith(case.message)


@pytest.mark.django_db
def test_settings_broken_after_a_send_are_reported_by_the_next(connect, settings):
    settings.TASKS = worker.backend("dummy")
    connect(custom, Recorder(), delivery="task", dispatch_uid="b.later")
    [(_, first)] = custom.send_robust(sender=None)
    settings.TASKS = {
        "default": {**worker.backend("dummy")["default"], "QUEUES": ["signals"]}
    }

    [(_, second)] = custom.send_robust(sender=None)

    assert first == Scheduled("task", "default")
    assert isinstance(second, ImproperlyConfigured)
    assert str(second).startswith(
        "SIGNALS_APP_TASK_QUEUE is 'default' (the default), which is not one of "
        "the QUEUES of the task backend 'default' ('signals')."
    )


_SEND_A_PING = """\
import django

django.setup()

from tests.delivery.worker import task_backends
from tests.queuing.receivers import ping

[(_, response)] = ping.send(sender=None)
[result] = task_backends["queued"].results
print(response.delivery, result.task.backend, result.task.queue_name)
"""


def test_a_project_without_a_default_backend_or_queue_queues(tmp_path):
    # The Tasks API declares a task on the backend "default" and its queue
    # "default" unless told otherwise, and checks it there: a project whose
    # TASKS has neither must still get its receivers queued, first send
    # included, in a process that connected them in ready().
    dummy = worker.backend("dummy")["default"]["BACKEND"]
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db")}

    result = _run_under(
        tmp_path,
        _SEND_A_PING,
        f"TASKS = {{'queued': {{'BACKEND': {dummy!r}, 'QUEUES': ['signals']}}}}",
        "SIGNALS_APP_TASK_BACKEND = 'queued'",
        "SIGNALS_APP_TASK_QUEUE = 'signals'",
        # Queueing asks the database whether a transaction is open.
        f"DATABASES = {{'default': {database!r}}}",
    )

    assert (result.stderr, result.stdout) == ("", "task queued signals\n")


# --- the worker's task module, imported as a queued receiver connects ---------

_SET_UP = """\
import sys

import django

django.setup()

print("signals_app.delivery.tasks" in sys.modules)
"""


def _set_up_under(tmp_path, *lines):
    # A process that sets Django up with tests.queuing installed, whose
    # ready() connects a receiver with delivery="task": no check, no send.
    return _run_under(tmp_path, _SET_UP, *lines)


def _run_under(tmp_path, script, *lines):
    # ``script`` run by a new Python process whose settings are
    # settings_module(*lines), written in tmp_path.
    (tmp_path / "run_settings.py").write_text(settings_module(*lines))
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
            "DJANGO_SETTINGS_MODULE": "run_settings",
        },
    )


def test_connecting_a_queued_receiver_imports_the_workers_task_module(tmp_path):
    # So that a worker forking a child per task (RQ's) imports it once,
    # before its first fork, even when started without the system checks.
    result = _set_up_under(tmp_path)

    assert (result.stderr, result.stdout) == ("", "True\n")


def test_task_settings_that_keep_the_task_module_from_importing_let_it_start(
    tmp_path,
):
    result = _set_up_under(tmp_path, "SIGNALS_APP_TASK_BACKEND = 'nope'")

    assert (result.stderr, result.stdout) == ("", "False\n")
