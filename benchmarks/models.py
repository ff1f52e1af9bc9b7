"""
What a receiver costs ``Model.save()`` and a cascade delete: ours versus Django's.

One receiver connected to ``signals_app.signals`` (heard through a forwarder
on Django's signal) against the same receiver connected to Django's own
signal, and no receiver at all, timed side by side in one run on the example
project's models in an in-memory SQLite database. Run from the repository
root::

    python -m benchmarks.models [--quick]
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import django

ORDERS_PER_CUSTOMER = 10


def _receiver(sender: Any, **kwargs: Any) -> None:
    return None


@contextmanager
def _connected(signal: Any, sender: Any) -> Iterator[None]:
    signal.connect(_receiver, sender=sender)
    try:
        yield
    finally:
        signal.disconnect(_receiver, sender=sender)


def _setups() -> dict[str, Callable[[], Any]]:
    from django.db.models import signals as django_signals

    from signals_app import signals
    from testproject.shop.models import Order, Tag

    return {
        "no receiver": lambda: _connected(signals.pre_delete, Tag),
        "ours": lambda: _connected(signals.post_save, Order),
        "django": lambda: _connected(django_signals.post_save, Order),
        "ours (delete)": lambda: _connected(signals.pre_delete, Order),
        "django (delete)": lambda: _connected(django_signals.pre_delete, Order),
    }


def _time_saves(number: int) -> float:
    from testproject.shop.models import Customer, Order

    customer = Customer.objects.create(name="Bench", email=f"{time.time_ns()}@x")
    order = Order.objects.create(customer=customer, number=str(time.time_ns()))
    started = time.perf_counter_ns()
    for _ in range(number):
        order.save()
    elapsed = time.perf_counter_ns() - started
    customer.delete()
    return elapsed / number / 1000


def _time_cascade(number: int) -> float:
    from testproject.shop.models import Customer, Order, OrderLine, Product

    product = Product.objects.create(name="widget", price=1)
    total = 0
    for _ in range(number):
        customer = Customer.objects.create(name="Bench", email=f"{time.time_ns()}@x")
        orders = Order.objects.bulk_create(
            Order(customer=customer, number=f"{time.time_ns()}-{i}")
            for i in range(ORDERS_PER_CUSTOMER)
        )
        OrderLine.objects.bulk_create(
            OrderLine(order=order, product=product) for order in orders
        )
        started = time.perf_counter_ns()
        customer.delete()
        total += time.perf_counter_ns() - started
    product.delete()
    return total / number / 1000


def _measure(
    timed: Callable[[int], float],
    modes: Sequence[str],
    repeats: int,
    number: int,
) -> dict[str, float]:
    setups = _setups()
    runs: dict[str, list[float]] = {mode: [] for mode in modes}
    for repeat in range(repeats):
        # Rotated each repeat so no mode always runs first.
        for mode in [*modes[repeat % len(modes) :], *modes[: repeat % len(modes)]]:
            with setups[mode]():
                runs[mode].append(timed(number))
    return {mode: statistics.median(values) for mode, values in runs.items()}


def _report(title: str, medians: dict[str, float], ours: str, django: str) -> None:
    print(title)
    for mode, value in medians.items():
        print(f"  {mode:<18} {value:8.1f} µs")
    base = medians["no receiver"]
    print(
        f"  ours / django: {medians[ours] / medians[django]:.2f}x   "
        f"ours / no receiver: {medians[ours] / base:.2f}x   "
        f"django / no receiver: {medians[django] / base:.2f}x"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.models")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats, saves, deletes = (3, 300, 20) if args.quick else (9, 1000, 60)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0)
    print(
        f"Django {django.get_version()}, SQLite in memory; median of {repeats} "
        f"repeats; one receiver, connected weakly for one sender.\n"
        "'no receiver' has a receiver of ours on pre_delete for an unrelated "
        "model (Tag), to show it costs nothing elsewhere.\n"
    )
    _report(
        f"Order.save() (update), {saves} per repeat:",
        _measure(_time_saves, ["no receiver", "ours", "django"], repeats, saves),
        "ours",
        "django",
    )
    print()
    _report(
        f"Customer.delete() cascading to {ORDERS_PER_CUSTOMER} orders and their "
        f"lines, {deletes} per repeat:",
        _measure(
            _time_cascade,
            ["no receiver", "ours (delete)", "django (delete)"],
            repeats,
            deletes,
        ),
        "ours (delete)",
        "django (delete)",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
