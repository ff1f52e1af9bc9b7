"""``manage.py signals``: list signal receivers, where they come from, how they run."""

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from signals_app import inspector
from signals_app.inspector import ReceiverReport, SignalReport

_COLUMNS = (
    "receiver",
    "defined at",
    "sender",
    "weak",
    "uid",
    "sync/async",
    "delivery",
    "when",
)


class Command(BaseCommand):
    help = (
        "List the receivers of the project's signals (Django's built-in ones, "
        "which run on signals_app's dispatcher, and those declared with "
        "signals_app.dispatch): where each is defined, its sender, how it is "
        "held and called, and receivers that are costly by accident. -v 2 adds "
        "where each was connected."
    )
    # Meant to run on a project whose lazy senders never resolved, which the
    # system checks report as an error. (A list, as Django documents it.)
    requires_system_checks: list[str] = []  # noqa: RUF012

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--signal",
            action="append",
            default=[],
            metavar="NAME",
            help="Only this signal: post_save, or a dotted path such as "
            "django.db.models.signals.post_save (signals_app.signals.post_save "
            "names the same signal). Repeatable.",
        )
        parser.add_argument(
            "--sender",
            action="append",
            default=[],
            metavar="APP_LABEL.MODEL",
            help="Only receivers connected for this model (case-insensitive), "
            "or for this lazy sender while it is pending. Repeatable.",
        )
        parser.add_argument(
            "--app",
            action="append",
            default=[],
            metavar="APP_LABEL",
            help="Only receivers connected for a model of this app, or defined "
            "in it. Repeatable.",
        )
        parser.add_argument(
            "--django",
            action="store_true",
            help="Also list the receivers defined in Django itself (such as "
            "django.db.close_old_connections) and in signals_app's machinery, and "
            "the signals still on Django's own dispatcher (connection_created, "
            "user_logged_in...).",
        )
        parser.add_argument(
            "--format",
            choices=["table", "json"],
            default="table",
            help="A table for people (default), or JSON for tools.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            reports = inspector.collect(
                signals=options["signal"],
                senders=options["sender"],
                app_labels=options["app"],
                django=options["django"],
            )
        except inspector.UnknownSignal as err:
            raise CommandError(f"{err}{self._django_hint(options)}") from err
        except LookupError as err:  # a sender or an app label
            raise CommandError(str(err)) from err
        if options["format"] == "json":
            self.stdout.write(json.dumps(_as_json(reports), indent=2))
        elif not reports:
            self.stdout.write(f"No receivers.{self._hidden_hint(options)}")
        else:
            self._write_table(reports, connected_at=options["verbosity"] >= 2)

    def _django_hint(self, options: dict[str, Any]) -> str:
        # Said only when --django would find the signal.
        if options["django"]:
            return ""
        try:
            inspector.collect(signals=options["signal"], django=True)
        except inspector.UnknownSignal:
            return ""
        return " It is on Django's own dispatcher: add --django."

    def _hidden_hint(self, options: dict[str, Any]) -> str:
        # Said only when --django would list something.
        if options["django"]:
            return ""
        hidden = sum(
            len(report.receivers)
            for report in inspector.collect(
                signals=options["signal"],
                senders=options["sender"],
                app_labels=options["app"],
                django=True,
            )
        )
        if not hidden:
            return ""
        return (
            f" --django lists {hidden} more: receivers defined in Django, and "
            "those of signals on Django's own dispatcher."
        )

    def _write_table(self, reports: list[SignalReport], connected_at: bool) -> None:
        header = [*_COLUMNS, "connected at"] if connected_at else list(_COLUMNS)
        rows = {
            id(receiver): _cells(receiver, connected_at)
            for report in reports
            for receiver in report.receivers
        }
        widths = [
            max(len(cells[i]) for cells in [header, *rows.values()])
            for i in range(len(header))
        ]

        def line(cells: list[str]) -> str:
            padded = map(str.ljust, cells, widths)
            return ("  " + "  ".join(padded)).rstrip()

        for position, report in enumerate(reports):
            if position:
                self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(report.name))
            self.stdout.write(line(header))
            for receiver in report.receivers:
                self.stdout.write(line(rows[id(receiver)]))
            for receiver in report.receivers:
                for warning in receiver.warnings:
                    self.stdout.write(self.style.WARNING(f"  Warning: {warning}"))


def _cells(receiver: ReceiverReport, connected_at: bool) -> list[str]:
    name = receiver.receiver
    if receiver.sender_kind == "pending":
        sender = f'"{receiver.sender}" (pending: never resolved)'
    else:
        sender = receiver.sender
    weak = {True: "weak", False: "strong", None: "?"}[receiver.weak]
    cells = [
        name,
        receiver.defined_at or "?",
        sender,
        weak,
        receiver.dispatch_uid or "-",
        "async" if receiver.is_async else "sync",
        receiver.delivery,
        receiver.condition or "-",
    ]
    if connected_at:
        cells.append(receiver.connected_at or "?")
    return cells


def _as_json(reports: list[SignalReport]) -> list[dict[str, Any]]:
    # One flat object per receiver, so tools can filter without nesting.
    return [
        {"signal": report.name, **asdict(receiver)}
        for report in reports
        for receiver in report.receivers
    ]
