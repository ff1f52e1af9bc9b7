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

    def _forward(self, sender: Any, named: dict[str, Any]) -> list[tuple[Any, Any]]:
        """Call our receivers for a send of Django's signal: those called
        synchronously, then those delivered later."""
        sync_refs, _, later = self._cached_plan(sender)
        receivers = _live(sync_refs)
        if not receivers and not later:
            # Put back by a tool that muted Django's signal after ours had
            # let it go: take it away again.
            self._forwarding.update()
        call = self._sync_caller(sender, named)
        responses = [(receiver, call(receiver)) for receiver in receivers]
        return responses + self._deliver_later(later, sender, named)

    async def _aforward(
        self, sender: Any, named: dict[str, Any]
    ) -> list[tuple[Any, Any]]:
        """Call our asynchronous receivers for a send of Django's signal."""
        receivers = _live(self._cached_plan(sender)[1])
        if not receivers:
            self._forwarding.update()
        return await _gather(receivers, self._async_caller(sender, named))

    # How forwarded receivers are called; signals_app.tracing replaces these
    # to time each call.
    def _sync_caller(
        self, sender: Any, named: dict[str, Any]
    ) -> Callable[[Callable[..., Any]], Any]:
        return self._caller(sender, named)

    _async_caller = _sync_caller


class _Forwarding:
    """The forwarders connected to one Django signal for one signal of ours."""

    def __init__(self, ours: Signal, theirs: DjangoSignal) -> None:
        self._ours = ours
        self._theirs = theirs
        # Serialises updates; taken before either signal's own lock.
        self._lock = threading.Lock()
        # One forwarder per kind, connected for as many senders as needed.
        # What is connected is read back from Django's signal rather than
        # remembered here: tools that mute Django's signals take entries
        # away and put them back behind our back.
        self._forwarders = {False: self._forwarder(), True: self._async_forwarder()}

    def update(self) -> None:
        """Connect and disconnect forwarders to match our receivers."""
        with self._lock:
            wanted = self._wanted()
            present = self._drop_unwanted(wanted)
            for key, sender_ref in wanted.items():
                sender = _deref(sender_ref)
                if key in present or (sender_ref is not None and sender is None):
                    continue
                self._theirs.connect(
                    self._forwarders[key[1]], sender=sender, weak=False
                )

    def _wanted(self) -> dict[_Key, _SenderRef]:
        ours = self._ours
        with ours.lock:
            ours._purge_dead()
            if _NONE_ID in ours._by_sender:
                kinds = {_is_async(conn) for conn in ours._connections.values()}
                return {(_NONE_ID, is_async): None for is_async in kinds}
            # A sender known only by its id (an entry assigned to
            # ``receivers`` from elsewhere) cannot be named to Django.
            return {
                (sender_id, _is_async(conn)): conn.sender_ref
                for sender_id, bucket in ours._by_sender.items()
                for conn in bucket.values()
                if conn.sender_ref is not None
            }

    def _drop_unwanted(self, wanted: dict[_Key, _SenderRef]) -> set[_Key]:
        """Remove our forwarders Django should no longer call; return the rest."""
        theirs = self._theirs
        kinds = {id(forwarder): kind for kind, forwarder in self._forwarders.items()}
        present: set[_Key] = set()
        kept = []
        # Django's own disconnect() cannot name a sender that has been
        # collected, so entries are filtered directly, as tools that mute
        # Django's signals do.
        with theirs.lock:
            for entry in theirs.receivers:
                kind = kinds.get(id(entry[1]))
                if kind is not None:
                    key = (entry[0][1], kind)
                    if (
                        key not in wanted
                        or key in present
                        or _stale(entry, wanted[key])
                    ):
                        continue
                    present.add(key)
                kept.append(entry)
            if len(kept) != len(theirs.receivers):
                theirs.receivers = kept
                theirs.sender_receivers_cache.clear()
        return present

    def _forwarder(self) -> Callable[..., Any]:
        ours = self._ours

        def forward(signal: Any, sender: Any, **named: Any) -> Any:
            return ours._forward(sender, named)

        forward.forwards_to = ours  # type: ignore[attr-defined]
        return forward

    def _async_forwarder(self) -> Callable[..., Any]:
        ours = self._ours

        async def forward_async(signal: Any, sender: Any, **named: Any) -> Any:
            return await ours._aforward(sender, named)

        forward_async.forwards_to = ours  # type: ignore[attr-defined]
        return forward_async


def forwards_to(receiver: Any) -> Signal | None:
    """The signal of ours that ``receiver`` forwards to, if it is a forwarder."""
    return getattr(receiver, "forwards_to", None)


def _is_async(conn: Any) -> bool:
    # Receivers delivered later are scheduled synchronously, whatever they are.
    return conn.is_async and conn.delivery is None


def _stale(entry: tuple, sender_ref: _SenderRef) -> bool:
    # Django 6 entries carry a weak reference to the sender: one whose sender
    # died, its id now taken by another object, must be connected anew.
    sender_weakref = entry[2] if len(entry) == 4 else None
    return sender_weakref is not None and sender_weakref() is not _deref(sender_ref)


def _deref(sender_ref: _SenderRef) -> Any:
    return sender_ref() if sender_ref is not None else None
