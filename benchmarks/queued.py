"""
Queued delivery under load: the outbox and two ``db_worker`` processes.

One receiver of ``post_save`` for ``Product``, connected with
``delivery="task"`` on django-tasks-db, so each save writes its task row in
its own transaction (the outbox) and two real ``manage.py db_worker``
processes (``--interval 0.05``) run them. The receiver appends the time it
ran to a journal; the driver notes the time each save committed. Measured,
on SQLite (files in WAL mode, as the end-to-end tests use them) and on
PostgreSQL when SIGNALS_APP_TEST_POSTGRES is set:

- what the queued receiver adds to ``save()`` (medians of batches, no worker
  running, autocommit: a transaction per save);
- latency from commit to receiver, median and 99th percentile, with saves
  paced at 50 a second, well under what the workers keep up with;
- the same on PostgreSQL with persistent connections (``CONN_MAX_AGE``):
  db_worker closes old connections around each task, so with Django's
  default of 0 every task opens a connection of its own;
- throughput: a burst of saves as fast as one process makes them, events
  per second from the first commit to the last delivery, and the latency
  then (which is mostly time spent waiting in the queue).

Each database runs in a process of its own (``--run``), with databases of
its own, created and dropped around it. Run from the repository root::

    python -m benchmarks.queued [--quick]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.apps import AppConfig

ROOT = Path(__file__).resolve().parents[1]
UID = "bench.product"


class BenchConfig(AppConfig):
    """Connects the benchmark's queued receiver, in the driver and in the workers."""

    name = "benchmarks"
    label = "queued_bench"

    def ready(self) -> None:
        _connect()


def _connect() -> None:
    from signals_app.signals import post_save

    post_save.connect(
        _product_saved, sender="shop.Product", dispatch_uid=UID, delivery="task"
    )


def _product_saved(instance: Any, **kwargs: Any) -> None:
    line = json.dumps({"name": instance.name, "at": time.time()})
    with open(Path(os.environ["SIGNALS_APP_SCENARIO"]) / "journal.jsonl", "a") as f:
        f.write(line + "\n")


def _delivered() -> dict[str, float]:
    path = Path(os.environ["SIGNALS_APP_SCENARIO"]) / "journal.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return {entry["name"]: entry["at"] for entry in map(json.loads, lines)}


def _wait_delivered(names: list[str], seconds: float = 300) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    while True:
        delivered = _delivered()
        if all(name in delivered for name in names):
            return delivered
        if time.monotonic() > deadline:
            missing = sum(name not in delivered for name in names)
            raise TimeoutError(f"{missing} of {len(names)} events never delivered")
        time.sleep(0.05)


def _save_cost(number: int, repeats: int) -> dict[str, float]:
    """Median µs per ``Product.save()``, the receiver connected and not."""
    from signals_app.signals import post_save
    from testproject.shop.models import Product

    def batch(tag: str) -> float:
        started = time.perf_counter()
        for n in range(number):
            Product.objects.create(name=f"{tag}-{n}", price=1)
        return (time.perf_counter() - started) / number * 1e6

    timings: dict[str, list[float]] = {"none": [], "task": []}
    for r in range(repeats):
        post_save.disconnect(sender="shop.Product", dispatch_uid=UID)
        timings["none"].append(batch(f"cost-none-{r}"))
        _connect()
        timings["task"].append(batch(f"cost-task-{r}"))
    return {mode: statistics.median(values) for mode, values in timings.items()}


