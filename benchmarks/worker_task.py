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


def _time(task: Callable[[], None], number: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(number):
        task()
    return (time.perf_counter_ns() - started) / number / 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_task")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--only", choices=["ours", "floor"], help="one side, once")
    parser.add_argument("-n", type=int, default=1000, help="tasks per round")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0)
    # The worker's INFO line per task is the logging setup's cost, not ours.
    logging.disable(logging.CRITICAL)
    tasks = _tasks()
    if args.only:
        _time(tasks[args.only], args.n)
        return 0
    rounds = 3 if args.quick else 9
    ratios, per_task = [], {"ours": [], "floor": []}
    for index in range(rounds):
        # Alternated, so that neither always runs first.
        order = ["ours", "floor"] if index % 2 else ["floor", "ours"]
        timed = {side: _time(tasks[side], args.n) for side in order}
        for side, value in timed.items():
            per_task[side].append(value)
        ratios.append(timed["ours"] / timed["floor"])
    ours, floor = (statistics.median(per_task[side]) for side in ("ours", "floor"))
    print(
        f"worker_task: µs/task ours {ours:.0f}, floor {floor:.0f}, ours/floor "
        f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
