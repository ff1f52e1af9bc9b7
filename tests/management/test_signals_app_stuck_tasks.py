"""``manage.py signals_app_stuck_tasks``: tasks a dead db_worker left running.

The first tests read the report of ``tests/e2e/fault_scenario.py`` on
django-tasks-db: a real ``db_worker`` killed with SIGKILL in the middle of a
queued receiver, the command run against what it left, and a second worker
running the requeued task. The others run the command in this process.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from signals_app.management.commands.signals_app_stuck_tasks import parse_duration
from tests.delivery.worker import backend
from tests.e2e.worker_scenario import run_scenario

pytest.importorskip("django_tasks_db")


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_scenario(
        "tests.e2e.fault_scenario",
        "tests.e2e.settings_faults",
        tmp_path_factory.mktemp("stuck"),
        SIGNALS_APP_FAULT_BACKEND="db",
    )


def test_it_lists_the_task_a_killed_worker_left_running(killed):
    listed = killed["listed"].splitlines()

    assert len(listed) == 2
    assert listed[0].startswith(killed["doomed_id"])
    assert "worker first" in listed[0]
    # Named as the queued receiver it delivers, not as signals_app's task.
    assert listed[0].endswith("tests.e2e.faults.receivers.product_saved#faults.product")
    assert listed[1].startswith("1 task(s) of backend 'default' marked running")


def test_tasks_started_more_recently_than_older_than_are_left_out(killed):
    assert killed["listed_young"].startswith("0 task(s)")


def test_requeue_has_the_next_worker_run_it_from_the_start(killed):
    last = killed["requeued"].splitlines()[-1]
    assert last == "Requeued 1 task(s) of backend 'default'."
    assert killed["requeued_status"] == "SUCCESSFUL"
    # The receiver started in the killed worker and again in the next one.
    assert (killed["doomed_started"], killed["doomed_finished"]) == (2, 1)
    assert killed["listed_after"].startswith("0 task(s)")


def _stuck_tasks(*options: str) -> str:
    out = StringIO()
    call_command("signals_app_stuck_tasks", *options, stdout=out)
    return out.getvalue()


def _running(task_path: str, minutes_ago: float) -> object:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.create(
        status="RUNNING",
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        args_kwargs={"args": [], "kwargs": {}},
        task_path=task_path,
        worker_ids=["gone"],
        backend_name="default",
        run_after=timezone.now(),
        queue_name="default",
    )


@pytest.mark.django_db
def test_requeue_only_touches_old_enough_deliveries_of_signals_app():
    from django_tasks_db.models import DBTaskResult

    old = _running("signals_app.delivery.tasks.deliver", minutes_ago=30)
    young = _running("signals_app.delivery.tasks.deliver", minutes_ago=1)
    other = _running("myapp.tasks.report", minutes_ago=30)

    out = _stuck_tasks("--older-than", "10m", "--requeue")

    assert out.splitlines()[-1] == "Requeued 1 task(s) of backend 'default'."
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "READY", young.pk: "RUNNING", other.pk: "RUNNING"}
    assert DBTaskResult.objects.get(pk=old.pk).started_at is None


@pytest.mark.django_db
def test_all_tasks_includes_tasks_other_than_signals_apps():
    other = _running("myapp.tasks.report", minutes_ago=30)

    out = _stuck_tasks("--older-than", "10m", "--all-tasks")

    assert out.startswith(f"{other.pk}  started ")
    assert "myapp.tasks.report" in out


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("45", 45), ("1.5m", 90)],
)
def test_durations_are_a_number_and_a_unit(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10 minutes", "m", "-5m", "10w"])
def test_anything_else_is_an_error_naming_the_forms(text):
    with pytest.raises(CommandError, match="not a duration such as 90s, 10m"):
        _stuck_tasks(f"--older-than={text}")


@override_settings(TASKS=backend("immediate"))
def test_a_backend_other_than_django_tasks_db_is_an_error():
    with pytest.raises(CommandError, match="not django-tasks-db's DatabaseBackend"):
        _stuck_tasks()


def test_an_unknown_backend_is_an_error():
    with pytest.raises(CommandError, match="TASKS has no backend 'nope'"):
        _stuck_tasks("--backend", "nope")
