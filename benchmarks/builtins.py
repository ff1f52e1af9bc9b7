"""
Django's built-in signals with signals_app installed and without, side by side.

Installing signals_app switches Django's own ``post_save`` (and the other 13
built-in signal objects) to our dispatcher, so the two cannot be compared in
one process. Each round therefore runs two child processes one after the
other, the same settings with and without ``"signals_app"`` in
``INSTALLED_APPS`` (the example project's shop models, SQLite in memory,
``DEBUG`` off), alternating which goes first. Run from the repository root::

    python -m benchmarks.builtins [--quick] [--rounds N] [--json PATH]

Each process reports the best of its repeats for every benchmark; the table
gives the median over the processes of each kind, and ratios of those
medians. The last line of the output is a one-line summary.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import Any

INSTALLED = "installed"
PLAIN = "plain"
MODES = (PLAIN, INSTALLED)
ORDERS_PER_CUSTOMER = 10
PAIRS = 3_000
CONNECTS = 10_000


@dataclass(frozen=True)
class Scale:
    """How much each child process times."""

    repeats: int
    send_ns: int  # about how long one repeat of send() lasts
    saves: int  # Order.save() calls per repeat
    deletes: int  # cascading deletes per repeat
    pair_repeats: int
    connect_repeats: int


# Many short repeats rather than a few long ones: the best of them is then
# likely to have run while nothing else wanted the CPU.
FULL = Scale(
    repeats=20,
    send_ns=10_000_000,
    saves=150,
    deletes=5,
    pair_repeats=3,
    connect_repeats=1,
)
QUICK = Scale(
    repeats=6,
    send_ns=10_000_000,
    saves=100,
    deletes=4,
    pair_repeats=1,
    connect_repeats=1,
)

# CPU time of the thread, not the wall clock: on a machine shared with other
# work, the time a process spends waiting for a CPU is not its own cost.
# Everything timed runs on this thread (SQLite in memory waits on no I/O).
clock = time.thread_time_ns


@dataclass(frozen=True)
class Benchmark:
    """One row of the table."""

    key: str
    label: str
    unit: str


BENCHMARKS = (
    Benchmark("send_one", "post_save.send(), 1 receiver for Order", "ns"),
    Benchmark("save_one", "Order.save() (update), 1 post_save receiver", "µs"),
    Benchmark("save_idle", "Order.save() (update), no receiver", "µs"),
    Benchmark(
        "cascade_idle",
        f"Customer.delete(), {ORDERS_PER_CUSTOMER} orders + lines, no receiver",
        "µs",
    ),
    Benchmark("pairs", f"{PAIRS:,} connects + {PAIRS:,} disconnects", "ms"),
    Benchmark("connects", f"{CONNECTS:,} connects, one sender", "ms"),
)


# The child process: one mode, every benchmark ------------------------------


def _configure(mode: str) -> None:
    import django
    from django.conf import settings

    apps = ["testproject.shop"]
    if mode == INSTALLED:
        apps.insert(0, "signals_app")
    settings.configure(
        # Off, as in production: Django's connect() then skips its receiver
        # checks (ours always runs them, so their cost stays in the numbers).
        DEBUG=False,
        SECRET_KEY="benchmark",
        INSTALLED_APPS=apps,
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()

    from django.apps import apps as registry
    from django.db import connection

    # The tables only: migrations would add nothing to what is timed.
    with connection.schema_editor() as editor:
        for model in registry.get_app_config("shop").get_models():
            if model._meta.managed and not model._meta.proxy:
                editor.create_model(model)


def _check_mode(mode: str) -> None:
    """Refuse to time a process that is not what its mode says."""
    from django.db.models import signals

    loaded = "signals_app" in sys.modules
    switched = type(signals.post_save).__module__.startswith("signals_app.")
    if loaded != (mode == INSTALLED) or switched != (mode == INSTALLED):
        raise RuntimeError(
            f"{mode}: signals_app imported: {loaded}, Django's post_save "
            f"is {type(signals.post_save)!r}"
        )


_calls = [0]


def _counting(sender: Any, **kwargs: Any) -> None:
    _calls[0] += 1


def _receivers(count: int) -> list[Callable[..., None]]:
    """``count`` distinct functions, each what a module-level ``def`` would be."""
    made = []
    for i in range(count):
        func = FunctionType(_counting.__code__, globals(), f"receiver_{i}")
        func.__qualname__ = func.__name__
        made.append(func)
    return made


def _timed(function: Callable[[], Any]) -> int:
    """Nanoseconds ``function()`` takes, with the garbage collector off."""
    gc.collect()
    gc.disable()
    try:
        started = clock()
        function()
        return clock() - started
    finally:
        gc.enable()


def _expect_calls(before: int, count: int, what: str) -> None:
    # A dispatcher that skipped its receiver would look fast: it must not.
    if _calls[0] - before != count:
        raise RuntimeError(f"{what}: {_calls[0] - before} calls, expected {count}")


def _time_send(scale: Scale, order: Any) -> float:
    from django.db.models.signals import post_save

    receiver = _receivers(1)[0]
    post_save.connect(receiver, sender=type(order))
    try:
        namespace = {"send": post_save.send, "Order": type(order), "order": order}
        stmt = (
            "send(sender=Order, instance=order, created=False, raw=False, "
            "using='default', update_fields=None)"
        )
        if len(eval(stmt, dict(namespace))) != 1:
            raise RuntimeError("post_save.send() did not reach its one receiver")
        timer = timeit.Timer(stmt, globals=namespace, timer=clock)
        number = 1
        while (elapsed := timer.timeit(number)) < scale.send_ns // 10:
            number *= 2
        number = max(1, round(number * scale.send_ns / elapsed))
        return timer.timeit(number) / number
    finally:
        post_save.disconnect(receiver, sender=type(order))


def _time_saves(scale: Scale, order: Any, receiver: bool) -> float:
    from django.db.models.signals import post_save

    connected = _receivers(1)[0]
    if receiver:
        post_save.connect(connected, sender=type(order))
    if post_save.has_listeners(type(order)) != receiver:
        raise RuntimeError(f"post_save listeners for Order: expected {receiver}")
    try:

        def saves() -> None:
            for _ in range(scale.saves):
                order.save()

        before = _calls[0]
        elapsed = _timed(saves)
        _expect_calls(before, scale.saves if receiver else 0, "Order.save()")
        return elapsed / scale.saves / 1000
    finally:
        if receiver:
            post_save.disconnect(connected, sender=type(order))


def _time_cascade(scale: Scale) -> float:
    from testproject.shop.models import Customer, Order, OrderLine, Product

    product = Product.objects.create(name="widget", price=1)
    total = 0
    for i in range(scale.deletes):
        customer = Customer.objects.create(name="Bench", email=f"{time.time_ns()}@x")
        orders = Order.objects.bulk_create(
            Order(customer=customer, number=f"c{time.time_ns()}-{i}-{n}")
            for n in range(ORDERS_PER_CUSTOMER)
        )
        OrderLine.objects.bulk_create(
            OrderLine(order=order, product=product) for order in orders
        )
        total += _timed(customer.delete)
    if Order.objects.count() != 1 or OrderLine.objects.exists():
        raise RuntimeError("the cascade left orders or lines behind")
    product.delete()
    return total / scale.deletes / 1000


def _time_pairs(receivers: Sequence[Callable[..., None]], sender: type) -> float:
    from django.db.models.signals import post_save

    def pairs() -> None:
        for r in receivers:
            post_save.connect(r, sender=sender)
        # In connection order: Django finds each at the front of its list,
        # its best case.
        for r in receivers:
            post_save.disconnect(r, sender=sender)

    elapsed = _timed(pairs)
    if post_save.has_listeners(sender):
        raise RuntimeError("connect/disconnect left receivers on post_save")
    return elapsed / 1e6


def _time_connects(receivers: Sequence[Callable[..., None]], sender: type) -> float:
    from django.db.models.signals import post_save

    already = len(post_save.receivers)

    def connects() -> None:
        for r in receivers:
            post_save.connect(r, sender=sender)

    elapsed = _timed(connects)
    if len(post_save.receivers) != already + len(receivers):
        raise RuntimeError("post_save did not keep every receiver connected")
    for r in receivers:
        post_save.disconnect(r, sender=sender)
    return elapsed / 1e6


def _child(mode: str, scale: Scale) -> dict[str, list[float]]:
    _configure(mode)
    _check_mode(mode)
    from testproject.shop.models import Customer, Order

    customer = Customer.objects.create(name="Bench", email="bench@example.com")
    order = Order.objects.create(customer=customer, number="bench")
    runs: dict[str, list[float]] = {b.key: [] for b in BENCHMARKS}
    for _ in range(scale.repeats):
        # Interleaved, so that noise during the run falls on all of them.
        runs["send_one"].append(_time_send(scale, order))
        runs["save_one"].append(_time_saves(scale, order, receiver=True))
        runs["save_idle"].append(_time_saves(scale, order, receiver=False))
        runs["cascade_idle"].append(_time_cascade(scale))
    customer.delete()
    pair_receivers = _receivers(PAIRS)
    for _ in range(scale.pair_repeats):
        runs["pairs"].append(_time_pairs(pair_receivers, Order))
    connect_receivers = _receivers(CONNECTS)
    for _ in range(scale.connect_repeats):
        runs["connects"].append(_time_connects(connect_receivers, Order))
    return runs


# The parent process: rounds of children, the table -------------------------


def _run_child(mode: str, quick: bool) -> dict[str, list[float]]:
    command = [sys.executable, "-m", "benchmarks.builtins", "--child", mode]
    if quick:
        command.append("--quick")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"the {mode} process failed:\n{done.stderr}")
    result: dict[str, list[float]] = json.loads(done.stdout.splitlines()[-1])
    return result


def _format(value: float, unit: str) -> str:
    if unit == "ms" or value < 100:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _spread(values: Sequence[float]) -> float:
    """The slowest process over the fastest, minus one: a gauge of noise."""
    return max(values) / min(values) - 1


@dataclass
class Outcome:
    """What the rounds add up to, per benchmark."""

    # Per mode, per benchmark: the median over that mode's processes.
    medians: dict[str, dict[str, float]]
    # Per benchmark: the median over the rounds of installed / plain, each
    # round's two processes having run one right after the other.
    ratios: dict[str, float]
    # Per benchmark: in how many rounds the installed process was cheaper.
    cheaper: dict[str, int]


def _outcome(best: dict[str, dict[str, list[float]]]) -> Outcome:
    per_round = {
        b.key: [
            i / p
            for p, i in zip(best[PLAIN][b.key], best[INSTALLED][b.key], strict=True)
        ]
        for b in BENCHMARKS
    }
    return Outcome(
        medians={
            mode: {key: statistics.median(values) for key, values in runs.items()}
            for mode, runs in best.items()
        },
        ratios={key: statistics.median(values) for key, values in per_round.items()},
        cheaper={key: sum(r < 1 for r in values) for key, values in per_round.items()},
    )


def _table(best: dict[str, dict[str, list[float]]], outcome: Outcome) -> list[str]:
    rounds = len(best[PLAIN][BENCHMARKS[0].key])
    headers = [
        "benchmark",
        "unit",
        PLAIN,
        INSTALLED,
        "installed/plain",
        "rounds cheaper",
        "spread",
    ]
    rows = []
    medians = outcome.medians
    for b in BENCHMARKS:
        spread = max(_spread(best[mode][b.key]) for mode in MODES)
        rows.append(
            [
                b.label,
                b.unit,
                _format(medians[PLAIN][b.key], b.unit),
                _format(medians[INSTALLED][b.key], b.unit),
                f"{outcome.ratios[b.key]:.3f}x",
                f"{outcome.cheaper[b.key]}/{rounds}",
                f"{spread:.0%}",
            ]
        )
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def render(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [
            cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "-" * len(render(headers))
    return [render(headers), rule, *map(render, rows), rule]


def _summary(outcome: Outcome) -> str:
    def ratio(key: str) -> str:
        return f"{outcome.ratios[key]:.3f}x"

    connects = outcome.medians
    return (
        f"builtins: save+1 receiver installed/plain {ratio('save_one')}, "
        f"idle save {ratio('save_idle')}, cascade {ratio('cascade_idle')}, "
        f"send+1 receiver {ratio('send_one')}, "
        f"{PAIRS} connect+disconnect {ratio('pairs')}, "
        f"{CONNECTS} connects {connects[INSTALLED]['connects']:.0f} ms "
        f"(plain Django {connects[PLAIN]['connects']:.0f} ms)"
    )


def _parent(rounds: int, quick: bool, json_path: str | None) -> int:
    import django

    from benchmarks import environment

    print(f"python:   {platform.python_implementation()} {platform.python_version()}")
    print(f"django:   {django.get_version()}")
    print(f"cpu:      {environment.cpu_model()} x {environment.cpus_usable()}")
    print(f"commit:   {environment.commit()}")
    print(
        f"method:   {rounds} rounds of two processes, plain Django and with "
        "signals_app installed, alternating which goes first; each process "
        "reports its best repeat of each benchmark, in CPU time\n"
    )
    sys.stdout.flush()
    best: dict[str, dict[str, list[float]]] = {
        mode: {b.key: [] for b in BENCHMARKS} for mode in MODES
    }
    raw: dict[str, list[dict[str, list[float]]]] = {mode: [] for mode in MODES}
    started = time.perf_counter()
    for round_ in range(rounds):
        for mode in MODES if round_ % 2 == 0 else MODES[::-1]:
            runs = _run_child(mode, quick)
            raw[mode].append(runs)
            for key, values in runs.items():
                best[mode][key].append(min(values))
    outcome = _outcome(best)
    print("\n".join(_table(best, outcome)))
    print(
        "installed/plain: the median over the rounds of the installed process "
        "over the plain one; under 1.000x, cheaper with signals_app installed.\n"
        "Times: CPU time of the thread, the median over the processes of each "
        "kind. spread: the slowest process of a kind over its fastest."
    )
    print(f"Timed in {time.perf_counter() - started:.0f} s.")
    if json_path:
        with open(json_path, "w") as out:
            json.dump(
                {
                    "medians": outcome.medians,
                    "ratios": outcome.ratios,
                    "processes": raw,
                },
                out,
                indent=2,
            )
            out.write("\n")
        print(f"Saved {json_path}")
    print(_summary(outcome))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rounds, or, with ``--child``, one process's share of them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.builtins")
    parser.add_argument("--quick", action="store_true", help="a rough look")
    parser.add_argument("--rounds", type=int, help="pairs of processes (default 6)")
    parser.add_argument("--json", metavar="PATH", help="also save results to PATH")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.child:
        print(json.dumps(_child(args.child, scale)))
        return 0
    rounds = args.rounds or (2 if args.quick else 6)
    return _parent(rounds, args.quick, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
