"""
The worker scenario's transactions, delivered by Celery workers through Redis.

Run by ``tests/e2e/test_celery.py`` in a process of its own, as
``python -m tests.e2e.celery_scenario`` with ``DJANGO_SETTINGS_MODULE`` set to
``tests.e2e.settings_celery``: the same rounds of saves and deletes as
``tests/e2e/worker_scenario.py``, and the same receivers, with the Tasks API
on Celery (django-tasks-fennel). Messages wait in Redis while no worker
runs; a first ``celery worker`` runs them and is stopped with SIGTERM (a
warm shutdown) once they are done; a second one works while more
transactions happen, and is stopped the same way. Prints a JSON report,
which the test asserts on. Every wait is bounded.
"""

import json
import sys
import time
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


class CeleryWorker(Worker):
    """A ``celery worker`` process on the scenario's queue, one task at a time."""

    def program(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "django_tasks_fennel.app"]

    def command(self, worker_id: str) -> list[str]:
        from django.conf import settings

        return [
            "worker",
            "--queues",
            settings.CELERY_QUEUE,
            "--hostname",
            f"{worker_id}@{settings.CELERY_QUEUE}",
            "--pool",
            "solo",
            # Nothing to talk to: one worker at a time, and starting faster.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ]


def main() -> int:
    django.setup()
    with scenario_databases() as journal:
        report = run(journal)
    print(json.dumps(report))
    return 0


def run(journal: Path) -> dict[str, Any]:
    from django.conf import settings

    api = tasks_api()
    task_backends, task_enqueued = api.task_backends, api.task_enqueued
    TaskResultStatus = api.TaskResultStatus
    TaskResultDoesNotExist = api.TaskResultDoesNotExist

    backend = task_backends["default"]
    enqueued: list[str] = []

    def count(sender: Any, task_result: Any, **kwargs: Any) -> None:
        enqueued.append(task_result.id)

    task_enqueued.connect(count, weak=False)

    def result(task_id: str) -> Any:
        # django-tasks-fennel 0.1 finds a result only once a worker has
        # stored one: its record of the enqueue is written to key-value
        # result backends of Celery's older class alone, which Redis's is
        # not on Celery 5.7. Until then the message is waiting.
        try:
            return backend.get_result(task_id)
        except TaskResultDoesNotExist:
            return None

    def results() -> list[Any]:
        return [result(task_id) for task_id in enqueued]

    def finished() -> bool:
        return all(r is not None and r.is_finished for r in results())

    def waiting() -> int:
        return sum(r is None or r.status == TaskResultStatus.READY for r in results())

    def drain(what: str) -> float:
        try:
            return round(wait_for(what, finished), 2)
        except TimeoutError as err:
            stuck = Counter(r.status.name if r else "NOT_STORED" for r in results())
            raise TimeoutError(f"{err}; {dict(stuck)}") from None

    scenario = Scenario()
    report: dict[str, Any] = {}
    workers: list[CeleryWorker] = []
    try:
        # Phase 1: no worker; the messages of committed transactions wait
        # in Redis, sent as each committed.
        for n in range(ROUNDS_PER_PHASE):
            scenario.round(n)
        report["waiting_before_first_worker"] = waiting()
        report["committed_before_first_worker"] = len(scenario.expected)
        workers.append(CeleryWorker("first"))
        report["first_drain_seconds"] = drain("the first worker to catch up")
        report["first_worker_exit"] = workers[0].stop()

        # Phase 2: a worker runs while the transactions happen.
        workers.append(CeleryWorker("second"))
        for n in range(ROUNDS_PER_PHASE, 2 * ROUNDS_PER_PHASE):
            scenario.round(n)
        report["drain_seconds"] = drain("every task to finish")
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
        forget(settings.CELERY_QUEUE, enqueued)
    return {**report, "queue": settings.CELERY_QUEUE, **journalled(journal, scenario)}


def unacknowledged_overdue(queue: str) -> bool:
    """
    Whether every message of ``queue`` that a worker took and never
    acknowledged was taken longer ago than the broker's visibility timeout:
    the next worker to start then gives it back to the queue.

    kombu's Redis transport records each such message in ``unacked``, with
    the time it was taken in ``unacked_index``.
    """
    import redis
    from django.conf import settings

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    # kombu's default for Redis: an hour.
    timeout = options.get("visibility_timeout", 3600)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    now = time.time()
    for tag, taken in client.zrange("unacked_index", 0, -1, withscores=True):
        held = client.hget("unacked", tag)
        if held is not None and json.loads(held)[2] == queue and now - taken <= timeout:
            return False
    return True


def forget(queue: str, task_ids: list[str]) -> None:
    """Delete the scenario's queue and results from the shared Redis server."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # The queue's lists (one per priority step) and its exchange binding.
    keys = [*client.scan_iter(f"{queue}*"), f"_kombu.binding.{queue}"]
    keys += [f"celery-task-meta-{task_id}" for task_id in task_ids]
    client.delete(*keys)


if __name__ == "__main__":
    raise SystemExit(main())
