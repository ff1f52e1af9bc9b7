"""
What knowing what changed costs: ours against django-lifecycle, FieldTracker
(django-model-utils) and django-dirtyfields, and native Django, in one run.

Each contender is its own copy of the same nine-field model (one field a
JSONField) in an in-memory SQLite database:

``native``        a plain model; a plain ``post_save`` receiver for saves
``ours``          ``post_save`` receiver ``when=Changed("status")``: only
                  ``status`` is watched
``ours (all)``    ``when=WithChanges()``: every field watched
``lifecycle``     ``LifecycleModelMixin`` with an ``AFTER_UPDATE`` hook on
                  ``status`` (it snapshots every field of every instance)
``fieldtracker``  ``FieldTracker(fields=["status"])``; ``(all)``: every field
``dirtyfields``   ``DirtyFieldsMixin`` with ``FIELDS_TO_CHECK = ["status"]``;
                  ``(all)``: every field

*load*: ``list()`` of 10,000 rows. *save*: 1,000 loaded rows, ``status``
assigned, ``save()``, the contender's receiver or hook called. *loop*: one
row saved 1,000 times inside one ``atomic()`` (a data migration's loop),
``status`` changed each time, ``ours`` against ``native`` (unwatched). Every
contender is timed once per round, in turn (every other round in reverse),
in CPU time of the process, the garbage collector off while timed. The table
gives the best and the median round, and the ratio to native: the median
over the rounds of each round's ratio, which holds up better than the best
times on a busy machine. Run from the
repository root, with the ``bench`` extra installed::

    python -m benchmarks.changes [--rounds N]
    python -m benchmarks.changes --instructions [SAVES]   # needs valgrind

``--instructions`` counts instead of timing: it runs the saves of ``native``
and ``ours`` in one process under ``valgrind --tool=callgrind``, with
counting switched on (``callgrind_control``) around each contender's saves
alone, twice in alternating order, and prints the instructions a save of
each and their ratio. Counted in one process, the two share everything
else (imports, caches, the allocator's state), which two processes, one
per contender, do not: their difference moved by 20,000 instructions a
save between runs of the same code.

The last line compares ours with native Django and the peers scoped to the
one field (``status``), our change-aware receiver's saves with those of
a receiver that asks for nothing, and the loop with the same loop unwatched.
"""

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings

ROWS = 10_000
SAVES = 1_000


