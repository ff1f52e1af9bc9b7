"""
A django-debug-toolbar panel: the receivers that ran in the request, and those
it left for later.

Needs the ``debug-toolbar`` extra; add ``"signals_app.panels.SignalsPanel"``
to ``DEBUG_TOOLBAR_PANELS``. The receivers called during the request are
listed with ``SIGNALS_APP_TRACE = True``; those delivered later
(``"on_commit"``, ``"task"``) always are, with their delivery, their main
arguments and what became of them.
"""

from contextlib import ExitStack
from typing import Any

from debug_toolbar.panels import Panel
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
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
        self._exit_stack = ExitStack()
        self._trace = self._exit_stack.enter_context(tracing.trace())
        self._later = self._exit_stack.enter_context(delivery.scheduled_calls())

    def disable_instrumentation(self) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        calls: list[dict[str, Any]] = [
            {
                "signal": call.signal_name,
                "sender": call.sender_name,
                "receiver": call.receiver_name,
                "arguments": _main_arguments(call.arguments),
                "duration_ms": call.duration_ms or 0.0,
            }
            for call in (self._trace.calls if self._trace else [])
        ]
        later = [
            {
                "signal": tracing.describe_signal(call.signal),
                "sender": tracing.describe_sender(call.sender),
                "receiver": tracing.dotted_name(call.receiver),
                "delivery": _describe_delivery(call.delivery),
                "arguments": _main_arguments(call.arguments),
                "outcome": _outcome(call.response),
            }
            for call in (self._later or [])
        ]
        self.record_stats(
            {
                "tracing_installed": tracing.is_installed(),
                "calls": calls,
                "total_ms": sum(call["duration_ms"] for call in calls),
                "later": later,
            }
        )

    @property
    def nav_subtitle(self) -> str:
        stats: dict[str, Any] = self.get_stats()
        later = len(stats.get("later", ()))
        if not stats.get("tracing_installed"):
            now = str(_("tracing off"))
        else:
            count = len(stats["calls"])
            now = ngettext(
                "%(count)d receiver in %(ms).2f ms",
                "%(count)d receivers in %(ms).2f ms",
                count,
            ) % {"count": count, "ms": stats["total_ms"]}
        if not later:
            return now
        return str(_("%(now)s, %(later)d later")) % {"now": now, "later": later}


def _describe_delivery(how: Any) -> str:
    missing = getattr(how, "missing", "fail")
    return how.name if missing == "fail" else f"{how.name} (missing={missing!r})"


def _main_arguments(named: dict[str, Any]) -> str:
    order = [name for name in _MAIN_ARGUMENTS if name in named]
    order += [name for name in named if name not in _MAIN_ARGUMENTS]
    return ", ".join(f"{name}={_short(named[name])}" for name in order)


def _short(value: Any) -> str:
    if isinstance(value, Model):
        text = f"{value._meta.label}(pk={value.pk!r})"
    elif isinstance(value, type):
        text = tracing.describe_sender(value)
    elif isinstance(value, set | frozenset):
        # Sorted where it can be, so that a page reads the same each time.
        try:
            text = "{" + ", ".join(repr(each) for each in sorted(value)) + "}"
        except TypeError:
            text = repr(value)
    else:
        text = repr(value)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def _outcome(response: Any) -> str:
    if isinstance(response, BaseException):
        return str(_("not queued: %(error)s")) % {"error": response}
    if isinstance(response, delivery.Scheduled):
        if response.task_result is not None:
            return str(_("task %(id)s written in the transaction")) % {
                "id": response.task_result.id
            }
        if response.delivery == "task":
            return str(_("enqueued once %(db)s commits")) % {"db": response.using}
        return str(_("called once %(db)s commits")) % {"db": response.using}
    return repr(response)
