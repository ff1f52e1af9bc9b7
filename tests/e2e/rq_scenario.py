"""
The worker scenario's transactions, delivered by RQ workers through Redis.

Run by ``tests/e2e/test_rq.py`` in a process of its own, as
``python -m tests.e2e.rq_scenario`` with ``DJANGO_SETTINGS_MODULE`` set to
``tests.e2e.settings_rq``: the same rounds of saves and deletes as
``tests/e2e/worker_scenario.py``, and the same receivers, with the Tasks API on
django-tasks-rq. Tasks wait in Redis while no worker runs; a burst worker
(``manage.py rqworker --burst`` of django-rq) empties the queue and exits;
then a long-running one works while more transactions happen, and is
stopped with SIGTERM once every task has finished. Prints a JSON report,
which the test asserts on. Every wait is bounded.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import django

from tests.e2e.worker_scenario import (
    ROUNDS_PER_PHASE,
    Scenario,
    Worker,
    journalled,
    scenario_databases,
    tasks_api,
    wait_for,
)


class RQWorker(Worker):
    """A ``manage.py rqworker`` process on the scenario's queue."""

    # rq 3's last step of a warm shutdown stops the thread that listens for
    # its commands, which polls Redis for up to 60 s at a time and is given
    # 1 s to end. On a machine with every core busy, rqworker was seen to
    # log its last line ("unsubscribing from channel") and exit over a
    # minute later: a clean exit, late by up to that poll.
    exit_grace = 60

    def command(self, worker_id: str) -> list[str]:
        from django.conf import settings

        return [
            "rqworker",
            # django-tasks-rq runs tasks through a Job class of its own.
            "--job-class",
            "django_tasks_rq.Job",
            "--name",
            f"{settings.RQ_QUEUE}-{worker_id}",
            settings.RQ_QUEUE,
        ]


def main() -> int:
    django.setup()
    with scenario_databases() as journal:
        report = run(journal)
    print(json.dumps(report))
    return 0


def run(journal: Path) -> dict[str, Any]:
    import django_rq
    from django.conf import settings

    api = tasks_api()
    task_backends, task_enqueued = api.task_backends, api.task_enqueued
    TaskResultStatus = api.TaskResultStatus

    queue = django_rq.get_queue(settings.RQ_QUEUE)
    backend = task_backends["default"]
    enqueued: list[str] = []

    def count(sender: Any, task_result: Any, **kwargs: Any) -> None:
        enqueued.append(task_result.id)

    task_enqueued.connect(count, weak=False)

    def results() -> list[Any]:
        return [backend.get_result(task_id) for task_id in enqueued]

    def finished() -> bool:
        return all(result.is_finished for result in results())

    scenario = Scenario()
    report: dict[str, Any] = {}
    workers: list[RQWorker] = []
    try:
        # Phase 1: no worker; the tasks of committed transactions wait in
        # Redis, enqueued as each committed.
        for n in range(ROUNDS_PER_PHASE):
            scenario.round(n)
        report["waiting_before_first_worker"] = queue.count
        report["committed_before_first_worker"] = len(scenario.expected)
        workers.append(RQWorker("first", "--burst"))
        report["first_worker_exit"] = workers[0].exited()
        report["waiting_after_first_worker"] = queue.count

        # Phase 2: a worker runs while the transactions happen.
        workers.append(RQWorker("second"))
        for n in range(ROUNDS_PER_PHASE, 2 * ROUNDS_PER_PHASE):
            scenario.round(n)
        try:
            report["drain_seconds"] = round(
                wait_for("every task to finish", finished), 2
            )
        except TimeoutError as err:
            stuck = Counter(result.status for result in results())
            raise TimeoutError(f"{err}; {dict(stuck)}") from None
        report["second_worker_exit"] = workers[1].stop()

        done = results()
        report["enqueued"] = len(done)
        report["statuses"] = dict(Counter(result.status.name for result in done))
        report["by_worker"] = dict(
            Counter(worker for result in done for worker in result.worker_ids)
        )
        report["failures"] = [
            error.traceback
            for result in done
            if result.status == TaskResultStatus.FAILED
            for error in result.errors
        ]
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.stop()
        queue.delete(delete_jobs=True)
    return {**report, "queue": settings.RQ_QUEUE, **journalled(journal, scenario)}


if __name__ == "__main__":
    raise SystemExit(main())
