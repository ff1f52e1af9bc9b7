"""
Runs the Python examples of these pages as tests, with Sybil.

Each page is one namespace, its ```python blocks (and those hidden in
``<!-- invisible-code-block: python`` comments) run in order, each as a test
with a database that commits, as in a shell or a worker (pytest-django's
``transactional_db``: tables are emptied after each block), except where
said below. Receivers a page connects are disconnected when the page ends, so pages
do not hear each other's sends. ``./scripts/test`` runs them with the suite.
"""

import gc
import weakref
from typing import Any

from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser
from sybil.sybil import SybilCollection


def _signals() -> list[Any]:
    from signals_app import signals
    from signals_app.dispatch import Signal

    found = (getattr(signals, name) for name in signals.__all__)
    return [each for each in found if isinstance(each, Signal)]


def _start_page(namespace: dict[str, Any]) -> None:
    from signals_app import lazy

    namespace["__name__"] = "docs_example"
    namespace["_receivers_before_page"] = {
        signal: signal.receivers for signal in _signals()
    }
    namespace["_pending_before_page"] = {id(each) for each in lazy.pending()}


def _is_own(entry: Any) -> bool:
    # signals_app connects some receivers of its own the first time they
    # are needed (the task backend's cache listens to setting_changed from
    # the first queued send): they must outlive the page that needed them,
    # or a later page would read a stale cache.
    receiver = entry[1]
    if isinstance(receiver, weakref.ReferenceType):
        receiver = receiver()
    return (getattr(receiver, "__module__", None) or "").startswith("signals_app.")


def _end_page(namespace: dict[str, Any]) -> None:
    from signals_app import lazy

    for signal, receivers in namespace["_receivers_before_page"].items():
        signal.receivers = receivers + [
            entry
            for entry in signal.receivers
            if _is_own(entry) and entry not in receivers
        ]
    # A lazy sender that never resolved (a page showing the system check)
    # would otherwise wait, and be reported, for the rest of the run.
    for each in lazy.pending():
        if id(each) not in namespace["_pending_before_page"]:
            lazy.withdraw(
                each.signal, each.receiver, each.model, each.apps, each.dispatch_uid
            )
    namespace.clear()
    # Weakly held receivers of the page, and their queued names, go now.
    gc.collect()


_PARSERS = [PythonCodeBlockParser(), SkipParser()]

# The testing guide runs as tests run, in a transaction rolled back after
# each block, with the app's pytest fixtures at hand; the other pages on a
# database that commits.
_AS_TESTS = ["howto/testing.md"]
_FIXTURES = ["signal_recorder", "mute_signals", "connect_receiver", "signal_deliveries"]

pytest_collect_file = SybilCollection(
    [
        Sybil(
            parsers=_PARSERS,
            patterns=_AS_TESTS,
            fixtures=["db", *_FIXTURES],
            setup=_start_page,
            teardown=_end_page,
        ),
        Sybil(
            parsers=_PARSERS,
            patterns=["*.md"],
            excludes=["_incoming/*", "_build/*", *_AS_TESTS],
            fixtures=["transactional_db"],
            setup=_start_page,
            teardown=_end_page,
        ),
    ]
).pytest()
