"""
How a signal keeps its connections and works out whom a send reaches.

``Registry`` is the storage half of ``Signal``: connections by lookup key and
by sender, the per-sender plans cached until a connection changes, and the
clean-up of connections whose receiver or sender was collected. ``Signal``
adds the API on top.
"""

import weakref
from collections.abc import Callable, Hashable, Iterable
from itertools import count
from typing import Any

from asgiref.sync import iscoroutinefunction

from .connections import (
    _SENDER_IN_ENTRY,
    NONE_ID,
    Connection,
    Entry,
    make_id,
    new_entry,
    strong,
    weak_reference,
)
from .patches import handed_over, run_operation

__all__ = ["Registry", "live"]

# Plans are found by id(sender) and senders may be short-lived, so the cache
# starts over rather than grow past this many.
_MAX_CACHED_PLANS = 1024

# A sender's plan: first, when every receiver it reaches is synchronous,
# called now and has no condition, their references (the quick path of
# send()), else None; then the references of the receivers called now,
# synchronous then asynchronous, and of those delivered later, each with its
# delivery; last, None, or the conditions of the receivers connected with
# one, by the id() of their reference.
Plan = tuple[
    tuple[Callable[[], Any], ...] | None,
    tuple[Callable[[], Any], ...],
    tuple[Callable[[], Any], ...],
    tuple[tuple[Callable[[], Any], Any], ...],
    dict[int, Any] | None,
]
_EMPTY_PLAN: Plan = ((), (), (), (), None)


class _Handed:
    """
    ``sender_receivers_cache`` as Django's own ``_live_receivers`` sees it
    while a send hands it receivers (see patches): ``get()`` answers them.
    """

    def __init__(self, plans: dict, pairs: list[tuple[Any, bool]]) -> None:
        self._plans = plans
        self._pairs = pairs

    def get(self, key: Any, default: Any = None) -> Any:
        handed_over(self._plans, "cache")
        if _SENDER_IN_ENTRY:
            # Django 6 caches (receiver, sender's weak reference, is_async),
            # None in the middle standing for any sender.
            return [(receiver, None, is_async) for receiver, is_async in self._pairs]
        return self._pairs

    def clear(self) -> None:
        self._plans.clear()


