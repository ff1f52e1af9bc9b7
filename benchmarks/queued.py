"""
Queued delivery against the floor, on four task backends, two workers each.

Ours is a ``post_save`` receiver of ``Product`` connected with
``delivery="task"``; the floor is what a project without signals_app writes:
a plain task of the Tasks API carrying the pk, enqueued by hand in the
saving transaction (inside it on django-tasks-db, whose task row is part of
the transaction; on commit on a broker). Both do the same work
(``benchmarks/queued_work.py``: read the row, append a journal line), run by
the same two worker processes of each backend:

- ``db-sqlite``, ``db-pg``: django-tasks-db's ``db_worker`` (``--interval
  0.05``) on SQLite files in WAL mode, and on PostgreSQL;
- ``rq``: django-rq's ``rqworker`` (a forked child per job), Redis as broker,
  data in PostgreSQL (SQLite without it);
- ``celery``: ``celery worker --pool solo`` through django-tasks-fennel,
  Redis as broker and result store, data as for ``rq``.

For each, measured: the producer (µs per save in a transaction, with our
receiver connected and with the hand enqueue instead, batches alternating,
no worker running, median of rounds); then, with the workers running, in
rounds, the workers' pace through one burst holding both (``--burst`` saves
of each, two of ours and two of the floor's in turn, committed in one
transaction, so that the same workers take both during the same seconds),
each kind's pace the workers' count over its mean cost per job (from the
start of the worker's previous job to its own), the ratio taken per round
and then its median, printed with its spread; and, after the bursts, saves
paced at half the slower pace (at most 50 a second) in a shuffled order at
random gaps, the p50 of each kind over all its paced jobs from commit to
the job's start.
``--worker-settings`` adds the settings that change a worker's cost per
task: ``CONN_MAX_AGE=600`` on db-pg, RQ's ``SimpleWorker`` (no fork),
``CELERY_DB_REUSE_MAX`` and ``CONN_MAX_AGE=600`` on Celery. A backend
whose server (``SIGNALS_APP_TEST_POSTGRES``, ``SIGNALS_APP_TEST_REDIS``) or
package is missing is skipped with a notice. Each backend runs in a process
of its own (``--run``), with databases of its own, created and dropped
around it. Run from the repository root::

    python -m benchmarks.queued [--burst 200] [--quick] [--worker-settings]
"""

import argparse
import importlib.util
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from django.apps import AppConfig

ROOT = Path(__file__).resolve().parents[1]


class BenchConfig(AppConfig):
    """Connects the benchmark's queued receiver, in the driver and in the workers."""

    name = "benchmarks"
    label = "queued_bench"

    def ready(self) -> None:
        from benchmarks import queued_work

        queued_work.connect()


@dataclass(frozen=True)
class Setup:
    """One backend under one set of worker settings."""

    name: str
    backend: str
    postgres: bool
    env: dict[str, str] = field(default_factory=dict)
    worker_options: tuple[str, ...] = ()


SETUPS = [
    Setup("db-sqlite", "db", postgres=False),
    Setup("db-pg", "db", postgres=True),
    Setup("rq", "rq", postgres=True),
    Setup("celery", "celery", postgres=True),
]
WORKER_SETTINGS = [
    Setup("db-pg CONN_MAX_AGE=600", "db", True, {"CONN_MAX_AGE": "600"}),
    Setup(
        "rq SimpleWorker",
        "rq",
        True,
        worker_options=("--worker-class", "rq.worker.SimpleWorker"),
    ),
    Setup("celery DB_REUSE_MAX=1000", "celery", True, {"CELERY_DB_REUSE_MAX": "1000"}),
    Setup("celery CONN_MAX_AGE=600", "celery", True, {"CONN_MAX_AGE": "600"}),
]
PACKAGES = {"db": "django_tasks_db", "rq": "django_tasks_rq", "celery": "celery"}


def _missing(setup: Setup) -> str | None:
    if setup.backend != "db" and not os.environ.get("SIGNALS_APP_TEST_REDIS"):
        return "SIGNALS_APP_TEST_REDIS is not set"
    # RQ and Celery fall back to SQLite; db-pg is nothing without it.
    postgres = os.environ.get("SIGNALS_APP_TEST_POSTGRES")
    if setup.postgres and setup.backend == "db" and not postgres:
        return "SIGNALS_APP_TEST_POSTGRES is not set"
    package = PACKAGES[setup.backend]
    if importlib.util.find_spec(package) is None:
        return f"{package} is not installed"
    return None


# --- in the process of one backend (--run) ---------------------------------


