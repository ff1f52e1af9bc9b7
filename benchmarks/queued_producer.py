"""
The producer side of queued delivery, in one process: a ``save()`` with a
``delivery="task"`` receiver connected against the same save followed by a
hand-written enqueue of a plain task carrying the pk (the floor), in the
same transaction (inside it on django-tasks-db, on commit on a broker).

The same receiver, task, settings and measure as ``benchmarks/queued.py``'s
producer (``queued.producer_cost()``: the saving process's CPU time, batches
alternating, ours minus the floor per round; queries and bytes sent per
save), without starting workers, so a look at the producer alone takes
about a minute. ``--profile`` writes a cProfile of ``--number`` saves of
ours instead and prints its top functions. ``--instructions`` counts, under
callgrind, the instructions of ``--number`` saves of each in the saving
process, the database server and broker not counted: the client's part,
which the machine's load does not move (the hash seed fixed, address
randomization off; instrumentation switched on around the saves alone with
``callgrind_control``); ``--keep DIR`` keeps its dumps there, one per
setup and side (``db-pg-ours.callgrind``), for ``callgrind_annotate``.
Run from the repository root::

    python -m benchmarks.queued_producer [--only db-pg] [--number 1000]
        [--rounds 7] [--profile DIR | --instructions [--keep DIR]]

Prints, last: ``producer: db-sqlite +N us (LOW to HIGH), ...``: per setup,
the median over the rounds of ours minus the floor, CPU µs per save, and
the lowest and highest round.
"""

import argparse
import cProfile
import gc
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.queued import producer_cost, saver, sent_cell

ROOT = Path(__file__).resolve().parents[1]

# name: (SIGNALS_APP_BENCH_BACKEND, whether it needs PostgreSQL)
SETUPS = {
    "db-sqlite": ("db", False),
    "db-pg": ("db", True),
    "rq": ("rq", True),
    "celery": ("celery", True),
}


def _run(number: int, rounds: int, profile: str | None, count: bool) -> dict[str, Any]:
    import django

    django.setup()
    from tests.e2e.worker_scenario import scenario_databases

    with scenario_databases():
        if count:
            _count(number)
            return {}
        if not profile:
            return producer_cost(number, rounds)
        # Untimed first: connecting to the database and the broker is no
        # save's cost.
        save = saver("ours")
        for n in range(20):
            save(f"warm-{n}")
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(number):
            save(f"profiled-{n}")
        profiler.disable()
        profiler.dump_stats(profile)
    return {}


def _count(number: int) -> None:
    # Under callgrind, started with instrumentation off: on for the saves
    # of each alone, then dumped under its name.
    def callgrind(*options: str) -> None:
        subprocess.run(["callgrind_control", *options, str(os.getpid())], check=True)

    for how in ("ours", "floor"):
        save = saver(how)
        for n in range(20):
            save(f"warm-{how}-{n}")
    for how in ("ours", "floor"):
        save = saver(how)
        for n in range(5):
            save(f"again-{how}-{n}")
        # Each side starts with the collector's generations empty: a full
        # collection falls on whichever side crosses its threshold, and
        # costs more than the difference being counted.
        gc.collect()
        callgrind("--instr=on")
        for n in range(number):
            save(f"counted-{how}-{n}")
        callgrind("--instr=off")
        callgrind(f"--dump={how}")


def _counted(place: str, number: int, name: str, keep: str | None) -> dict[str, float]:
    """
    Instructions per save of each, from the dumps ``_count()`` made; with
    ``keep``, each dump is copied there under the setup's and side's name.
    """
    counted = {}
    for dump in Path(place).glob("callgrind.out.*"):
        text = dump.read_text(errors="replace")
        how = text.split("desc: Trigger: dump ", 1)[1].split()[0]
        total = int(text.split("\ntotals: ", 1)[1].split()[0])
        counted[how] = total / number
        if keep:
            shutil.copyfile(dump, Path(keep) / f"{name}-{how}.callgrind")
    return counted


def _measure(name: str, args: argparse.Namespace) -> dict[str, Any] | None:
    backend, postgres = SETUPS[name]
    if postgres and not os.environ.get("SIGNALS_APP_TEST_POSTGRES"):
        print(f"{name} skipped: SIGNALS_APP_TEST_POSTGRES is not set")
        return None
    if backend != "db" and not os.environ.get("SIGNALS_APP_TEST_REDIS"):
        print(f"{name} skipped: SIGNALS_APP_TEST_REDIS is not set")
        return None
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.e2e.settings_bench",
        "SIGNALS_APP_BENCH_BACKEND": backend,
        "SIGNALS_APP_SCENARIO_ID": f"bench_{uuid.uuid4().hex[:8]}",
    }
    if not postgres:
        env.pop("SIGNALS_APP_TEST_POSTGRES", None)
    argv = [sys.executable, "-m", "benchmarks.queued_producer", "--run"]
    argv += ["--number", str(args.number), "--rounds", str(args.rounds)]
    out = None
    if args.profile:
        out = str(Path(args.profile).resolve() / f"producer-{name}.prof")
        argv += ["--profile", out]
    with tempfile.TemporaryDirectory() as place:
        env["SIGNALS_APP_SCENARIO"] = place
        if args.instructions:
            env["PYTHONHASHSEED"] = "0"
            valgrind = ["setarch", "-R", "valgrind", "--tool=callgrind"]
            valgrind += [
                "--instr-atstart=no",
                f"--callgrind-out-file={place}/callgrind.out",
            ]
            argv = [*valgrind, *argv, "--instructions"]
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            print(f"{name} failed:\n{done.stderr[-3000:]}")
            return None
        if args.instructions:
            counted = _counted(place, args.number, name, args.keep)
            print(f"{name}: {json.dumps(counted)}", flush=True)
            return counted
    if out:
        print(f"--- {name}: {args.number} saves of ours, by cumulative time")
        pstats.Stats(out).sort_stats("cumulative").print_stats(40)
        return None
    result = json.loads(done.stdout)
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--number", type=int, default=200, help="saves per batch")
    parser.add_argument("--rounds", type=int, default=7, help="batches of each")
    parser.add_argument("--only", help="only the setups whose name starts so")
    parser.add_argument("--profile", help="write a cProfile of ours here instead")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (callgrind)"
    )
    parser.add_argument("--keep", help="with --instructions, keep the dumps here")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        measured = _run(args.number, args.rounds, args.profile, args.instructions)
        print(json.dumps(measured))
        return 0
    results = {}
    for name in SETUPS:
        if args.only and not name.startswith(args.only):
            continue
        if result := _measure(name, args):
            results[name] = result
    if args.profile:
        return 0
    if args.instructions:
        extra = ", ".join(
            f"{name} {r['ours'] - r['floor']:+,.0f} ({r['ours']:,.0f} / "
            f"{r['floor']:,.0f})"
            for name, r in results.items()
        )
        print(f"instructions per save, ours over the floor: {extra}")
        return 0
    for name, r in results.items():
        print(
            f"{name}: CPU µs per save ours {r['ours']:.0f}, floor {r['floor']:.0f}; "
            f"queries, SQL bytes, task bytes ours / floor: {sent_cell(r['sent'])}"
        )
    extra = ", ".join(
        f"{name} {r['extra']:+.0f} us ({r['extra_range'][0]:+.0f} to "
        f"{r['extra_range'][1]:+.0f})"
        for name, r in results.items()
    )
    print(f"producer: {extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