class _NoCache(dict):
    """Stands in for the plan cache while nothing may be cached."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class Registry:
    """The connections of one signal; see the module docstring."""

    lock: Any
    # Django's flag for dead weak references; ours never has them pending.
    _dead_receivers = False

    def _set_up(self, lock: Any, use_caching: bool, defined_in: str | None) -> None:
        # Shared by __init__ and adopt(). The lock must be reentrant: tools
        # hold it while they read or assign ``receivers``, which take it too.
        self.defined_in = defined_in
        self.lock = lock
        self._use_caching = use_caching
        # Plans by id(sender); send() reads this exact dict, whose lookups
        # CPython specialises (a subclass would cost ~100 ns a send).
        self._plans: dict[Hashable, Plan] = {}
        self._connections: dict[Hashable, Entry] = {}
        self._by_sender: dict[Hashable, dict[Hashable, Entry]] = {}
        self._method_senders = 0
        self._order = count()
        # Keys of connections whose receiver or sender died. The weak
        # reference callbacks that fill it run inside garbage collection,
        # possibly while this very thread holds the lock: they only append.
        self._dead: list[Hashable] = []

    @property
    def use_caching(self) -> bool:
        """What the signal was made with; plans are cached either way."""
        # True for Django's own _live_receivers while a send hands it
        # receivers through the cache (see patches).
        handing = handed_over(self._plans, "use_caching")
        return self._use_caching or handing is not None

    @use_caching.setter
    def use_caching(self, value: bool) -> None:
        self._use_caching = value

    @property
    def sender_receivers_cache(self) -> Any:
        """The plans by sender, a dict; ``clear()`` drops them."""
        # Django's own _live_receivers, run by a tool's patch while a send
        # hands it receivers, reads them from here (see patches).
        pairs = handed_over(self._plans, "cache_attribute")
        return self._plans if pairs is None else _Handed(self._plans, pairs)

    @sender_receivers_cache.setter
    def sender_receivers_cache(self, plans: dict) -> None:
        self._plans = plans

    # --- connections -------------------------------------------------------

    @property
    def receivers(self) -> list[tuple]:
        """The live connections, oldest first."""
        with self.lock:
            self._purge_dead()
            return list(self._connections.values())

    @receivers.setter
    def receivers(self, entries: Iterable[tuple]) -> None:
        with self.lock:
            self._dead.clear()
            connections: dict[Hashable, Entry] = {}
            by_sender: dict[Hashable, dict[Hashable, Entry]] = {}
            for item in entries:
                entry = self._adopt(item)
                if entry is not None and entry.key not in connections:
                    entry.order = next(self._order)
                    connections[entry.key] = entry
                    by_sender.setdefault(entry.sender_id, {})[entry.key] = entry
            # Swapped in whole, never emptied first: send() reads them
            # without the lock, and a receiver assigned back must not miss
            # a send that runs meanwhile.
            self._by_sender = by_sender
            self._connections = connections
            self._method_senders = sum(
                isinstance(entry.sender_id, tuple) for entry in connections.values()
            )
            self._choose_cache()
            self._plans.clear()

    def connections(self) -> list[Connection]:
        """The live connections, oldest first, as read-only ``Connection`` records."""
        with self.lock:
            self._purge_dead()
            entries = list(self._connections.values())
        views = (entry.view() for entry in entries)
        return [view for view in views if view is not None]

    # --- bookkeeping -------------------------------------------------------

    def _entry(self, key: tuple, receiver: Any, sender: Any, weak: bool) -> Entry:
        def died(ref: Any) -> None:
            self._flag_dead(key)

        if weak:
            receiver_ref: Any = weak_reference(receiver, died)
            deref = receiver_ref
        else:
            receiver_ref = receiver
            deref = strong(receiver)
        sender_weakref: weakref.ref | None = None
        sender_ref: Callable[[], Any] | None = None
        if sender is not None and not hasattr(sender, "__func__"):
            try:
                sender_weakref = weakref.ref(sender, died)
                sender_ref = sender_weakref
            except TypeError:
                # Held strongly instead, so its id() cannot be reused while
                # the connection exists.
                sender_ref = strong(sender)
        return new_entry(
            self,
            key,
            receiver_ref,
            deref,
            sender_weakref,
            sender_ref,
            iscoroutinefunction(receiver),
        )

    def _adopt(self, item: tuple) -> Entry | None:
        """
        An entry of this signal for ``item``, assigned to ``receivers``; None
        when its receiver or sender is gone.

        Mostly ``item`` is our own, handed back by a tool that took it earlier.
        One of another signal of ours is made again, so that deaths are
        reported here. Anything else is read as Django reads its entries.
        """
        if isinstance(item, Entry) and item.owner is self:
            return item if item.alive() else None
        if isinstance(item, Entry) and (
            item.sender_ref is not None or item.sender_id == NONE_ID
        ):
            view = item.view()
            if view is None:
                return None
            entry = self._entry(item.key, view.receiver, view.sender, bool(item.weak))
            entry.weak = item.weak
            entry.dispatch_uid = item.dispatch_uid
            entry.connected_at = item.connected_at
            entry.delivery = item.delivery
            entry.condition = item.condition
            return entry
        return self._adopt_django_entry(item)

    def _adopt_django_entry(self, item: tuple) -> Entry | None:
        key, receiver_ref, *rest = item
        sender_weakref = rest[0] if len(rest) == 2 else None
        if sender_weakref is not None:
            sender = sender_weakref()
            if sender is None:
                return None
            weakref.finalize(sender, self._flag_dead, key)
        deref: Callable[[], Any]
        if isinstance(receiver_ref, weakref.ReferenceType):
            deref = receiver_ref
            target = receiver_ref()
            if target is None:
                return None
            # A bound method is a temporary; what must be watched is the
            # instance it is bound to.
            if isinstance(receiver_ref, weakref.WeakMethod):
                target = target.__self__
            weakref.finalize(target, self._flag_dead, key)
        else:
            deref = strong(receiver_ref)
        entry = new_entry(
            self, key, receiver_ref, deref, sender_weakref, sender_weakref, rest[-1]
        )
        entry.weak = deref is receiver_ref
        return entry if entry.alive() else None

    def _flag_dead(self, key: Hashable) -> None:
        self._dead.append(key)
        self._plans.clear()

    def _add(self, entry: Entry) -> None:
        # Caller holds the lock.
        entry.order = next(self._order)
        self._connections[entry.key] = entry
        self._by_sender.setdefault(entry.sender_id, {})[entry.key] = entry
        if isinstance(entry.sender_id, tuple):
            self._method_senders += 1
            self._choose_cache()

    def _remove(self, entry: Entry) -> None:
        # Caller holds the lock.
        del self._connections[entry.key]
        bucket = self._by_sender[entry.sender_id]
        del bucket[entry.key]
        if not bucket:
            del self._by_sender[entry.sender_id]
        if isinstance(entry.sender_id, tuple):
            self._method_senders -= 1
            self._choose_cache()

    def _choose_cache(self) -> None:
        # A bound-method sender is a new object at every access, and its
        # id() may be one another sender had, so while a connection names
        # such a sender no plan is kept at all.
        for_methods = self._method_senders > 0
        if for_methods is not isinstance(self._plans, _NoCache):
            self._plans = _NoCache() if for_methods else {}

    def _purge_dead(self) -> None:
        # Caller holds the lock.
        while self._dead:
            entry = self._connections.get(self._dead.pop())
            # The key may have been connected again since, to a live receiver.
            if entry is not None and not entry.alive():
                self._remove(entry)

    def _clear_dead_receivers(self) -> None:
        # Django's name for the purge; tools call it holding the lock, as
        # Django's own tests do. So does Django's connect() or disconnect()
        # run by a tool's patch on our signal: the connection of ours under
        # way is made (or undone) there.
        run_operation(self)
        self._purge_dead()

    def _remove_receiver(self, receiver: Any = None) -> None:
        # Django's weak reference callback, which its connect() sets up when
        # a tool's patch runs it on our signal: our own callbacks see deaths.
        pass

    def _plan(self, sender: Any) -> Plan:
        sender_id = make_id(sender)
        with self.lock:
            self._purge_dead()
            reached = self._reaching(sender, sender_id)
            now = [entry for entry in reached if entry.delivery is None]
            sync_refs = tuple(entry.deref for entry in now if not entry.is_async)
            gates = {id(e.deref): e.condition for e in reached if e.condition}
            plain = len(sync_refs) == len(reached) and not gates
            plan = (
                (
                    sync_refs if plain else None,
                    sync_refs,
                    tuple(entry.deref for entry in now if entry.is_async),
                    tuple((e.deref, e.delivery) for e in reached if e.delivery),
                    gates or None,
                )
                if reached
                else _EMPTY_PLAN
            )
            # A bound method's plan could not be found again by its id().
            if sender_id == id(sender):
                if len(self._plans) >= _MAX_CACHED_PLANS:
                    self._plans.clear()
                self._plans[sender_id] = plan
        return plan

    def _reaching(self, sender: Any, sender_id: Hashable) -> list[Entry]:
        # Caller holds the lock.
        for_any = self._by_sender.get(NONE_ID, {})
        if sender_id == NONE_ID:
            return list(for_any.values())
        for_this = [
            entry
            for entry in self._by_sender.get(sender_id, {}).values()
            if entry.reaches(sender)
        ]
        if not for_this:
            return list(for_any.values())
        if not for_any:
            return for_this
        return sorted([*for_any.values(), *for_this], key=_by_order)

    def _cached_plan(self, sender: Any) -> Plan:
        try:
            return self._plans[id(sender)]
        except KeyError:
            return self._plan(sender)

    def _live_receivers(self, sender: Any) -> tuple[list[Any], list[Any]]:
        # Django's name: the receivers a send from ``sender`` calls now. Also
        # what Django's own send methods call, when a tool's patch of them
        # runs them on our signal: they get what the send hands over.
        pairs = handed_over(self._plans, "receivers")
        if pairs is not None:
            return [r for r, is_async in pairs if not is_async], [
                r for r, is_async in pairs if is_async
            ]
        _, sync_refs, async_refs, _, _ = self._cached_plan(sender)
        return live(sync_refs), live(async_refs)


def _by_order(entry: Entry) -> int:
    return entry.order


def live(refs: Iterable[Callable[[], Any]]) -> list[Any]:
    """The receivers behind ``refs`` that are still alive, in order."""
    return [receiver for ref in refs if (receiver := ref()) is not None]
