"""
Side-by-side benchmarks of signal dispatch.

Compares ``signals_app.dispatch.Signal`` with ``django.dispatch.Signal`` (both
with ``use_caching=True`` and with the default), with ``blinker.Signal``, and
with a *floor*: the plain loop over the receivers that any dispatcher has to
run at the least. Run it from the repository root::

    python -m benchmarks.dispatch [--quick] [--json PATH]

Every contender of a row is timed in the same run, interleaved within each
repeat so that noise on the machine hits all of them alike; the table reports
the minimum over the repeats. benchmarks/README.md says what each row
measures and how to read the ratios.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from types import FunctionType, SimpleNamespace
from typing import Any

import blinker
import django
from django.conf import settings
from django.dispatch import Signal as DjangoSignal

from benchmarks import environment
from signals_app.dispatch import Signal

OURS = "ours"
DJ_CACHED = "dj_cached"
DJ_DEFAULT = "dj_default"
BLINKER = "blinker"
FLOOR = "floor"
CONTENDERS = (OURS, DJ_CACHED, DJ_DEFAULT, BLINKER, FLOOR)
LEGEND = {
    OURS: "signals_app.dispatch.Signal()",
    DJ_CACHED: "django.dispatch.Signal(use_caching=True)",
    DJ_DEFAULT: "django.dispatch.Signal()  (use_caching=False)",
    BLINKER: "blinker.Signal()",
    FLOOR: "for r in receivers: r(signal=sig, sender=sender, **named)",
}
# Each ratio is numerator / denominator; the first three read "how many times
# slower than ours", the last "how far ours is above the floor".
RATIOS = (
    (DJ_CACHED, OURS),
    (DJ_DEFAULT, OURS),
    (BLINKER, OURS),
    (OURS, FLOOR),
)

# What Django's Model.save() sends with post_save, looking send up on the
# signal each time as Model.save() does: a signal of ours sets the send
# compiled for these names on itself at its first send.
SEND_STMT = (
    "signal.send(sender, instance=instance, created=False, raw=False, "
    "using='default', update_fields=None)"
)
HAS_LISTENERS_STMT = "has_listeners(sender)"
CONNECTIONS = 10_000


@dataclass
class Case:
    """One row of the table: a statement and, per contender, what it runs on."""

    section: str
    label: str
    stmt: str
    # Per contender, the globals the statement runs with.
    namespaces: dict[str, dict[str, Any]]
    # Per contender, what ``summarise(result)`` must be before timing starts,
    # so that a contender that silently skips its receivers cannot win.
    # Missing for the floor, which returns nothing.
    expected: dict[str, Any]
    summarise: Callable[[Any], Any]
    # Receivers are connected weakly: this keeps them alive while timing.
    keepalive: list[Any] = field(default_factory=list)


@dataclass
class Result:
    section: str
    label: str
    unit: str
    # Per contender, one time per repeat, in ``unit``.
    runs: dict[str, list[float]]
    # Per contender, how many operations each repeat timed.
    number: dict[str, int]

    def best(self, contender: str) -> float:
        return min(self.runs[contender])

    def median(self, contender: str) -> float:
        return statistics.median(self.runs[contender])

    def ratio(self, numerator: str, denominator: str) -> float | None:
        if numerator not in self.runs or denominator not in self.runs:
            return None
        return self.best(numerator) / self.best(denominator)

    def spread(self) -> float:
        """The worst contender's median over its minimum, minus one."""
        return max(self.median(name) / self.best(name) - 1 for name in self.runs)


# Receivers and senders ---------------------------------------------------


def _receiver(sender, **kwargs):
    return None


def _receivers(count: int, prefix: str) -> list[Callable[..., None]]:
    """
    Return ``count`` distinct functions, each what a module-level
    ``def r(sender, **kwargs): return None`` would be: no closure, the
    module's globals, a name of its own.
    """
    made = []
    for i in range(count):
        func = FunctionType(_receiver.__code__, globals(), f"{prefix}_{i}")
        func.__qualname__ = func.__name__
        made.append(func)
    return made


def _model(name: str) -> type:
    """A class standing in for a model class, the usual sender."""
    return type(name, (), {"__module__": __name__})