def _journal() -> dict[str, tuple[float, str]]:
    """Each job's name: when it started its work, and which worker ran it."""
    path = Path(os.environ["SIGNALS_APP_SCENARIO"]) / "journal.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return {e["name"]: (e["at"], e["worker"]) for e in map(json.loads, lines)}


def _delivered() -> dict[str, float]:
    return {name: at for name, (at, _) in _journal().items()}


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


def saver(how: str) -> Any:
    """A function saving one product by name, ``how`` (ours or floor), committed."""
    from django.conf import settings
    from django.db import transaction

    from benchmarks import queued_work
    from testproject.shop.models import Product

    if how == "ours":
        queued_work.connect()

        def save(name: str) -> None:
            with transaction.atomic():
                Product.objects.create(name=name, price=1)

        return save

    queued_work.disconnect()
    outbox = settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db.")

    def save_and_enqueue(name: str) -> None:
        with transaction.atomic():
            pk = Product.objects.create(name=name, price=1).pk
            if outbox:
                queued_work.enqueue_floor(pk)
            else:
                transaction.on_commit(lambda: queued_work.enqueue_floor(pk))

    return save_and_enqueue


def producer_cost(number: int, rounds: int) -> dict[str, Any]:
    """
    What a save costs the saving process, ours and the floor's: CPU µs per
    save, batches of ``number`` alternating for ``rounds`` rounds; ours
    minus the floor per round, its median and its range; and what each
    sends per save, to the database and to the backend (``_sent()``).

    CPU time, not the wall clock: on a shared machine the wall time of a
    save is mostly waiting (for a CPU, the disk, the server), and what the
    server does for a save shows in the queries and bytes instead.
    """
    timings: dict[str, list[float]] = {"ours": [], "floor": []}
    # Untimed first: connecting to the database and the broker is no
    # save's cost.
    for how in ("ours", "floor"):
        for n in range(10):
            saver(how)(f"cost-{how}-warm-{n}")
    for r in range(rounds):
        order = ("ours", "floor") if r % 2 == 0 else ("floor", "ours")
        for how in order:
            save = saver(how)
            started = time.process_time()
            for n in range(number):
                save(f"cost-{how}-{r}-{n}")
            timings[how].append((time.process_time() - started) / number * 1e6)
    extra = sorted(
        o - f for o, f in zip(timings["ours"], timings["floor"], strict=True)
    )
    result: dict[str, Any] = {
        how: statistics.median(values) for how, values in timings.items()
    }
    result["extra"] = statistics.median(extra)
    result["extra_range"] = (extra[0], extra[-1])
    result["sent"] = {how: _sent(how, 20) for how in ("ours", "floor")}
    return result


def _sent(how: str, number: int) -> dict[str, float]:
    """
    Per save of ``how``: the queries every database got and their bytes,
    parameters bound, as the backend reports the last query it ran; and
    the bytes of the task's arguments as JSON (what the backend stores, in
    a table row or a broker message).
    """
    from django.db import connections

    sent = {"queries": 0, "sql_bytes": 0, "task_bytes": 0}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        done = execute(sql, params, many, context)
        # The statement as the driver sent it, parameters bound (psycopg
        # binds them in the client), or as the backend writes it out.
        connection = context["connection"]
        query = connection.ops.last_executed_query(context["cursor"], sql, params)
        sent["queries"] += 1
        sent["sql_bytes"] += len(str(query).encode())
        return done

    def enqueued(task_result: Any, **kwargs: Any) -> None:
        arguments = [task_result.args, task_result.kwargs]
        sent["task_bytes"] += len(json.dumps(arguments, separators=(",", ":")))

    save = saver(how)
    enqueued_signals = _task_enqueued()
    for each in enqueued_signals:
        each.connect(enqueued, weak=False)
    try:
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(count))
            for n in range(number):
                save(f"sent-{how}-{n}")
    finally:
        for each in enqueued_signals:
            each.disconnect(enqueued)
    return {key: value / number for key, value in sent.items()}


def _task_enqueued() -> list[Any]:
    """The ``task_enqueued`` signal of each Tasks API installed."""
    signals = []
    for api in ("django.tasks", "django_tasks"):
        with suppress(ImportError):
            signals.append(import_module(f"{api}.signals").task_enqueued)
    return signals


