"""
What tracing costs ``send()``: off (the default), installed with no trace
open, and recording into an open trace. Side by side in one run::

    python -m benchmarks.tracing [--quick]

Off, ``Signal.send`` is the very function it is without signals_app.tracing
imported, which the run checks before timing.
"""

import argparse
import statistics
import timeit
from collections.abc import Sequence

from django.conf import settings

RECEIVERS = 10


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tracing")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats, number = (3, 5_000) if args.quick else (7, 20_000)
    if not settings.configured:
        settings.configure(SIGNALS_APP_SLOW_RECEIVER_MS=1e9)

    from signals_app import tracing
    from signals_app.dispatch import Signal

    untraced_send = Signal.send
    signal = Signal()
    receivers = [lambda sender, **kwargs: None for _ in range(RECEIVERS)]
    for receiver in receivers:
        signal.connect(receiver)

    def send() -> None:
        signal.send(None, instance=None, created=False)

    def open_trace() -> None:
        with tracing.trace():
            for _ in range(number):
                send()

    runs: dict[str, list[float]] = {"off": [], "installed": [], "tracing": []}
    for _ in range(repeats):
        assert Signal.send is untraced_send
        runs["off"].append(timeit.timeit(send, number=number))
        tracing.install()
        try:
            runs["installed"].append(timeit.timeit(send, number=number))
            runs["tracing"].append(timeit.timeit(open_trace, number=1))
        finally:
            tracing.uninstall()

    off = statistics.median(runs["off"])
    print(f"send() with {RECEIVERS} receivers, median of {repeats} x {number}:")
    for mode, values in runs.items():
        ns = statistics.median(values) / number * 1e9
        print(f"  {mode:<10} {ns:8.0f} ns   x{statistics.median(values) / off:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