def _floor(signal: Any, receivers: Sequence[Callable[..., Any]]) -> Callable[..., None]:
    def floor(sender, **named):
        for r in receivers:
            r(signal=signal, sender=sender, **named)

    return floor


def _signals() -> dict[str, Any]:
    made = {
        OURS: Signal(),
        DJ_CACHED: DjangoSignal(use_caching=True),
        DJ_DEFAULT: DjangoSignal(),
        BLINKER: blinker.Signal(),
    }
    # signals_app switches only Django's 14 built-in signal objects to its
    # classes; a Signal made here stays Django's own, whatever was imported,
    # and the comparison is worth nothing unless it does.
    for name in (DJ_CACHED, DJ_DEFAULT):
        if type(made[name]) is not DjangoSignal or isinstance(made[name], Signal):
            raise RuntimeError(f"{name} is not Django's own Signal: {made[name]!r}")
    return made


# Cases --------------------------------------------------------------------

SEND_SECTION = "send(sender, **post_save kwargs): ns per call"
HAS_LISTENERS_SECTION = "has_listeners(sender): ns per call"
CONNECT_SECTION = f"connect / disconnect {CONNECTIONS:,} receivers: ms in total"


def _send_case(count: int) -> Case:
    """``count`` receivers, all connected for any sender."""
    sender = _model("Article")
    receivers = _receivers(count, "receiver")
    signals = _signals()
    for signal in signals.values():
        for r in receivers:
            signal.connect(r)
    sends = dict(signals)
    sends[FLOOR] = SimpleNamespace(send=_floor(signals[OURS], receivers))
    label = f"{count} receiver" if count == 1 else f"{count} receivers"
    return Case(
        section=SEND_SECTION,
        label=label,
        stmt=SEND_STMT,
        namespaces={
            name: {"signal": signal, "sender": sender, "instance": sender()}
            for name, signal in sends.items()
        },
        expected=dict.fromkeys(signals, count),
        summarise=len,
        keepalive=[receivers],
    )


def _other_senders_case() -> Case:
    """
    A model signal as projects use it: receivers for many models, one of
    them for the model that sends.
    """
    sender = _model("Article")
    others = [_model(f"Other{i}") for i in range(100)]
    other_receivers = _receivers(100, "other")
    own = _receivers(1, "article")
    signals = _signals()
    for signal in signals.values():
        for other, r in zip(others, other_receivers, strict=True):
            signal.connect(r, sender=other)
        signal.connect(own[0], sender=sender)
    sends = dict(signals)
    sends[FLOOR] = SimpleNamespace(send=_floor(signals[OURS], own))
    return Case(
        section=SEND_SECTION,
        label="1 own + 100 for other senders",
        stmt=SEND_STMT,
        namespaces={
            name: {"signal": signal, "sender": sender, "instance": sender()}
            for name, signal in sends.items()
        },
        expected=dict.fromkeys(signals, 1),
        summarise=len,
        keepalive=[others, other_receivers, own],
    )


def _has_listeners_case(label: str, any_sender: int, other_senders: int) -> Case:
    sender = _model("Article")
    others = [_model(f"Other{i}") for i in range(other_senders)]
    receivers = _receivers(any_sender, "receiver")
    other_receivers = _receivers(other_senders, "other")
    signals = _signals()
    for signal in signals.values():
        for r in receivers:
            signal.connect(r)
        for other, r in zip(others, other_receivers, strict=True):
            signal.connect(r, sender=other)
    checks = {
        name: signal.has_listeners
        for name, signal in signals.items()
        if name != BLINKER
    }
    checks[BLINKER] = signals[BLINKER].has_receivers_for
    return Case(
        section=HAS_LISTENERS_SECTION,
        label=label,
        stmt=HAS_LISTENERS_STMT,
        namespaces={
            name: {"has_listeners": check, "sender": sender}
            for name, check in checks.items()
        },
        expected=dict.fromkeys(checks, bool(any_sender)),
        summarise=bool,
        keepalive=[others, receivers, other_receivers],
    )