def _alternating(first: str, number: int) -> list[str]:
    """
    ``number`` kinds of save, two of ours and two of the floor's in turn,
    ``first`` first: two workers taking jobs in turn each meet both kinds
    (one at a time, each worker would meet one kind only).
    """
    second = "floor" if first == "ours" else "ours"
    return [(first, second)[n // 2 % 2] for n in range(number)]


def _paced(prefix: str, first: str, number: int, per_second: float) -> dict:
    """
    The ms from commit to each job's start, for each kind: ``number`` saves
    of each, ``per_second`` saves a second on average, so that both meet the
    machine as it is during the same seconds.

    The kinds come in a shuffled order and the gaps between saves are drawn
    at random (a Poisson stream), both seeded by the round: with a fixed
    order and a fixed gap, the saves of one kind would meet a polling
    worker (django-tasks-db's, every 50 ms) at the same few points of its
    cycle, and the median of each kind would depend on where those fell.
    """
    draw = random.Random(f"{prefix}-{first}")
    kinds = _alternating(first, 2 * number)
    draw.shuffle(kinds)
    committed = {}
    for n, how in enumerate(kinds):
        save = saver(how)
        save(name := f"paced-{prefix}-{n}")
        committed[name] = (how, time.time())
        time.sleep(draw.expovariate(per_second))
    delivered = _wait_delivered(list(committed))
    return {
        how: [
            (delivered[name] - at) * 1000
            for name, (kind, at) in committed.items()
            if kind == how
        ]
        for how in ("ours", "floor")
    }


def _burst(prefix: str, first: str, number: int) -> dict[str, float]:
    """
    The workers' pace for each, in events per second: ``number`` saves of
    each, in turn, committed in one transaction.

    Committed at once, the tasks are all there for the workers together (on
    a broker, enqueued on that commit, faster than workers take them), so
    what is timed is the workers' own pace, neither the producer's nor the
    workers' start; the producer is measured apart. Ours and the floor's
    jobs take turns in the queue, two of each, so the same workers take
    both during the same seconds, and a change of the machine's load moves
    both alike. A
    job's cost is the time from the start of the worker's previous job to
    its own: the previous job's end, taking this one, and this one's work
    up to the row read (where each kind's own work is); a worker's first job
    of the burst has none. The pace of a kind is the workers' count over its
    mean cost.
    """
    from django.db import transaction

    kinds = _alternating(first, 2 * number)
    names = [f"burst-{prefix}-{n}" for n in range(len(kinds))]
    with transaction.atomic():
        for name, how in zip(names, kinds, strict=True):
            saver(how)(name)
    _wait_delivered(names)
    journal = _journal()
    by_worker: dict[str, list[tuple[float, str]]] = {}
    for name, how in zip(names, kinds, strict=True):
        at, worker = journal[name]
        by_worker.setdefault(worker, []).append((at, how))
    costs: dict[str, list[float]] = {"ours": [], "floor": []}
    for jobs in by_worker.values():
        jobs.sort()
        for (before, _), (at, how) in itertools.pairwise(jobs):
            costs[how].append(at - before)
    return {how: len(by_worker) / statistics.fmean(costs[how]) for how in costs}


class _Queue:
    """The backend's queue: emptied of what the producer left, and cleaned up."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        # Celery's results are keyed by task id alone: only ours may go.
        self.task_ids: list[str] = []
        for each in _task_enqueued():
            each.connect(self._enqueued, weak=False)

    def _enqueued(self, task_result: Any, **kwargs: Any) -> None:
        self.task_ids.append(task_result.id)

    def empty(self) -> None:
        from django.conf import settings

        if self.backend == "db":
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.all().delete()
        elif self.backend == "rq":
            import django_rq

            django_rq.get_queue(settings.RQ_QUEUE).delete(delete_jobs=True)
        else:
            self._delete([*self._redis().scan_iter(f"{settings.CELERY_QUEUE}*")])

    def forget(self) -> None:
        """Leave nothing of the run on the shared Redis server."""
        self.empty()
        if self.backend == "celery":
            from django.conf import settings

            stale = [f"celery-task-meta-{task_id}" for task_id in self.task_ids]
            stale.append(f"_kombu.binding.{settings.CELERY_QUEUE}")
            self._delete(stale)

    def _delete(self, keys: list[Any]) -> None:
        if keys:
            self._redis().delete(*keys)

    def _redis(self) -> Any:
        import redis

        return redis.Redis.from_url(os.environ["SIGNALS_APP_TEST_REDIS"])


def _workers(backend: str, options: list[str], profile: str | None) -> list[Any]:
    from tests.e2e.celery_scenario import CeleryWorker
    from tests.e2e.rq_scenario import RQWorker
    from tests.e2e.worker_scenario import Worker

    base = {"db": Worker, "rq": RQWorker, "celery": CeleryWorker}[backend]
    wall = os.environ.get("SIGNALS_APP_BENCH_WALL") == "1"

    class Profiled(base):  # type: ignore[valid-type,misc]
        # Under cProfile, which writes its file as the worker exits; or
        # under py-spy, sampling wall-clock time (waits included) of the
        # worker and of the children it forks, which writes its file when
        # interrupted (SIGTERM ends it without).
        stop_signal = signal.SIGINT if wall else signal.SIGTERM

        def program(self) -> list[str]:
            python, *rest = super().program()
            out = f"{profile}/{backend}-{self.worker_id}"
            if wall:
                spy = [str(Path(python).with_name("py-spy")), "record", "--idle"]
                spy += ["--subprocesses", "--format", "raw", "-o", f"{out}.txt"]
                return [*spy, "--", python, *rest]
            return [python, "-m", "cProfile", "-o", f"{out}.prof", *rest]

    return [(Profiled if profile else base)(wid, *options) for wid in ("a", "b")]


def _stop(workers: list[Any]) -> None:
    # Everything was delivered, so nothing is lost by killing a worker that
    # takes long to stop (rqworker's warm shutdown waits out its blocking
    # read of the queue, minutes by default).
    for worker in workers:
        worker.process.send_signal(getattr(worker, "stop_signal", signal.SIGTERM))
    for worker in workers:
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        worker.log.close()


def _rounds(burst: int, quick: bool) -> dict[str, Any]:
    """
    Ours and the floor through the running workers, in rounds.

    Each round makes one burst of both, their jobs in turn (ours first in
    even rounds); then saves paced well under what both keep up with, also
    in turn: the latency of the path, not of time in a queue.
    """
    rounds = 3 if quick else 5
    result: dict[str, Any] = {"rounds": []}
    for r in range(rounds):
        result["rounds"].append(_burst(str(r), _first(r), burst))
    speeds = {
        how: statistics.median(each[how] for each in result["rounds"])
        for how in ("ours", "floor")
    }
    # At most 50 a second, half the slower one's pace, about 6 s a round.
    rate = result["paced_per_s"] = min(50.0, min(speeds.values()) / 2)
    number = max(15, int(rate * 3))
    result["latency_rounds"] = [
        _paced(str(r), _first(r), number, rate) for r in range(rounds)
    ]
    return result


def _first(round_number: int) -> str:
    return "ours" if round_number % 2 == 0 else "floor"


def _run(burst: int, quick: bool, options: list[str], profile: str | None) -> dict:
    import django

    django.setup()
    from django.conf import settings

    from tests.e2e.worker_scenario import scenario_databases

    backend = os.environ["SIGNALS_APP_BENCH_BACKEND"]
    queue = _Queue(backend)
    result: dict[str, Any] = {}
    with scenario_databases():
        try:
            cost = producer_cost(50 if quick else 200, 3 if quick else 5)
            result["producer_us"] = cost
            queue.empty()
            workers = _workers(backend, options, profile)
            try:
                # Both kinds of task once through each worker before timing:
                # importing and connecting are no task's cost.
                for how in ("ours", "floor"):
                    warm = [f"warm-{how}-{n}" for n in range(10)]
                    save = saver(how)
                    for name in warm:
                        save(name)
                    _wait_delivered(warm, 60)
                result.update(_rounds(burst, quick))
            finally:
                _stop(workers)
        finally:
            queue.forget()
    result["database"] = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1]
    return result


# --- the driver --------------------------------------------------------------


def _measure(setup: Setup, args: argparse.Namespace) -> dict[str, Any] | None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.e2e.settings_bench",
        "SIGNALS_APP_BENCH_BACKEND": setup.backend,
        "SIGNALS_APP_SCENARIO_ID": f"bench_{uuid.uuid4().hex[:8]}",
        **{f"SIGNALS_APP_BENCH_{key}": value for key, value in setup.env.items()},
    }
    if not setup.postgres:
        env.pop("SIGNALS_APP_TEST_POSTGRES", None)
    with tempfile.TemporaryDirectory() as place:
        env["SIGNALS_APP_SCENARIO"] = place
        argv = [sys.executable, "-m", "benchmarks.queued", "--run", "--burst"]
        argv += [str(args.burst), *(["--quick"] if args.quick else [])]
        if args.profile:
            argv += ["--profile", str(Path(args.profile).resolve())]
            env["SIGNALS_APP_BENCH_WALL"] = "1" if args.wall else ""
        argv += [f"--worker-option={option}" for option in setup.worker_options]
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            logs = "".join(
                f"\n--- {log.name}\n{log.read_text()[-2000:]}"
                for log in Path(place).glob("worker-*.log")
            )
            print(f"{setup.name} failed:\n{done.stderr[-3000:]}{logs}")
            return None
        result = json.loads(done.stdout)
        # As it comes: a run of every setup takes minutes. The summary, not
        # the result itself: that holds every paced job's latency.
        s = _summary(result)
        print(
            f"{setup.name}: pace ours/floor {s['ratio']:.2f}, p50 "
            f"{s['latency_gap_ms']:+.1f} ms, producer "
            f"{result['producer_us']['extra']:+.0f} us",
            flush=True,
        )
        return result


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """
    The pace: per round, then the median of the ratios, and their spread.
    The latency: the median of every paced job of each kind, all rounds
    together (both kinds' jobs took turns through the same seconds), and
    the gap between the two.
    """
    bursts = result["rounds"]
    ratios = sorted(each["ours"] / each["floor"] for each in bursts)
    latency = {
        how: statistics.median(
            value for each in result["latency_rounds"] for value in each[how]
        )
        for how in ("ours", "floor")
    }
    return {
        "events_per_s": {
            how: statistics.median(each[how] for each in bursts)
            for how in ("ours", "floor")
        },
        "ratio": statistics.median(ratios),
        "ratio_range": (ratios[0], ratios[-1]),
        "latency_ms": latency,
        "latency_gap_ms": latency["ours"] - latency["floor"],
    }


def _table(results: dict[str, dict[str, Any]]) -> None:
    head = ["backend (two workers)", "events/s ours / floor", "ratio (rounds)"]
    head += ["p50 ms ours / floor (+)"]
    head += ["producer CPU µs ours / floor (+, rounds)"]
    head += ["per save: queries, SQL B, task B ours / floor"]
    rows = [head]
    for name, r in results.items():
        s, cost = _summary(r), r["producer_us"]
        speed, latency = s["events_per_s"], s["latency_ms"]
        low, high = s["ratio_range"]
        rows.append(
            [
                f"{name} ({r['database']})",
                f"{speed['ours']:.0f} / {speed['floor']:.0f}",
                f"{s['ratio']:.2f} ({low:.2f}-{high:.2f})",
                f"{latency['ours']:.1f} / {latency['floor']:.1f} "
                f"({s['latency_gap_ms']:+.1f})",
                f"{cost['ours']:.0f} / {cost['floor']:.0f} ({cost['extra']:+.0f}, "
                f"{cost['extra_range'][0]:+.0f} to {cost['extra_range'][1]:+.0f})",
                sent_cell(cost["sent"]),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        print("| " + " | ".join(cells) + " |")
        if n == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")


def sent_cell(sent: dict[str, dict[str, float]]) -> str:
    """``producer_cost()``'s queries, SQL bytes and task bytes, ours / floor."""
    ours, floor = sent["ours"], sent["floor"]
    return ", ".join(
        f"{ours[key]:.0f} / {floor[key]:.0f}"
        for key in ("queries", "sql_bytes", "task_bytes")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--burst", type=int, help="saves of each kind per burst (200; 50 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument(
        "--worker-settings", action="store_true", help="also the worker settings"
    )
    parser.add_argument("--profile", help="write each worker's cProfile here")
    parser.add_argument(
        "--wall", action="store_true", help="with --profile: py-spy, wall-clock"
    )
    parser.add_argument("--only", help="only the setups whose name starts so")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-option", action="append", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.burst = args.burst or (50 if args.quick else 200)
    if args.run:
        # As the module the app registry imports, not as __main__.
        from benchmarks import queued

        options = args.worker_option or []
        print(json.dumps(queued._run(args.burst, args.quick, options, args.profile)))
        return 0

    from benchmarks import environment

    print(f"commit {environment.commit()}, {environment.cpu_model()}, ", end="")
    print(
        f"{environment.cpus_usable()} CPUs usable; bursts of {args.burst} saves of each"
    )
    setups = SETUPS + (WORKER_SETTINGS if args.worker_settings else [])
    results: dict[str, dict[str, Any]] = {}
    for setup in setups:
        if args.only and not setup.name.startswith(args.only):
            continue
        if reason := _missing(setup):
            print(f"{setup.name} skipped: {reason}.")
            continue
        if result := _measure(setup, args):
            results[setup.name] = result
    _table(results)

    ratios = ", ".join(
        f"{name} ours/floor "
        + (f"{_summary(results[name])['ratio']:.2f}" if name in results else "skipped")
        for name in ("db-sqlite", "db-pg", "rq", "celery")
    )
    # The worst backend's: the target holds on each. Each is the median
    # over the rounds of ours minus the floor, in CPU time per save.
    extra = [r["producer_us"]["extra"] for r in results.values()]
    print(f"queued: {ratios}; producer {max(extra, default=0):+.0f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
