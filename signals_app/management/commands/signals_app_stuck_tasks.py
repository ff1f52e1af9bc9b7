"""
``manage.py signals_app_stuck_tasks``: tasks django-tasks-db left marked running.

django-tasks-db's ``db_worker`` marks a task RUNNING as it claims it and
never claims it again; a worker that dies during the task (SIGKILL, the OOM
killer, a lost machine) leaves it so for good, and nothing runs it. This
command lists the tasks that have been RUNNING for longer than a given
time, and with ``--requeue`` makes them READY again for any worker to run.
"""

import re
from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from signals_app.conf import app_settings
from signals_app.delivery import decoding, payload, sealed

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


def parse_duration(text: str) -> timedelta:
    """
    A duration written as a number and a unit: ``90s``, ``10m``, ``2h``, ``1d``.

    A number alone counts seconds. Raise ``ValueError`` for anything else.
    """
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a duration such as 90s, 10m, 2h or 1d")
    number, unit = found.groups()
    return timedelta(seconds=float(number) * _UNITS[unit or "s"])


class Command(BaseCommand):
    help = (
        "List the tasks of a django-tasks-db backend left marked RUNNING for "
        "longer than --older-than (a worker that died during them leaves them "
        "so for good), by default only signals_app's queued deliveries. "
        "--requeue makes them READY again, to be run by the next free worker: "
        "only for tasks whose worker is known to be gone, since one still "
        "running its task would then see it run twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            default="1h",
            metavar="DURATION",
            help="Only tasks started this long ago or more: 90s, 10m, 2h, 1d "
            "(default 1h). Choose more than the longest a task may take.",
        )
        parser.add_argument(
            "--requeue",
            action="store_true",
            help="Mark the tasks found READY again, for a worker to run.",
        )
        parser.add_argument(
            "--backend",
            metavar="ALIAS",
            help="The TASKS backend whose tasks to look at (default "
            "SIGNALS_APP_TASK_BACKEND).",
        )
        parser.add_argument(
            "--all-tasks",
            action="store_true",
            help="Every task of the backend, not only signals_app's deliveries.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            older_than = parse_duration(options["older_than"])
        except ValueError as err:
            raise CommandError(f"--older-than: {err}") from None
        alias = options["backend"] or app_settings.TASK_BACKEND
        results = _running_results(alias)
        started_before = timezone.now() - older_than
        stuck = results.filter(started_at__lte=started_before)
        deliver_path = _deliver_path()
        if not options["all_tasks"]:
            stuck = stuck.filter(task_path=deliver_path)
        found = list(stuck.order_by("started_at"))
        for result in found:
            self.stdout.write(_describe(result, deliver_path))
        if not options["requeue"]:
            self.stdout.write(
                f"{len(found)} task(s) of backend {alias!r} marked running since "
                f"before {started_before:%Y-%m-%d %H:%M:%S %Z}."
            )
            return
        # Only rows still RUNNING: one that finished since it was listed
        # keeps its result.
        requeued = results.filter(pk__in=[r.pk for r in found]).update(
            status="READY", started_at=None
        )
        self.stdout.write(f"Requeued {requeued} task(s) of backend {alias!r}.")


def _deliver_path() -> str:
    """The task path django-tasks-db records for signals_app's deliveries."""
    # Imported here: the module needs the Tasks API, which the command
    # requires only once it runs.
    from signals_app.delivery.tasks import deliver

    return str(deliver.module_path)


def _running_results(alias: str) -> Any:
    """The RUNNING rows of django-tasks-db backend ``alias``."""
    from django.conf import settings

    backend = getattr(settings, "TASKS", {}).get(alias)
    if backend is None:
        raise CommandError(f"TASKS has no backend {alias!r}.")
    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        raise CommandError(
            "Only django-tasks-db keeps tasks where this command can find "
            "them, and it is not installed."
        ) from None
    from django.utils.module_loading import import_string

    if not issubclass(import_string(backend["BACKEND"]), DatabaseBackend):
        raise CommandError(
            f"Backend {alias!r} is {backend['BACKEND']}, not django-tasks-db's "
            "DatabaseBackend: its broker keeps its own record of running tasks."
        )
    return DBTaskResult.objects.filter(backend_name=alias, status="RUNNING")


def _describe(result: Any, deliver_path: str) -> str:
    """One line for a stuck task: id, start, workers, and what it delivers."""
    what = result.task_path
    if what == deliver_path:
        # A row that is not one of ours after all keeps its task's name.
        with suppress(payload.InvalidPayload, KeyError, IndexError, TypeError):
            arguments = result.args_kwargs
            signed = sealed.unseal(arguments["args"][0], **arguments["kwargs"])
            what = decoding.receiver_of(signed.payload)
    workers = ",".join(result.worker_ids) or "-"
    started = f"{result.started_at:%Y-%m-%d %H:%M:%S}"
    return f"{result.id}  started {started}  worker {workers}  {what}"