def _latencies(committed: dict[str, float], delivered: dict[str, float]) -> list:
    return sorted((delivered[name] - at) * 1000 for name, at in committed.items())


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def _run(quick: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from testproject.shop.models import Product
    from tests.e2e.worker_scenario import Worker, scenario_databases

    paced, burst, cost_n = (100, 500, 100) if quick else (300, 2000, 300)
    result: dict[str, Any] = {}
    with scenario_databases():
        result["vendor"] = connection.vendor
        result["save_us"] = _save_cost(cost_n, 3 if quick else 5)
        DBTaskResult.objects.all().delete()
        workers = [Worker("a"), Worker("b")]
        try:
            warm = [f"warm-{n}" for n in range(20)]
            for name in warm:
                Product.objects.create(name=name, price=1)
            _wait_delivered(warm, 60)

            committed: dict[str, float] = {}
            for n in range(paced):
                Product.objects.create(name=f"paced-{n}", price=1)
                committed[f"paced-{n}"] = time.time()
                time.sleep(0.02)
            latencies = _latencies(committed, _wait_delivered(list(committed)))
            result["paced"] = {
                "events": paced,
                "median_ms": statistics.median(latencies),
                "p99_ms": _percentile(latencies, 0.99),
            }

            committed = {}
            for n in range(burst):
                Product.objects.create(name=f"burst-{n}", price=1)
                committed[f"burst-{n}"] = time.time()
            delivered = _wait_delivered(list(committed))
            latencies = _latencies(committed, delivered)
            first = min(committed.values())
            last = max(delivered[name] for name in committed)
            result["burst"] = {
                "events": burst,
                "saves_per_s": burst / (max(committed.values()) - first),
                "events_per_s": burst / (last - first),
                "median_ms": statistics.median(latencies),
                "p99_ms": _percentile(latencies, 0.99),
            }
        finally:
            for worker in workers:
                worker.stop()
        result["by_worker"] = {}
        for ids in DBTaskResult.objects.values_list("worker_ids", flat=True):
            for worker_id in ids:
                result["by_worker"][worker_id] = (
                    result["by_worker"].get(worker_id, 0) + 1
                )
        result["failed"] = DBTaskResult.objects.exclude(status="SUCCESSFUL").count()
    return result


def _measure(database: str, quick: bool) -> dict[str, Any]:
    env = {
        **os.environ,
        "SIGNALS_APP_BENCH_CONN_MAX_AGE": "600" if "persistent" in database else "",
        "DJANGO_SETTINGS_MODULE": "tests.e2e.settings_bench",
        "SIGNALS_APP_SCENARIO_ID": f"bench_{uuid.uuid4().hex[:8]}",
    }
    if database == "sqlite":
        env.pop("SIGNALS_APP_TEST_POSTGRES", None)
    with tempfile.TemporaryDirectory() as place:
        env["SIGNALS_APP_SCENARIO"] = place
        argv = [sys.executable, "-m", "benchmarks.queued", "--run"]
        done = subprocess.run(
            [*argv, *(["--quick"] if quick else [])],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(done.stdout + done.stderr)
        return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="fewer events")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        # As the module the app registry imports, not as __main__: the
        # receiver it connects must have the name the workers know it by.
        from benchmarks import queued

        print(json.dumps(queued._run(args.quick)))
        return 0

    databases = ["sqlite"]
    if os.environ.get("SIGNALS_APP_TEST_POSTGRES"):
        # db_worker closes old connections around each task: with Django's
        # default CONN_MAX_AGE of 0, each task opens a new one.
        databases += ["postgresql", "postgresql, persistent connections"]
    else:
        print("PostgreSQL skipped: SIGNALS_APP_TEST_POSTGRES is not set.")
    results = {db: _measure(db, args.quick) for db in databases}

    rows = [
        ("save(), no receiver (µs)", lambda r: f"{r['save_us']['none']:.0f}"),
        (
            "save(), + queued receiver (µs)",
            lambda r: f"+{r['save_us']['task'] - r['save_us']['none']:.0f}",
        ),
        ("paced 50/s: latency median (ms)", lambda r: f"{r['paced']['median_ms']:.0f}"),
        ("paced 50/s: latency p99 (ms)", lambda r: f"{r['paced']['p99_ms']:.0f}"),
        ("burst: saves/s (one process)", lambda r: f"{r['burst']['saves_per_s']:.0f}"),
        ("burst: events/s delivered", lambda r: f"{r['burst']['events_per_s']:.0f}"),
        ("burst: latency median (ms)", lambda r: f"{r['burst']['median_ms']:.0f}"),
        ("burst: latency p99 (ms)", lambda r: f"{r['burst']['p99_ms']:.0f}"),
        ("burst: events", lambda r: str(r["burst"]["events"])),
        ("tasks per worker (a/b)", lambda r: "/".join(map(str, _split(r)))),
    ]
    table = [
        ["two db_worker processes", *databases],
        *([label, *(cell(results[db]) for db in databases)] for label, cell in rows),
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for n, line in enumerate(table):
        cells = [line[0].ljust(widths[0])]
        cells += [
            text.rjust(width) for text, width in zip(line[1:], widths[1:], strict=True)
        ]
        print("| " + " | ".join(cells) + " |")
        if n == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    failed = sum(r["failed"] for r in results.values())
    print(
        "Summary: "
        + "; ".join(
            f"{db} {r['burst']['events_per_s']:.0f} events/s, commit to receiver "
            f"{r['paced']['median_ms']:.0f} ms median / {r['paced']['p99_ms']:.0f} ms "
            f"p99, +{r['save_us']['task'] - r['save_us']['none']:.0f} µs per save"
            for db, r in results.items()
        )
        + f"; {failed} task(s) not successful."
    )
    return 0


def _split(result: dict[str, Any]) -> list[int]:
    return [result["by_worker"].get(worker, 0) for worker in ("a", "b")]


if __name__ == "__main__":
    raise SystemExit(main())