def _configure() -> None:
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["django.contrib.contenttypes", "signals_app", "benchmarks"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()


def _models() -> dict[str, Any]:
    from dirtyfields import DirtyFieldsMixin
    from django.db import models
    from django_lifecycle import AFTER_UPDATE, LifecycleModelMixin, hook
    from model_utils import FieldTracker

    def fields() -> dict[str, Any]:
        return {
            "title": models.CharField(max_length=200),
            "status": models.CharField(max_length=10, default="draft"),
            "body": models.TextField(blank=True),
            "price": models.DecimalField(max_digits=8, decimal_places=2, default=0),
            "published_on": models.DateField(null=True),
            "views": models.IntegerField(default=0),
            "author_id": models.IntegerField(null=True),
            "data": models.JSONField(default=dict),
            "__module__": __name__,
            "Meta": type("Meta", (), {"app_label": "benchmarks"}),
        }

    def model(name: str, bases: tuple[type, ...] = (), **extra: Any) -> type:
        return type(name, (*bases, models.Model), {**fields(), **extra})

    @hook(AFTER_UPDATE, when="status", has_changed=True)
    def on_status(self: Any) -> None:
        return None

    return {
        "native": model("Native"),
        "ours": model("Ours"),
        "ours (all)": model("OursAll"),
        "lifecycle": model("Lifecycle", (LifecycleModelMixin,), on_status=on_status),
        "fieldtracker": model("Tracker", tracker=FieldTracker(fields=["status"])),
        "fieldtracker (all)": model("TrackerAll", tracker=FieldTracker()),
        "dirtyfields": model("Dirty", (DirtyFieldsMixin,), FIELDS_TO_CHECK=["status"]),
        "dirtyfields (all)": model("DirtyAll", (DirtyFieldsMixin,)),
    }


def _plain(sender: Any, **kwargs: Any) -> None:
    return None


def _changes(sender: Any, changes: Any, **kwargs: Any) -> None:
    return None


def _tracker_receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance.tracker.has_changed("status")


def _dirty_receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance.get_dirty_fields()


def _receivers(contenders: dict[str, type]) -> None:
    # Each model gets the receiver that asks its library what changed.
    from signals_app.changes import Changed, WithChanges
    from signals_app.signals import post_save, pre_save

    post_save.connect(_plain, sender=contenders["native"])
    post_save.connect(_changes, sender=contenders["ours"], when=Changed("status"))
    post_save.connect(_changes, sender=contenders["ours (all)"], when=WithChanges())
    for name in ("fieldtracker", "fieldtracker (all)"):
        post_save.connect(_tracker_receiver, sender=contenders[name])
    for name in ("dirtyfields", "dirtyfields (all)"):
        # dirtyfields resets its state in its own post_save receiver: ask before.
        pre_save.connect(_dirty_receiver, sender=contenders[name])


def _fill(model: type, rows: int = ROWS) -> None:
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(model)
    model.objects.bulk_create(
        model(
            title=f"Article {i}",
            body="Some text. " * 5,
            price=i % 1000,
            views=i,
            author_id=i % 50,
            data={"tags": ["a", "b"], "meta": {"lang": "en", "n": i}},
        )
        for i in range(rows)
    )


def _timed(run: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        # CPU time of this process: other work on the machine slows a round
        # down much less than it does wall time.
        started = time.process_time()
        run()
        return time.process_time() - started
    finally:
        gc.enable()


def _load(model: type) -> float:
    return _timed(lambda: list(model.objects.all()))


def _save(model: type, round_: int) -> float:
    rows = list(model.objects.order_by("pk")[:SAVES])
    status = "published" if round_ % 2 == 0 else "draft"

    def run() -> None:
        for row in rows:
            row.status = status
            row.save()

    return _timed(run)


def _loop(model: type, round_: int) -> float:
    from django.db import transaction

    row = model.objects.order_by("pk").first()
    statuses = ("published", "draft")

    def run() -> None:
        with transaction.atomic():
            for i in range(SAVES):
                row.status = statuses[(i + round_) % 2]
                row.save()

    return _timed(run)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its table and its summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--instructions",
        type=int,
        nargs="?",
        const=SAVES,
        metavar="SAVES",
        help="count CPU instructions a save of native and ours under callgrind",
    )
    parser.add_argument("--counted", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.instructions:
        _instructions(args.instructions)
        return
    args = parser.parse_args(argv)
    _configure()
    from benchmarks.environment import commit, cpu_model

    contenders = _models()
    if args.counted:
        _counted(contenders, args.counted)
        return
    for model in contenders.values():
        _fill(model)
    _receivers(contenders)

    loads: dict[str, list[float]] = {name: [] for name in contenders}
    saves: dict[str, list[float]] = {name: [] for name in contenders}
    looped = ("native", "ours")
    loops: dict[str, list[float]] = {name: [] for name in looped}
    for round_ in range(args.rounds):
        # Every other round in reverse order, so that a machine getting
        # busier or quieter during a round favours no contender.
        order = list(contenders.items())
        if round_ % 2:
            order.reverse()
        for name, model in order:
            loads[name].append(_load(model))
        for name, model in order:
            saves[name].append(_save(model, round_))
        for name, model in order:
            if name in looped:
                loops[name].append(_loop(model, round_))

    print(
        f"Python {sys.version.split()[0]}, Django {django.__version__}, "
        f"{cpu_model()}, commit {commit()}; {args.rounds} rounds, best and median"
    )
    # The ratio to native of each round, median over the rounds: a contender
    # and native, timed moments apart, share the machine's load.
    load_ratio = {name: _median_ratio(loads[name], loads["native"]) for name in loads}
    save_ratio = {name: _median_ratio(saves[name], saves["native"]) for name in saves}
    print(
        f"{'contender':<20}{'load 10k best':>14}{'median':>9}{'/native':>9}"
        f"{'save 1k best':>14}{'median':>9}{'/native':>9}"
    )
    for name in contenders:
        print(
            f"{name:<20}{min(loads[name]) * 1e3:>11.1f} ms"
            f"{statistics.median(loads[name]) * 1e3:>6.1f} ms"
            f"{load_ratio[name]:>9.3f}"
            f"{min(saves[name]) * 1e3:>11.1f} ms"
            f"{statistics.median(saves[name]) * 1e3:>6.1f} ms"
            f"{save_ratio[name]:>9.3f}"
        )

    def ratio(name: str) -> str:
        return f"{load_ratio[name]:.3f}"

    print(
        f"loop 1k in one atomic(): native best {min(loops['native']) * 1e3:.1f} ms, "
        f"ours best {min(loops['ours']) * 1e3:.1f} ms"
    )
    # How far the rounds disagree, for the ratio the last line reports.
    rounds = sorted(t / n for t, n in zip(saves["ours"], saves["native"], strict=True))
    quartiles = (
        statistics.quantiles(rounds, n=4, method="inclusive")
        if len(rounds) > 1
        else rounds * 3
    )
    print(
        f"save ours/plain-receiver over {len(rounds)} rounds: min {rounds[0]:.3f}, "
        f"quartiles {quartiles[0]:.3f} / {quartiles[1]:.3f} / {quartiles[2]:.3f}, "
        f"max {rounds[-1]:.3f}"
    )
    print(
        f"all fields watched: load ours/native {ratio('ours (all)')}, "
        f"fieldtracker/native {ratio('fieldtracker (all)')}, "
        f"dirtyfields/native {ratio('dirtyfields (all)')}"
    )
    print(
        f"changes: load ours/native {ratio('ours')}, "
        f"lifecycle/native {ratio('lifecycle')}, "
        f"fieldtracker/native {ratio('fieldtracker')}, "
        f"dirtyfields/native {ratio('dirtyfields')}; "
        f"save ours/plain-receiver {save_ratio['ours']:.3f}; "
        f"loop ours/unwatched {_median_ratio(loops['ours'], loops['native']):.3f}"
    )


COUNTED = ("native", "ours")


def _counted(contenders: dict[str, Any], saves: int) -> None:
    # Under callgrind, counting off: the same rows and receivers as the
    # timed run, warmed up untimed, then each contender's saves alone
    # counted and dumped under its name.
    import os
    import subprocess

    def callgrind(option: str) -> None:
        subprocess.run(
            ["callgrind_control", option, str(os.getpid())],
            check=True,
            capture_output=True,
        )

    for name in COUNTED:
        _fill(contenders[name], saves + 20)
    _receivers(contenders)
    rows = {}
    for name in COUNTED:
        model = contenders[name]
        for row in model.objects.order_by("-pk")[:20]:
            for status in ("published", "draft"):
                row.status = status
                row.save()
        rows[name] = list(model.objects.order_by("pk")[:saves])
    for turn, name in enumerate((*COUNTED, *reversed(COUNTED))):
        status = "published" if turn < len(COUNTED) else "draft"
        # A full collection first: one that falls in a side's loop is not
        # its saves' cost, and where it falls moves with any edit.
        gc.collect()
        callgrind("--instr=on")
        for row in rows[name]:
            row.status = status
            row.save()
        callgrind("--instr=off")
        callgrind(f"--dump={name}-{turn}")


def _instructions(saves: int) -> None:
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as place:
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        argv += [f"--callgrind-out-file={place}/callgrind.out"]
        argv += [sys.executable, "-m", "benchmarks.changes", "--counted", str(saves)]
        # The same hash seed and no address randomisation: two runs of the
        # same code then count alike.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(["setarch", "-R", *argv], env=env, check=True)
        counts: dict[str, list[float]] = {name: [] for name in COUNTED}
        for dump in Path(place).glob("callgrind.out.*"):
            text = dump.read_text(errors="replace")
            name = text.split("desc: Trigger: dump ", 1)[1].split()[0]
            total = int(text.split("\ntotals: ", 1)[1].split()[0])
            counts[name.rsplit("-", 1)[0]].append(total / saves)
    native, ours = (statistics.mean(counts[name]) for name in COUNTED)
    print(
        f"Python {sys.version.split()[0]}, Django {django.__version__}; "
        f"instructions a save, {saves} saves counted twice each"
    )
    for name in COUNTED:
        print(f"{name:<8}" + "".join(f"{count:>12,.0f}" for count in counts[name]))
    print(
        f"instructions: save ours/plain-receiver {ours / native:.4f} "
        f"({ours:,.0f} / {native:,.0f})"
    )


def _median_ratio(times: list[float], native: list[float]) -> float:
    return statistics.median(t / n for t, n in zip(times, native, strict=True))


if __name__ == "__main__":
    main()
