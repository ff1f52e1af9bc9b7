"""
A django-debug-toolbar panel: the receivers that ran in the request, and those
it left for later.

Needs the ``debug-toolbar`` extra; add ``"signals_app.panels.SignalsPanel"``
to ``DEBUG_TOOLBAR_PANELS``. The first request the panel is enabled for turns
tracing on (as ``SIGNALS_APP_TRACE = True`` does) and leaves it on: the panel
lists the receivers called during the request with their timings, those
connected with ``delivery="on_commit"`` that ran at a commit within the
request among them. Calls still waiting when the response goes out (a task,
an ``on_commit`` call whose transaction is open or was rolled back) are
listed apart, with their delivery, their main arguments and what became of
them.
"""

from contextlib import ExitStack
from typing import Any

from debug_toolbar.panels import Panel
from django.db import connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import delivery, tracing

__all__ = ["SignalsPanel"]

# The arguments that tell one send of a built-in signal from another, first;
# any others follow in the order they were sent.
_MAIN_ARGUMENTS = (
    "action",
    "created",
    "instance",
    "pk_set",
    "model",
    "update_fields",
    "origin",
    "using",
)
_LONGEST = 60
# The columns that hold dotted names.
_NAMES = ("signal", "sender", "receiver")


class SignalsPanel(Panel):
    """Receivers of signals_app's signals that ran, and those delivered later."""

    # The toolbar keys panels by id, and its own signals panel is also a
    # class named SignalsPanel: both can be shown side by side.
    panel_id = "SignalsAppPanel"
    title = _("Signal receivers")
    template = "signals_app/panel.html"
    is_async = True
    # A static path, as the toolbar's own panels give theirs (read by the
    # toolbar's recent releases): its signals icon, which ships wherever the
    # panel can run. The toolbar's base class declares it as None, which
    # mypy takes for its type.
    nav_icon = "debug_toolbar/img/signals.svg"  # type: ignore[assignment]

    _exit_stack: ExitStack | None = None
    _trace: tracing.Trace | None = None
    _later: list[delivery.ScheduledCall] | None = None

    # The trace is opened and closed around the rest of the toolbar's
    # middleware chain; these hooks run in the request's own context, sync
    # or async, unlike a coroutine that process_request() would return.
    def enable_instrumentation(self) -> None:
        # Without timings the panel has nothing to show for the receivers
        # that ran: enabling it is taken as asking for tracing, which is
        # meant for development as the toolbar is. Installing twice is a no-op.
        tracing.install()
        self._exit_stack = ExitStack()
        self._trace = self._exit_stack.enter_context(tracing.trace())
        self._later = self._exit_stack.enter_context(delivery.scheduled_calls())

    def disable_instrumentation(self) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        traced = self._trace.calls if self._trace else []
        ran_later, waiting = _runs_of_scheduled_calls(traced, self._later or [])
        calls: list[dict[str, Any]] = [
            {
                "signal": call.signal_name,
                "sender": _sender(call.sender),
                "receiver": call.receiver_name,
                "delivered": _when_it_ran(ran_later.get(id(call))),
                "arguments": _main_arguments(call.arguments),
                "duration_ms": call.duration_ms or 0.0,
            }
            for call in traced
        ]
        later = [
            {
                "signal": tracing.describe_signal(call.signal),
                "sender": _sender(call.sender),
                "receiver": tracing.dotted_name(call.receiver),
                "delivery": _describe_delivery(call.delivery),
                "arguments": _main_arguments(call.arguments),
                "outcome": _outcome(call.response),
            }
            for call in waiting
        ]
        self.record_stats(
            {
                "calls": calls,
                "total_ms": sum(call["duration_ms"] for call in calls),
                "later": later,
            }
        )

    @property
    def content(self) -> str:
        """The panel's HTML, dotted names given places to wrap."""
        # Here rather than in generate_stats(): the stats travel through the
        # toolbar's store as JSON, where safe strings become plain ones.
        stats: dict[str, Any] = self.get_stats()
        rows = {
            table: [
                {**row, **{name: _breakable(row[name]) for name in _NAMES}}
                for row in stats.get(table, ())
            ]
            for table in ("calls", "later")
        }
        return render_to_string(self.template, {**stats, **rows})

    @property
    def nav_subtitle(self) -> str:
        stats: dict[str, Any] = self.get_stats()
        count = len(stats.get("calls", ()))
        now = ngettext(
            "%(count)d receiver in %(ms).2f ms",
            "%(count)d receivers in %(ms).2f ms",
            count,
        ) % {"count": count, "ms": stats.get("total_ms", 0.0)}
        later = len(stats.get("later", ()))
        if not later:
            return now
        return str(_("%(now)s, %(later)d later")) % {"now": now, "later": later}


