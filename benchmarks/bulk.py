"""
What the bulk signals cost ``QuerySet.update()``, against the SQL floor.

``OrderLine.objects.update(quantity=F("quantity") + 1)`` of 10,000 rows, in one run,
side by side with the raw SQL that yields the same information through the
database cursor (the floor), in an in-memory SQLite database (or PostgreSQL
when SIGNALS_APP_TEST_POSTGRES is set):

- ``keys``: one receiver of ``post_update`` reading the keys; floor:
  ``UPDATE ... RETURNING id``.
- ``new``: one receiver connected ``when=NewValues()`` reading the keys and
  the new values; floor: ``UPDATE ... RETURNING id, quantity``.
- ``old``: one receiver connected ``when=OldValues()`` reading keys, new and
  old values; floor, in one transaction: ``SELECT id, quantity ... FOR
  UPDATE`` (no ``FOR UPDATE`` on SQLite, which locks the whole database)
  then ``UPDATE ... RETURNING id, quantity``.
- ``idle``: no receiver, the app's replaced ``update()`` against Django's own
  (many more repeats: each is short, and the two alternate).

An integer column, so that the database's values are the Python ones and
what is timed is the signals' work; a column that Django converts (decimals
on SQLite, a field's ``from_db_value()``) adds Django's conversion of each
value, which the raw floor skips.

Each case alternates ours with its base (the floor, or for ``idle`` Django's
own ``update()``), and the fastest run of each stands. The last line is the
summary::

    python -m benchmarks.bulk [--quick]
"""

import argparse
import gc
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import django

ROWS = 10_000


def _keys(pks: list, **kwargs: Any) -> None:
    len(pks)


def _new(pks: list, values: dict, **kwargs: Any) -> None:
    len(pks), len(values["quantity"])


def _old(pks: list, values: dict, old_values: dict, **kwargs: Any) -> None:
    len(pks), len(values["quantity"]), len(old_values["quantity"])


# SQLite in memory runs in this process, so its CPU time is the cost, and
# other processes on the machine do not blur it; PostgreSQL works in its own
# processes, so there it is the time on the wall.
_clock = time.perf_counter


def _timed(write: Callable[[], Any]) -> float:
    gc.disable()
    try:
        started = _clock()
        write()
        return _clock() - started
    finally:
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bulk")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    rounds = 10 if args.quick else 60

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.db import connection, transaction
    from django.db.models import F

    from signals_app.bulk import NewValues, OldValues, post_update
    from signals_app.bulk.writes import django_update
    from testproject.shop.models import Customer, Order, OrderLine, Product

    connection.creation.create_test_db(verbosity=0)
    global _clock
    _clock = time.process_time if connection.vendor == "sqlite" else time.perf_counter
    customer = Customer.objects.create(name="Bench", email="bench@example.com")
    order = Order.objects.create(customer=customer, number="1")
    product = Product.objects.create(name="pen", price=1)
    OrderLine.objects.bulk_create(
        OrderLine(order=order, product=product, quantity=n) for n in range(ROWS)
    )
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    update_sql = f'UPDATE {table} SET "quantity" = "quantity" + 1'

    def floor(returning: str, select: bool = False) -> Callable[[], Any]:
        def run() -> Any:
            with transaction.atomic(), connection.cursor() as cursor:
                if select:
                    cursor.execute(f'SELECT "id", "quantity" FROM {table}{lock}')
                    old = cursor.fetchall()
                cursor.execute(f"{update_sql} RETURNING {returning}")
                rows = cursor.fetchall()
            return (old, rows) if select else rows

        return run

    def ours() -> Any:
        return OrderLine.objects.update(quantity=F("quantity") + 1)

    def plain() -> Any:
        return django_update(OrderLine.objects.all(), quantity=F("quantity") + 1)

    receivers = {
        "keys": (_keys, None),
        "new": (_new, NewValues()),
        "old": (_old, OldValues()),
    }
    floors = {
        "keys": floor('"id"'),
        "new": floor('"id", "quantity"'),
        "old": floor('"id", "quantity"', select=True),
    }
    runs: dict[str, list[float]] = {}

    def pair(name: str, first: Callable[[], Any], second: Callable[[], Any]) -> None:
        # The two alternate, which goes first alternating too, so that drift
        # in the machine or in the rows touches both alike.
        runs[f"{name} ours"], runs[f"{name} base"] = [], []
        for repeat in range(rounds):
            order = [("ours", first), ("base", second)]
            for label, write in order if repeat % 2 else order[::-1]:
                runs[f"{name} {label}"].append(_timed(write))

    for name, (receiver, when) in receivers.items():
        post_update.connect(receiver, sender=OrderLine, when=when)
        try:
            pair(name, ours, floors[name])
        finally:
            post_update.disconnect(receiver, sender=OrderLine)
    pair("idle", ours, plain)
    # The fastest run of each: the least disturbed by whatever else the
    # machine does (as timeit reports).
    best = {label: min(times) for label, times in runs.items()}

    where = (
        "SQLite in memory, CPU time"
        if connection.vendor == "sqlite"
        else f"{connection.vendor}, wall time"
    )
    print(
        f"Django {django.get_version()}, {where}; update() of {ROWS:,} rows, "
        f"quantity = F('quantity') + 1; fastest of {rounds} alternating runs each, "
        "garbage collector off.\n"
    )
    print(f"  {'case':<8} {'ours ms':>9} {'base ms':>9} {'ratio':>6}")
    ratios = {}
    for name in [*receivers, "idle"]:
        base = best[f"{name} base"]
        ratios[name] = best[f"{name} ours"] / base
        print(
            f"  {name:<8} {best[f'{name} ours'] * 1000:9.2f} {base * 1000:9.2f} "
            f"{ratios[name]:6.2f}"
        )
    print()
    print(
        f"bulk: keys ours/floor {ratios['keys']:.2f}, new ours/floor "
        f"{ratios['new']:.2f}, old ours/floor {ratios['old']:.2f}; "
        f"idle ours/plain {ratios['idle']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
