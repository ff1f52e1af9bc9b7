"""
What a receiver's delivery costs ``Model.save()``: now, on_commit, task.

One receiver of ``signals_app.signals.post_save`` for ``Order``, connected
with each delivery in turn, against no receiver at all, timed side by side
in one run on the example project's models, in an in-memory SQLite database
(or PostgreSQL when SIGNALS_APP_TEST_POSTGRES is set). The receiver does
nothing, so what is timed is what the delivery adds:

- ``now``: called during save().
- ``on_commit``: handed to ``transaction.on_commit()``, called at commit.
- ``task (outbox)``: a task row written by django-tasks-db in the save's own
  transaction (the payload encoded, the row inserted).
- ``task (dummy)``: the payload encoded and handed to the Tasks API's dummy
  backend at commit, which keeps it in memory: the cost of queueing without
  a database write, as with an external broker minus its network round trip.

Each save is timed on its own (autocommit: a transaction per save) and in
batches inside one ``transaction.atomic()`` (on_commit callbacks and tasks
run or commit at its end, inside the timing). No worker runs: the cost in
the worker is not the save's. Run from the repository root::

    python -m benchmarks.delivery [--quick]
"""

import argparse
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import django

MODES = ["no receiver", "now", "on_commit", "task (outbox)", "task (dummy)"]


def _receiver(sender: Any, **kwargs: Any) -> None:
    return None


@contextmanager
def _connected(mode: str) -> Iterator[None]:
    from django.test.utils import override_settings

    from signals_app import signals
    from testproject.shop.models import Order

    if mode == "no receiver":
        yield
        return
    delivery = mode.split(" ")[0]
    tasks = nullcontext()
    if mode == "task (dummy)":
        try:
            import django.tasks  # noqa: F401

            module = "django.tasks"
        except ImportError:
            module = "django_tasks"
        tasks = override_settings(
            TASKS={"default": {"BACKEND": f"{module}.backends.dummy.DummyBackend"}}
        )
    with tasks:
        signals.post_save.connect(
            _receiver, sender=Order, delivery=delivery, dispatch_uid="bench"
        )
        try:
            yield
        finally:
            signals.post_save.disconnect(sender=Order, dispatch_uid="bench")
            if mode == "task (dummy)":
                from signals_app.delivery.tasks import deliver

                deliver.get_backend().clear()


def _time_saves(number: int, batch: int) -> float:
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from testproject.shop.models import Customer, Order

    customer = Customer.objects.create(name="Bench", email=f"{time.time_ns()}@x")
    order = Order.objects.create(customer=customer, number=str(time.time_ns()))
    elapsed = 0
    for _ in range(number // batch):
        started = time.perf_counter_ns()
        if batch == 1:
            order.save()
        else:
            with transaction.atomic():
                for _ in range(batch):
                    order.save()
        elapsed += time.perf_counter_ns() - started
    customer.delete()
    DBTaskResult.objects.all().delete()
    return elapsed / (number // batch * batch) / 1000


def _measure(
    repeats: int, number: int, batch: int, modes: Sequence[str]
) -> dict[str, float]:
    runs: dict[str, list[float]] = {mode: [] for mode in modes}
    for repeat in range(repeats):
        # Rotated each repeat so no mode always runs first.
        for mode in [*modes[repeat % len(modes) :], *modes[: repeat % len(modes)]]:
            with _connected(mode):
                runs[mode].append(_time_saves(number, batch))
    return {mode: statistics.median(values) for mode, values in runs.items()}


def _report(title: str, medians: dict[str, float]) -> None:
    print(title)
    base, now = medians["no receiver"], medians["now"]
    print(f"  {'delivery':<15} {'µs/save':>8} {'+ vs none':>10} {'+ vs now':>9}")
    for mode, value in medians.items():
        print(
            f"  {mode:<15} {value:8.1f} {value - base:+10.1f} "
            f"{'' if mode == 'no receiver' else f'{value - now:+9.1f}'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delivery")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats, saves = (3, 300) if args.quick else (9, 1000)
    batch = 100

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0)
    vendor = connection.vendor
    where = "SQLite in memory" if vendor == "sqlite" else vendor
    print(
        f"Django {django.get_version()}, {where}; median of {repeats} repeats; "
        "one receiver of post_save for Order that does nothing; Order.save() "
        "of an existing row.\n"
    )
    _report(
        f"Each save in its own transaction (autocommit), {saves} per repeat:",
        _measure(repeats, saves, 1, MODES),
    )
    print()
    _report(
        f"{batch} saves per transaction.atomic(), commit included, {saves} per repeat:",
        _measure(repeats, saves, batch, MODES),
    )
    print()
    _report_encode(repeats)
    return 0


def _report_encode(repeats: int) -> None:
    # The part of a queued receiver's cost that is signals_app's own; the
    # rest is the backend's enqueue.
    import timeit

    from signals_app.delivery.encoding import encode
    from testproject.shop.models import Customer, Order

    customer = Customer.objects.create(name="Bench", email=f"{time.time_ns()}@x")
    order = Order.objects.create(customer=customer, number=str(time.time_ns()))
    named = {
        "instance": order,
        "created": False,
        "update_fields": None,
        "raw": False,
        "using": "default",
    }
    timer = timeit.Timer(lambda: encode("r", Order, named, deleting=False))
    number = 10_000
    best = min(timer.repeat(repeats, number)) / number * 1e6
    timer = timeit.Timer(lambda: encode("r", Order, named, deleting=True))
    deleting = min(timer.repeat(repeats, number)) / number * 1e6
    customer.delete()
    print(
        "signals_app's own share of a queued receiver, the payload of post_save's "
        f"arguments:\n  encode(), instance as label and pk  {best:6.1f} µs\n"
        f"  encode(), instance as field values {deleting:6.1f} µs (post_delete)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
