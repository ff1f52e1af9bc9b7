"""
A worker killed with SIGKILL in the middle of a queued receiver, on one backend.

Run by ``tests/e2e/test_worker_killed.py`` (and the stuck-tasks command's
tests) in a process of its own, as ``python -m tests.e2e.fault_scenario``
with ``DJANGO_SETTINGS_MODULE`` set to ``tests.e2e.settings_faults`` and
``SIGNALS_APP_FAULT_BACKEND`` naming the backend: ``db`` (django-tasks-db's
``db_worker``), ``rq`` (``rqworker``), ``celery`` or ``celery-acks-late``
(``celery worker``, its solo pool, with Celery's default early
acknowledgement or with ``acks_late``).

A product named "doomed" is saved; its receiver (``tests/e2e/faults``)
journals that it started and blocks; the process that journalled it, the
one running the task, is killed with SIGKILL. Then the receiver is released,
a worker runs (a new one where the first died with its task), a second
product is saved and delivered, and the report says what became of the
doomed task: its status, and how often its receiver started and finished.
For ``db``, the report also holds what ``manage.py signals_app_stuck_tasks``
printed, before and after ``--requeue``, and what the second worker then did.
Prints the report as JSON. Every wait is bounded.
"""

import json
import os
import signal
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import django

from tests.e2e.worker_scenario import Worker, scenario_databases, tasks_api, wait_for

BACKEND = os.environ.get("SIGNALS_APP_FAULT_BACKEND", "db")
_FINISHED = ("SUCCESSFUL", "FAILED")


def _worker(worker_id: str) -> Worker:
    if BACKEND == "rq":
        from tests.e2e.rq_scenario import RQWorker

        return RQWorker(worker_id)
    if BACKEND.startswith("celery"):
        from tests.e2e.celery_scenario import CeleryWorker

        return CeleryWorker(worker_id)
    return Worker(worker_id)


def _journal() -> list[dict[str, Any]]:
    path = Path(os.environ["SIGNALS_APP_SCENARIO"]) / "faults.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _lines(what: str, name: str) -> list[dict[str, Any]]:
    return [line for line in _journal() if (line["what"], line["name"]) == (what, name)]


def _journalled(what: str, name: str, times: int = 1) -> Callable[[], bool]:
    return lambda: len(_lines(what, name)) >= times


def main() -> int:
    django.setup()
    with scenario_databases():
        report = run()
    print(json.dumps(report))
    return 0


def run() -> dict[str, Any]:
    from django.conf import settings

    from testproject.shop.models import Product

    api = tasks_api()
    task_backends, task_enqueued = api.task_backends, api.task_enqueued
    TaskResultDoesNotExist = api.TaskResultDoesNotExist

    backend = task_backends["default"]
    enqueued: list[str] = []

    def count(sender: Any, task_result: Any, **kwargs: Any) -> None:
        enqueued.append(task_result.id)

    task_enqueued.connect(count, weak=False)

    def status(task_id: str) -> str:
        try:
            return backend.get_result(task_id).status.name
        except TaskResultDoesNotExist:
            return "NOT_STORED"

    report: dict[str, Any] = {"backend": BACKEND}
    workers: list[Worker] = []
    try:
        workers.append(_worker("first"))
        Product.objects.create(name="doomed", price=1)
        doomed = enqueued[-1]
        wait_for("the doomed task to start", _journalled("started", "doomed"))
        running = _lines("started", "doomed")[0]["pid"]
        first = workers[0].process
        report["killed_the_worker_itself"] = running == first.pid
        os.kill(running, signal.SIGKILL)
        if running == first.pid:
            report["first_worker_exit"] = first.wait(timeout=30)
        report["status_after_kill"] = status(doomed)
        (Path(os.environ["SIGNALS_APP_SCENARIO"]) / "release").touch()

        if first.poll() is not None:
            if BACKEND == "celery-acks-late":
                from tests.e2e.celery_scenario import unacknowledged_overdue

                # The doomed message, never acknowledged, goes back to the
                # queue for the next worker only once it is overdue.
                wait_for(
                    "the unacknowledged message to be overdue",
                    lambda: unacknowledged_overdue(settings.CELERY_QUEUE),
                )
            workers.append(_worker("second"))
        Product.objects.create(name="after", price=1)
        after = enqueued[-1]
        wait_for("the next task to finish", _journalled("finished", "after"))
        wait_for("its result", lambda: status(after) in _FINISHED)
        if BACKEND == "celery-acks-late":
            wait_for("the doomed task to run again", _journalled("finished", "doomed"))
            wait_for("its result", lambda: status(doomed) in _FINISHED)
        report["next_status"] = status(after)
        report["doomed_status"] = status(doomed)

        if BACKEND == "db":
            report.update(_stuck_tasks(doomed, status))
        if BACKEND == "rq":
            report["doomed_error"] = backend.get_result(doomed).errors[0].traceback

        report["doomed_started"] = len(_lines("started", "doomed"))
        report["doomed_finished"] = len(_lines("finished", "doomed"))
        report["worker_pids"] = [worker.process.pid for worker in workers]
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.stop()
        if BACKEND.startswith("celery"):
            from tests.e2e.celery_scenario import forget

            forget(settings.CELERY_QUEUE, enqueued)
        if BACKEND == "rq":
            import django_rq

            django_rq.get_queue(settings.RQ_QUEUE).delete(delete_jobs=True)
    return report


def _stuck_tasks(doomed: str, status: Callable[[str], str]) -> dict[str, Any]:
    """Find the task left running with the command, requeue it, see it run."""
    from django.core.management import call_command

    def command(*options: str) -> str:
        out = StringIO()
        call_command("signals_app_stuck_tasks", *options, stdout=out)
        return out.getvalue()

    report = {
        "listed_young": command("--older-than", "1h"),
        "listed": command("--older-than", "0s"),
        "requeued": command("--older-than", "0s", "--requeue"),
    }
    wait_for("the requeued task to run", _journalled("finished", "doomed"))
    wait_for("its result to be recorded", lambda: status(doomed) == "SUCCESSFUL")
    report["requeued_status"] = status(doomed)
    report["listed_after"] = command("--older-than", "0s")
    report["doomed_id"] = doomed
    return report


if __name__ == "__main__":
    raise SystemExit(main())
