"""
A queued task in the worker, in one process: signals_app's against the floor.

Ours is the function the worker runs for each task
(``signals_app.delivery.tasks``: signature, allow-list, admission, decoding,
the call); the floor loads the same row and calls the same receiver with
the same arguments, checking nothing. Both run in a loop in this process,
on the example project's models, in an in-memory SQLite database (or
PostgreSQL when SIGNALS_APP_TEST_POSTGRES is set), so neither a backend nor
a connection is in the figure. Run from the repository root::

    python -m benchmarks.worker_task [--quick]

Timings on a shared machine are noisy; for a figure that is not, run one
side alone under callgrind twice, with two task counts, and divide the
difference in instructions by the difference in tasks::

    valgrind --tool=callgrind python -m benchmarks.worker_task --only ours -n 100
    valgrind --tool=callgrind python -m benchmarks.worker_task --only ours -n 600

``--fork`` runs each task as RQ's default worker does: in a child forked
from this process, which opens a connection of its own (so it needs
SIGNALS_APP_TEST_POSTGRES) and exits after the one task. It prints the
child's CPU time for the task, where what the parent did not prepare
before the fork (and copy-on-write of the pages the task touches) is paid
again for every task.
"""

import argparse
import logging
import os
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import django

EVENT = str(uuid.UUID(int=16))


def _receiver(sender: Any, **kwargs: Any) -> None:
    return None


def _tasks() -> dict[str, Callable[[], None]]:
    from signals_app import signals
    from signals_app.delivery import queued_name, sealed, tasks
    from signals_app.delivery.encoding import encode
    from testproject.shop.models import Customer

    signals.post_save.connect(
        _receiver, sender=Customer, delivery="task", dispatch_uid="bench"
    )
    customer = Customer.objects.create(name="Bench", email=f"{time.time_ns()}@x")
    named = {
        "instance": customer,
        "created": False,
        "update_fields": None,
        "raw": False,
        "using": "default",
    }
    name = queued_name(signals.post_save, _receiver, "bench")
    data = sealed.seal(encode(name, Customer, named, deleting=False), EVENT, "fail")

    def ours() -> None:
        tasks._deliver(data, EVENT, "fail")

    def floor() -> None:
        instance = Customer._base_manager.get(pk=customer.pk)
        _receiver(
            signal=signals.post_save,
            sender=Customer,
            event_id=uuid.UUID(EVENT),
            **{**named, "instance": instance},
        )

    return {"ours": ours, "floor": floor}


def _forked(task: Callable[[], None], number: int) -> float:
    """Median CPU µs of ``task`` in a child forked for each run, as RQ does."""
    from django.db import connections

    spent = []
    for _ in range(number):
        # As rqworker does before it forks: no connection to inherit.
        connections.close_all()
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:
            started = time.process_time_ns()
            task()
            os.write(writing, str(time.process_time_ns() - started).encode())
            os._exit(0)
        os.close(writing)
        with os.fdopen(reading) as pipe:
            spent.append(int(pipe.read()) / 1000)
        os.waitpid(child, 0)
    return statistics.median(spent)


def _time(task: Callable[[], None], number: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(number):
        task()
    return (time.perf_counter_ns() - started) / number / 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_task")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--only", choices=["ours", "floor"], help="one side, once")
    parser.add_argument("-n", type=int, help="tasks per round (1000; 100 forked)")
    parser.add_argument(
        "--fork", action="store_true", help="each task in a child forked for it"
    )
    args = parser.parse_args(argv)
    if args.fork and not os.environ.get("SIGNALS_APP_TEST_POSTGRES"):
        parser.error("--fork needs SIGNALS_APP_TEST_POSTGRES: children connect")
    number = args.n or (100 if args.fork else 1000)
    measure = _forked if args.fork else _time

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.db import connection

    # autoclobber: a test database an interrupted run left is replaced.
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        # The worker's INFO line per task is the logging setup's cost, not ours.
        logging.disable(logging.CRITICAL)
        tasks = _tasks()
        if args.only:
            measure(tasks[args.only], number)
        else:
            _compare(tasks, measure, number, 3 if args.quick else 9, args.fork)
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
    return 0


def _compare(
    tasks: dict[str, Callable[[], None]],
    measure: Callable[[Callable[[], None], int], float],
    number: int,
    rounds: int,
    forked: bool,
) -> None:
    ratios: list[float] = []
    per_task: dict[str, list[float]] = {"ours": [], "floor": []}
    for index in range(rounds):
        # Alternated, so that neither always runs first.
        order = ["ours", "floor"] if index % 2 else ["floor", "ours"]
        timed = {side: measure(tasks[side], number) for side in order}
        for side, value in timed.items():
            per_task[side].append(value)
        ratios.append(timed["ours"] / timed["floor"])
    ours, floor = (statistics.median(per_task[side]) for side in ("ours", "floor"))
    how = "forked, CPU " if forked else ""
    print(
        f"worker_task: {how}µs/task ours {ours:.0f}, floor {floor:.0f}, ours/floor "
        f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
