"""
A django-debug-toolbar panel listing the receivers that ran in the request.

Needs the ``debug-toolbar`` extra and ``SIGNALS_APP_TRACE = True``; add
``"signals_app.panels.SignalsPanel"`` to ``DEBUG_TOOLBAR_PANELS``.
"""

from contextlib import ExitStack
from typing import Any

from debug_toolbar.panels import Panel
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import tracing


class SignalsPanel(Panel):
    """Receivers of signals_app's signals that ran, with their durations."""

    # The toolbar keys panels by id, and its own signals panel is also a
    # class named SignalsPanel: both can be shown side by side.
    panel_id = "SignalsAppPanel"
    title = _("Signal receivers")
    template = "signals_app/panel.html"
    is_async = True

    _exit_stack: ExitStack | None = None
    _trace: tracing.Trace | None = None

    # The trace is opened and closed around the rest of the toolbar's
    # middleware chain; these hooks run in the request's own context, sync
    # or async, unlike a coroutine that process_request() would return.
    def enable_instrumentation(self) -> None:
        self._exit_stack = ExitStack()
        self._trace = self._exit_stack.enter_context(tracing.trace())

    def disable_instrumentation(self) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        calls: list[dict[str, Any]] = [
            {
                "signal": call.signal_name,
                "sender": call.sender_name,
                "receiver": call.receiver_name,
                "duration_ms": call.duration_ms or 0.0,
            }
            for call in (self._trace.calls if self._trace else [])
        ]
        self.record_stats(
            {
                "tracing_installed": tracing.is_installed(),
                "calls": calls,
                "total_ms": sum(call["duration_ms"] for call in calls),
            }
        )

    @property
    def nav_subtitle(self) -> str:
        stats: dict[str, Any] = self.get_stats()
        if not stats.get("tracing_installed"):
            return str(_("tracing off"))
        count = len(stats["calls"])
        return ngettext(
            "%(count)d receiver in %(ms).2f ms",
            "%(count)d receivers in %(ms).2f ms",
            count,
        ) % {"count": count, "ms": stats["total_ms"]}
