"""
pytest fixtures for tests that involve signals.

pytest loads this plugin by itself wherever signals_app is installed (it is
registered as the ``signals_app`` entry point of the ``pytest11`` group), so
no conftest needs to mention it; ``-p no:signals_app`` leaves it out. Each
fixture is a function that starts one of the helpers of
``signals_app.testing`` and keeps it going until the test ends.

pytest loads plugins before Django is configured, so this module imports
nothing of Django's: the helpers are imported by the fixtures.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from signals_app.testing import AnySignal, Call, Deliveries

__all__ = ["connect_receiver", "mute_signals", "signal_deliveries", "signal_recorder"]

_Receiver = Callable[..., Any]


@pytest.fixture
def _signals_app_exit_stack() -> Iterator[ExitStack]:
    # Shared by the fixtures below, so that at the end of the test whatever
    # they started is undone in the reverse order, as nested ``with`` blocks
    # would undo it, whichever fixtures the test asked for first.
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def signal_recorder(
    _signals_app_exit_stack: ExitStack,
) -> Callable[..., "list[Call]"]:
    """
    Record the sends of signals from now until the test ends::

        def test_order(signal_recorder):
            calls = signal_recorder(post_save, sender=Order)
            OrderFactory()
            assert calls[0].kwargs["created"]

    Takes the arguments of ``signals_app.testing.record()`` and returns the
    list of ``Call`` it fills.
    """
    from signals_app.testing import record

    def start(*signals: "AnySignal", sender: Any = None) -> "list[Call]":
        return _signals_app_exit_stack.enter_context(record(*signals, sender=sender))

    return start


@pytest.fixture
def mute_signals(_signals_app_exit_stack: ExitStack) -> Callable[..., None]:
    """
    Mute signals from now until the test ends::

        def test_import(mute_signals):
            mute_signals(pre_save, post_save)
            ...

    Takes the arguments of ``signals_app.testing.mute()``.
    """
    from signals_app.testing import mute

    def start(*signals: "AnySignal") -> None:
        _signals_app_exit_stack.enter_context(mute(*signals))

    return start


@pytest.fixture
def connect_receiver(_signals_app_exit_stack: ExitStack) -> Callable[..., Any]:
    """
    Connect a receiver from now until the test ends, and return it::

        def test_audit(connect_receiver):
            seen = []
            connect_receiver(post_save, lambda **kwargs: seen.append(kwargs))
            ...

    Takes the arguments of ``signals_app.testing.connected()``; the receiver
    is held strongly, so a lambda works.
    """
    from signals_app.testing import connected

    def start(signal: "AnySignal", receiver: _Receiver, **kwargs: Any) -> _Receiver:
        return _signals_app_exit_stack.enter_context(
            connected(signal, receiver, **kwargs)
        )

    return start


@pytest.fixture
def signal_deliveries(_signals_app_exit_stack: ExitStack) -> "Deliveries":
    """
    Run receivers delivered later when the test says so::

        @pytest.mark.django_db
        def test_welcome_mail(signal_deliveries):
            CustomerFactory(email="ann@example.com")
            signal_deliveries.run()
            assert mail.outbox[0].to == ["ann@example.com"]

    ``signals_app.testing.capture_deliveries()`` for the whole test, on
    every database: ``run()`` runs the ``"on_commit"`` receivers and, through
    the task in this process, the ``"task"`` ones that the test's sends have
    scheduled so far. What is still waiting when the test ends never runs,
    as with a transaction rolled back.
    """
    from signals_app.testing import capture_deliveries

    return _signals_app_exit_stack.enter_context(capture_deliveries())
