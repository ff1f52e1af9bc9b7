"""
How the built-in signals in ``signals_app.signals`` hear Django's.

Django already sends its signals from every path that matters: the ORM, the
deletion collector and its cascades, m2m managers, fixture loading, both
request handlers, streaming responses. Rather than hooking those paths a
second time, each of our built-in signals forwards from its Django namesake.

Forwarders are connected per sender, and only while one of our receivers
wants that sender. Django's deletion collector gives up its fast path for any
model whose delete signals have listeners, so forwarding every model would
slow every cascade in a project, and a signal of ours nobody listens to costs
nothing. While one of our receivers listens to any sender, a single forwarder
connected for any sender covers every sender.

Synchronous and asynchronous receivers of ours get separate forwarders, so
Django mixes them by its own rules (synchronous ones in order, asynchronous
ones gathered; under ``asend()``, synchronous ones behind ``sync_to_async()``)
as if ours were connected to Django's signal directly.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Any

from django.dispatch import Signal as DjangoSignal

from .dispatch.dispatcher import _NONE_ID, Signal, _gather, _live

# (sender id, whether the forwarder is for asynchronous receivers)
_Key = tuple[Hashable, bool]
# Returns the sender, or None once it is collected; None itself for any sender.
_SenderRef = Callable[[], Any] | None


class Wired:
    """
    Mixin for a signal of ours that re-sends a signal of Django's.

    ``mirrors`` is the Django signal to forward from; the other arguments are
    the signal class's own.
    """

    def __init__(self, mirrors: DjangoSignal, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mirrors = mirrors
        self._forwarding = _Forwarding(self, mirrors)

    def _connections_changed(self) -> None:
        self._forwarding.update()


class _Forwarding:
    """The forwarders connected to one Django signal for one signal of ours."""

    def __init__(self, ours: Signal, theirs: DjangoSignal) -> None:
        self._ours = ours
        self._theirs = theirs
        # Serialises updates; taken before either signal's own lock.
        self._lock = threading.Lock()
        self._active: dict[_Key, tuple[_SenderRef, Callable[..., Any]]] = {}

    def update(self) -> None:
        """Connect and disconnect forwarders to match our receivers."""
        with self._lock:
            wanted = self._wanted()
            for key, (sender_ref, forwarder) in list(self._active.items()):
                if key not in wanted or _deref(sender_ref) is not _deref(wanted[key]):
                    self._unplug(sender_ref, forwarder)
                    del self._active[key]
            for key, sender_ref in wanted.items():
                if key in self._active:
                    continue
                sender = _deref(sender_ref)
                if sender_ref is not None and sender is None:
                    continue
                forwarder = self._forwarder(is_async=key[1])
                self._theirs.connect(forwarder, sender=sender, weak=False)
                self._active[key] = (sender_ref, forwarder)

    def _wanted(self) -> dict[_Key, _SenderRef]:
        ours = self._ours
        with ours.lock:
            ours._purge_dead()
            if _NONE_ID in ours._by_sender:
                kinds = {conn.is_async for conn in ours._connections.values()}
                return {(_NONE_ID, is_async): None for is_async in kinds}
            # A sender known only by its id (an entry assigned to
            # ``receivers`` from elsewhere) cannot be named to Django.
            return {
                (sender_id, conn.is_async): conn.sender_ref
                for sender_id, bucket in ours._by_sender.items()
                for conn in bucket.values()
                if conn.sender_ref is not None
            }

    def _unplug(self, sender_ref: _SenderRef, forwarder: Callable[..., Any]) -> None:
        sender = _deref(sender_ref)
        if sender_ref is None or sender is not None:
            self._theirs.disconnect(forwarder, sender=sender)
            return
        # The sender has been collected, so disconnect() can no longer name
        # it; drop Django's entry for the forwarder directly.
        with self._theirs.lock:
            self._theirs.receivers = [
                entry for entry in self._theirs.receivers if entry[1] is not forwarder
            ]
            self._theirs.sender_receivers_cache.clear()

    def _forwarder(self, is_async: bool) -> Callable[..., Any]:
        ours = self._ours
        if is_async:

            async def forward_async(signal: Any, sender: Any, **named: Any) -> Any:
                receivers = _live(ours._cached_plan(sender)[1])
                return await _gather(receivers, ours._caller(sender, named))

            return forward_async

        def forward(signal: Any, sender: Any, **named: Any) -> Any:
            kwargs = {"signal": ours, "sender": sender, **named}
            return [(r, r(**kwargs)) for r in _live(ours._cached_plan(sender)[0])]

        return forward


def _deref(sender_ref: _SenderRef) -> Any:
    return sender_ref() if sender_ref is not None else None