def _runs_of_scheduled_calls(
    traced: list[tracing.ReceiverCall], scheduled: list[delivery.ScheduledCall]
) -> tuple[dict[int, delivery.ScheduledCall], list[delivery.ScheduledCall]]:
    # A call scheduled for later may still have run within the request: an
    # on_commit receiver in autocommit, or once the view's atomic block
    # commits. The trace recorded that run; it is told by the same receiver,
    # signal and sender, and the very argument objects it was scheduled with.
    # Returns the runs (by id() of the traced call) and the calls not run.
    runs: dict[int, delivery.ScheduledCall] = {}
    waiting = []
    for call in scheduled:
        run = next(
            (
                each
                for each in traced
                if id(each) not in runs and _is_run_of(each, call)
            ),
            None,
        )
        if run is None:
            waiting.append(call)
        else:
            runs[id(run)] = call
    return runs, waiting


def _is_run_of(run: tracing.ReceiverCall, call: delivery.ScheduledCall) -> bool:
    # Identity, not equality: arguments may compare oddly (or raise), and a
    # run of the same receiver for another send must not be taken for it.
    return (
        run.receiver is call.receiver
        and run.signal is call.signal
        and run.sender is call.sender
        and run.arguments.keys() == call.arguments.keys()
        and all(run.arguments[name] is value for name, value in call.arguments.items())
    )


def _when_it_ran(call: delivery.ScheduledCall | None) -> str:
    if call is None:
        return ""
    # It ran, so it was scheduled: its response is a Scheduled.
    return str(_("%(delivery)s: ran when %(db)s committed")) % {
        "delivery": _describe_delivery(call.delivery),
        "db": call.response.using,
    }


def _breakable(name: str) -> SafeString:
    # A dotted name wider than its column wraps after a dot rather than
    # mid-word; <wbr> marks where, and is left out when the text is copied.
    return format_html_join(
        mark_safe(".<wbr>"), "{}", ((part,) for part in name.split("."))
    )


def _describe_delivery(how: Any) -> str:
    missing = getattr(how, "missing", "fail")
    return how.name if missing == "fail" else f"{how.name} (missing={missing!r})"


def _main_arguments(named: dict[str, Any]) -> str:
    order = [name for name in _MAIN_ARGUMENTS if name in named]
    order += [name for name in named if name not in _MAIN_ARGUMENTS]
    return ", ".join(f"{name}={_short(named[name])}" for name in order)


def _sender(sender: Any) -> str:
    try:
        return tracing.describe_sender(sender)
    except Exception:
        return _unshowable(sender)


def _unshowable(value: Any) -> str:
    # Any object can be sent; one whose repr() fails must not take the
    # toolbar, and with it the page, down.
    return f"<{type(value).__qualname__}: repr() failed>"


def _short(value: Any) -> str:
    try:
        text = _shown(value)
    except Exception:
        text = _unshowable(value)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def _shown(value: Any) -> str:
    if isinstance(value, Model):
        return f"{value._meta.label}(pk={value.pk!r})"
    if isinstance(value, type):
        return tracing.describe_sender(value)
    if isinstance(value, set | frozenset):
        # Sorted where it can be, so that a page reads the same each time.
        try:
            return "{" + ", ".join(repr(each) for each in sorted(value)) + "}"
        except TypeError:
            return repr(value)
    return repr(value)


def _outcome(response: Any) -> str:
    if isinstance(response, BaseException):
        return str(_("not queued: %(error)s")) % {"error": response}
    if isinstance(response, delivery.Scheduled):
        if response.task_result is not None:
            return str(_("task %(id)s written to %(db)s with the data")) % {
                "id": response.task_result.id,
                "db": response.using,
            }
        if response.delivery == "task":
            return str(_("enqueued once %(db)s commits")) % {"db": response.using}
        # An on_commit call that ran is in the trace. One still waiting once
        # the response is ready waits on an open transaction (a test's, or
        # one the view left open) or was dropped by a rollback. (Under ASGI
        # the view's queries ran in another thread, with a connection of its
        # own: a transaction left open there reads as rolled back here.)
        if connections[response.using].in_atomic_block:
            return str(_("called once %(db)s commits")) % {"db": response.using}
        return str(_("dropped: %(db)s rolled back")) % {"db": response.using}
    return repr(response)