def _cases() -> list[Case]:
    return [
        *(_send_case(count) for count in (0, 1, 10, 100)),
        _other_senders_case(),
        _has_listeners_case("no receivers", any_sender=0, other_senders=0),
        _has_listeners_case("10 receivers", any_sender=10, other_senders=0),
        _has_listeners_case(
            "100 for other senders only", any_sender=0, other_senders=100
        ),
    ]


# Timing -------------------------------------------------------------------


def _verify(case: Case) -> None:
    # Also warms up: the first send works out and caches each plan.
    code = compile(case.stmt, "<benchmark>", "eval")
    for name, namespace in case.namespaces.items():
        result = eval(code, dict(namespace))
        if name in case.expected:
            got = case.summarise(result)
            if got != case.expected[name]:
                raise RuntimeError(
                    f"{case.section} / {case.label}: {name} gave {got!r}, "
                    f"expected {case.expected[name]!r}"
                )


def _calibrate(timer: timeit.Timer, target_ns: int) -> int:
    """How many iterations make one repeat last about ``target_ns``."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target_ns // 10:
            return max(1, round(number * target_ns / elapsed))
        number *= 2


def _rotated(names: Sequence[str], by: int) -> list[str]:
    by %= len(names)
    return [*names[by:], *names[:by]]


def _time_case(case: Case, repeats: int, target_ns: int) -> Result:
    _verify(case)
    # timeit runs the statement in a loop compiled for it, with the garbage
    # collector disabled; perf_counter_ns makes it count integer nanoseconds.
    timers = {
        name: timeit.Timer(case.stmt, globals=namespace, timer=time.perf_counter_ns)
        for name, namespace in case.namespaces.items()
    }
    number = {name: _calibrate(timer, target_ns) for name, timer in timers.items()}
    runs: dict[str, list[float]] = {name: [] for name in timers}
    names = list(timers)
    for repeat in range(repeats):
        # Interleaved, and in a different order each repeat, so neither
        # noise nor position in the round favours one contender.
        for name in _rotated(names, repeat):
            runs[name].append(timers[name].timeit(number[name]) / number[name])
    return Result(case.section, case.label, "ns", runs, number)


def _time_connect(rounds: int) -> list[Result]:
    receivers = _receivers(CONNECTIONS, "receiver")
    factories: dict[str, Callable[[], Any]] = {
        OURS: Signal,
        DJ_DEFAULT: DjangoSignal,
        BLINKER: blinker.Signal,
    }
    connect_runs: dict[str, list[float]] = {name: [] for name in factories}
    disconnect_runs: dict[str, list[float]] = {name: [] for name in factories}
    names = list(factories)
    for round_ in range(rounds):
        for name in _rotated(names, round_):
            signal = factories[name]()
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                for r in receivers:
                    signal.connect(r)
                connected = time.perf_counter_ns()
                left = len(signal.receivers)
                # In registration order: Django finds each one at the front
                # of its list, its best case.
                resumed = time.perf_counter_ns()
                for r in receivers:
                    signal.disconnect(r)
                end = time.perf_counter_ns()
            finally:
                gc.enable()
            if left != CONNECTIONS or len(signal.receivers):
                raise RuntimeError(
                    f"connect/disconnect: {name} kept {left} receivers "
                    f"then {len(signal.receivers)}"
                )
            connect_runs[name].append((connected - start) / 1e6)
            disconnect_runs[name].append((end - resumed) / 1e6)
    number = dict.fromkeys(factories, CONNECTIONS)
    return [
        Result(CONNECT_SECTION, "connect", "ms", connect_runs, number),
        Result(CONNECT_SECTION, "disconnect", "ms", disconnect_runs, number),
    ]


# Output -------------------------------------------------------------------


def _environment() -> dict[str, Any]:
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "django": django.get_version(),
        "blinker": version("blinker"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": environment.cpus_usable(),
        "cpu": environment.cpu_model(),
        "platform": platform.platform(),
        "commit": environment.commit(),
    }


def _format_time(value: float, unit: str) -> str:
    if unit == "ms" or value < 100:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _table(results: list[Result]) -> str:
    headers = [
        "benchmark",
        *CONTENDERS,
        *(f"{num}/{den}" for num, den in RATIOS),
        "spread",
    ]
    lines: list[list[str] | str] = []
    section = None
    for result in results:
        if result.section != section:
            section = result.section
            lines.append(section)
        cells = [f"  {result.label}"]
        for name in CONTENDERS:
            cells.append(
                _format_time(result.best(name), result.unit)
                if name in result.runs
                else "-"
            )
        for num, den in RATIOS:
            ratio = result.ratio(num, den)
            cells.append("-" if ratio is None else f"{ratio:.2f}x")
        cells.append(f"{result.spread():.0%}")
        lines.append(cells)
    rows = [line for line in lines if isinstance(line, list)]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def render(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        )
        return "  ".join([first, *rest])

    rule = "-" * len(render(headers))
    out = [render(headers), rule]
    for line in lines:
        out.append(line if isinstance(line, str) else render(line))
    out.append(rule)
    return "\n".join(out)


def _configure_django() -> None:
    # Django's Signal reads settings.DEBUG on connect(). DEBUG off, as in
    # production: Django then skips its receiver checks (ours always runs
    # them, so that cost stays in the numbers).
    if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
        settings.configure(DEBUG=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dispatch",
        description="Benchmark signals_app's dispatcher against Django's and "
        "blinker's, side by side.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer and shorter repeats, for a rough look (about 10 s)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also save the results as JSON to PATH"
    )
    args = parser.parse_args(argv)
    _configure_django()

    if args.quick:
        repeats, target_ns, connect_rounds = 3, 50_000_000, 1
    else:
        repeats, target_ns, connect_rounds = 5, 200_000_000, 3
    machine = _environment()
    method = {
        "statistic": "minimum over repeats",
        "repeats": repeats,
        "target_seconds_per_repeat": target_ns / 1e9,
        "connect_rounds": connect_rounds,
    }
    for key, value in machine.items():
        print(f"{key + ':':<13} {value}")
    print(
        f"{'method:':<13} minimum of {repeats} repeats of about "
        f"{target_ns / 1e9:g} s per contender (connect: {connect_rounds}), "
        "contenders interleaved, gc disabled while timing"
    )
    print()
    for name in CONTENDERS:
        print(f"  {name:<11} {LEGEND[name]}")
    print()
    sys.stdout.flush()

    started = time.perf_counter()
    results = [_time_case(case, repeats, target_ns) for case in _cases()]
    results.extend(_time_connect(connect_rounds))
    elapsed = time.perf_counter() - started

    print(_table(results))
    print(
        "Ratios over 1.00x: ours is that many times faster "
        "(ours/floor: our overhead over the bare loop). spread: the worst "
        "contender's median over its minimum, a gauge of noise."
    )
    print(f"Timed in {elapsed:.0f} s.")

    if args.json:
        payload = {
            "environment": machine,
            "method": method,
            "results": [
                {
                    "section": result.section,
                    "benchmark": result.label,
                    "unit": result.unit,
                    "contenders": {
                        name: {
                            "best": result.best(name),
                            "median": result.median(name),
                            "runs": result.runs[name],
                            "number": result.number[name],
                        }
                        for name in result.runs
                    },
                    "ratios": {
                        f"{num}/{den}": result.ratio(num, den) for num, den in RATIOS
                    },
                }
                for result in results
            ],
        }
        with open(args.json, "w") as out:
            json.dump(payload, out, indent=2)
            out.write("\n")
        print(f"Saved {args.json}")
    print(_verdict(results))
    return 0


# The rows issue 16 set its target on: send() at most half of Django's
# cached send.
VERDICT_ROWS = ("1 receiver", "10 receivers", "100 receivers")


def _verdict(results: list[Result]) -> str:
    """
    The last line: ``send: ours/dj_cached R at 1, R at 10, R at 100
    receivers``, each R our best time over Django's cached signal's.
    """
    by_label = {r.label: r for r in results if r.section == SEND_SECTION}
    parts = []
    for label in VERDICT_ROWS:
        ratio = by_label[label].ratio(OURS, DJ_CACHED)
        parts.append(f"{ratio:.2f} at {label.split()[0]}")
    return f"send: ours/dj_cached {', '.join(parts)} receivers"


if __name__ == "__main__":
    raise SystemExit(main())
