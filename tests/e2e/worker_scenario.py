"""
Saves and deletes, committed and rolled back, delivered by real workers.

Run by ``tests/e2e/test_db_worker.py`` in a process of its own, as
``python -m tests.e2e.worker_scenario`` with ``DJANGO_SETTINGS_MODULE`` set to
``tests.e2e.settings_worker``: it creates the scenario's databases, starts
``manage.py db_worker`` (django-tasks-db's worker) as a subprocess, runs
rounds of transactions, stops the worker midway and starts a new one later,
waits for the queue to drain, and prints a JSON report of what was expected
and what the receivers of ``tests/e2e/scenario/receivers.py`` journalled. The
test does the asserting. Every wait is bounded.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import django

ROOT = Path(__file__).resolve().parents[2]
ROUNDS_PER_PHASE = 3
WAIT_SECONDS = 60
FIRST_WORKER_TASKS = 10


def tasks_api(alias: str = "default") -> SimpleNamespace:
    """
    What a scenario reads of the Tasks API the backend ``TASKS[alias]`` is
    built on, the one signals_app queues through for it: on Django 6 with the
    backport installed too, ``django.tasks`` for django-tasks-db and Celery's
    backend, the backport for django-tasks-rq.
    """
    from signals_app.delivery.backend import tasks_api as backend_tasks_api

    api = backend_tasks_api(alias)
    assert api is not None, "no Tasks API installed"
    return SimpleNamespace(
        task_backends=api.task_backends,
        TaskResultStatus=import_module(f"{api.__name__}.base").TaskResultStatus,
        TaskResultDoesNotExist=import_module(
            f"{api.__name__}.exceptions"
        ).TaskResultDoesNotExist,
        task_enqueued=import_module(f"{api.__name__}.signals").task_enqueued,
    )


def assert_each_committed_event_delivered_once(report: dict[str, Any]) -> None:
    """Every committed event reached its queued receiver once, every task succeeded."""
    expected = Counter(map(tuple, report["expected"]))
    assert max(expected.values()) == 1

    assert Counter(map(tuple, report["delivered"]["task"])) == expected
    assert report["statuses"] == {"SUCCESSFUL": len(report["expected"])}
    assert report["failures"] == []


def assert_no_rolled_back_event_delivered(report: dict[str, Any]) -> None:
    """No event only rolled back reached a queued or an on-commit receiver."""
    rolled_back = {tuple(event) for event in report["rolled_back"]}
    only_rolled_back = rolled_back - {tuple(event) for event in report["expected"]}

    assert only_rolled_back
    for how in ("task", "on_commit"):
        delivered = {tuple(event) for event in report["delivered"][how]}
        assert not delivered & only_rolled_back, how


def run_scenario(
    module: str, settings: str, place: Path, **variables: str
) -> dict[str, Any]:
    """
    Run ``python -m module`` with ``settings`` and its files in ``place``,
    and the environment ``variables`` too; return the JSON report it
    prints. Its workers' logs explain a failure.
    """
    env = {
        **os.environ,
        **variables,
        "DJANGO_SETTINGS_MODULE": settings,
        "SIGNALS_APP_SCENARIO": str(place),
        "SIGNALS_APP_SCENARIO_ID": f"scenario_{uuid.uuid4().hex[:8]}",
    }
    done = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    logs = "".join(
        f"\n--- {log.name}\n{log.read_text()}" for log in place.glob("worker-*.log")
    )
    assert done.returncode == 0, done.stdout + done.stderr + logs
    return json.loads(done.stdout)


class Rollback(Exception):
    pass


class Scenario:
    """The transactions, and the events each committed or rolled back."""

    def __init__(self) -> None:
        self.expected: list[list[Any]] = []
        self.rolled_back: list[list[Any]] = []

    @contextmanager
    def atomic(self, *events: list[Any], using: str = "default") -> Iterator[None]:
        """A transaction whose ``events`` count only if it commits."""
        from django.db import transaction

        try:
            with transaction.atomic(using=using):
                yield
        except Rollback:
            self.rolled_back.extend(events)
        else:
            self.expected.extend(events)

    def round(self, n: int) -> None:
        from django.db import connection, transaction

        from testproject.shop.models import Customer, Tag

        def saved(email: str, created: bool, using: str = "default") -> list[Any]:
            return ["saved", using, email, created]

        def deleted(name: str) -> list[Any]:
            return ["deleted", "default", name]

        def tag(name: str) -> Tag:
            return Tag.objects.get(name=name)

        for name in ("x", "y", "z"):
            Tag.objects.create(name=f"t{n}{name}")

        # Committed, rolled back, and a savepoint rolled back inside a
        # transaction that commits.
        with self.atomic(saved(f"c{n}a", True)):
            Customer.objects.create(name="a", email=f"c{n}a")
        with self.atomic(saved(f"c{n}b", True)):
            Customer.objects.create(name="b", email=f"c{n}b")
            raise Rollback
        with self.atomic(saved(f"c{n}c", True)):
            Customer.objects.create(name="c", email=f"c{n}c")
            with self.atomic(saved(f"c{n}d", True)):
                Customer.objects.create(name="d", email=f"c{n}d")
                raise Rollback
        with self.atomic(saved(f"c{n}a", False)):
            customer = Customer.objects.get(email=f"c{n}a")
            customer.name = "a2"
            customer.save()
        with self.atomic(saved(f"c{n}c", False)):
            Customer.objects.filter(email=f"c{n}c").get().save()
            raise Rollback
        # Autocommit: delivered as the row is written.
        Customer.objects.create(name="e", email=f"c{n}e")
        self.expected.append(saved(f"c{n}e", True))

        # Deletes: the rows are gone by the time a worker runs.
        with self.atomic(deleted(f"t{n}x")):
            tag(f"t{n}x").delete()
        with self.atomic(deleted(f"t{n}y")):
            tag(f"t{n}y").delete()
            raise Rollback
        with self.atomic(), self.atomic(deleted(f"t{n}y")):
            tag(f"t{n}y").delete()
            raise Rollback
        Tag.objects.filter(name=f"t{n}z").delete()
        self.expected.append(deleted(f"t{n}z"))
        with self.atomic(deleted(f"t{n}y")):
            tag(f"t{n}y").delete()

        # The other database: its tasks are enqueued when its transaction
        # commits, whatever happens to one on the default database.
        with self.atomic(saved(f"o{n}a", True, "other"), using="other"):
            Customer.objects.using("other").create(name="a", email=f"o{n}a")
        with self.atomic(saved(f"o{n}b", True, "other"), using="other"):
            Customer.objects.using("other").create(name="b", email=f"o{n}b")
            raise Rollback
        if connection.vendor != "sqlite":
            # Its task is enqueued from a connection of its own: a rollback
            # on the default database, where tasks go, does not take it.
            # (SQLite has one writer: the task would join that transaction.)
            with self.atomic():
                with transaction.atomic(using="other"):
                    Customer.objects.using("other").create(name="c", email=f"o{n}c")
                self.expected.append(saved(f"o{n}c", True, "other"))
                raise Rollback


class Worker:
    """A ``manage.py db_worker`` process."""

    #: Seconds the process may take to exit, past WAIT_SECONDS, once its
    #: work is done: what its own shutdown may wait on.
    exit_grace = 0

    def __init__(self, worker_id: str, *options: str) -> None:
        self.worker_id = worker_id
        self.log = open(  # noqa: SIM115 (closed in stop())
            Path(os.environ["SIGNALS_APP_SCENARIO"]) / f"worker-{worker_id}.log", "w"
        )
        self.process = subprocess.Popen(
            [*self.program(), *self.command(worker_id), *options],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def program(self) -> list[str]:
        """What runs the command: the project's ``manage.py``."""
        return [sys.executable, "manage.py"]

    def command(self, worker_id: str) -> list[str]:
        """The management command that runs it, and its options."""
        return [
            "db_worker",
            "--worker-id",
            worker_id,
            "--interval",
            "0.05",
            "--no-startup-delay",
            "--no-reload",
            "--verbosity",
            "0",
        ]

    def exited(self) -> int:
        """Wait for it to exit by itself; return its exit code."""
        try:
            return self.process.wait(timeout=WAIT_SECONDS + self.exit_grace)
        finally:
            self.stop()

    def stop(self) -> int:
        """
        Stop it as a deployment would, with SIGTERM, once the queue is idle.

        db_worker lets a running task finish, but a SIGTERM that lands as it
        commits its claim on a task exits before running it, leaving it
        RUNNING for good (django-tasks-db 0.13): so not while it is busy.
        """
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=WAIT_SECONDS + self.exit_grace)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.log.close()


def wait_for(what: str, condition: Callable[[], bool]) -> float:
    """Poll ``condition`` until it holds; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > WAIT_SECONDS:
            raise TimeoutError(f"waited {WAIT_SECONDS} s for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


@contextmanager
def scenario_databases() -> Iterator[Path]:
    """
    Create the scenario's databases, and drop them after; give the journal
    its receivers write to.
    """
    from django.db import connections

    journal = Path(os.environ["SIGNALS_APP_SCENARIO"]) / "journal.jsonl"
    journal.touch()
    old_names = {}
    try:
        for alias in connections:
            old_names[alias] = connections[alias].settings_dict["NAME"]
            connections[alias].creation.create_test_db(
                verbosity=0, autoclobber=True, serialize=False
            )
        yield journal
    finally:
        for alias in connections:
            connections[alias].close()
        for alias, name in old_names.items():
            with suppress(Exception):
                connections[alias].creation.destroy_test_db(name, verbosity=0)


def journalled(journal: Path, scenario: Scenario) -> dict[str, Any]:
    """What the scenario expected, and what the receivers journalled."""
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    return {
        "expected": scenario.expected,
        "rolled_back": scenario.rolled_back,
        "delivered": {
            how: [line["event"] for line in lines if line["how"] == how]
            for how in ("task", "on_commit")
        },
        "pids": {
            how: sorted({line["pid"] for line in lines if line["how"] == how})
            for how in ("task", "on_commit")
        },
        "driver_pid": os.getpid(),
        "unsaved_on_delete": all(
            line["adding"]
            for line in lines
            if line["event"][0] == "deleted" and line["how"] == "task"
        ),
    }


def main() -> int:
    django.setup()
    with scenario_databases() as journal:
        report = run(journal)
    print(json.dumps(report))
    return 0


def run(journal: Path) -> dict[str, Any]:
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    workers: list[Worker] = []
    scenario = Scenario()
    report: dict[str, Any] = {"vendor": connections["default"].vendor}

    def statuses() -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in DBTaskResult.objects.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        return counts

    def delivered_by(worker_id: str) -> bool:
        done = DBTaskResult.objects.filter(status="SUCCESSFUL")
        return any(
            worker_id in ids for ids in done.values_list("worker_ids", flat=True)
        )

    def unfinished() -> int:
        return DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).count()

    try:
        # Phase 1: a worker runs while the transactions happen, and stops
        # after FIRST_WORKER_TASKS of them with the queue still full.
        workers.append(Worker("first", "--max-tasks", str(FIRST_WORKER_TASKS)))
        scenario.round(0)
        wait_for("the first worker to start", lambda: delivered_by("first"))
        for n in range(1, ROUNDS_PER_PHASE):
            scenario.round(n)
        report["first_worker_exit"] = workers[0].exited()

        # Phase 2: no worker; tasks wait in the table.
        for n in range(ROUNDS_PER_PHASE, 2 * ROUNDS_PER_PHASE):
            scenario.round(n)
        report["waiting_while_stopped"] = unfinished()

        # Phase 3: a new worker catches up while more transactions happen.
        workers.append(Worker("second"))
        wait_for("the second worker to start", lambda: delivered_by("second"))
        for n in range(2 * ROUNDS_PER_PHASE, 3 * ROUNDS_PER_PHASE):
            scenario.round(n)
        try:
            report["drain_seconds"] = round(
                wait_for("the queue to drain", lambda: unfinished() == 0), 2
            )
        except TimeoutError as err:
            stuck = list(
                DBTaskResult.objects.exclude(status="SUCCESSFUL").values_list(
                    "status", "worker_ids", "started_at", "args_kwargs"
                )
            )
            raise TimeoutError(f"{err}; {statuses()}, not done: {stuck}") from None
        report["second_worker_exit"] = workers[1].stop()

        report["statuses"] = statuses()
        report["by_worker"] = {}
        for worker_ids in DBTaskResult.objects.values_list("worker_ids", flat=True):
            for worker_id in worker_ids:
                report["by_worker"][worker_id] = (
                    report["by_worker"].get(worker_id, 0) + 1
                )
        report["failures"] = list(
            DBTaskResult.objects.filter(status="FAILED").values_list(
                "traceback", flat=True
            )
        )
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                with suppress(Exception):
                    worker.stop()
    return {**report, **journalled(journal, scenario)}


if __name__ == "__main__":
    raise SystemExit(main())
