"""
The allow-list: which receivers a worker in this process may run.

Built at connect time from the receivers connected with ``delivery="task"``,
by name (see ``naming``). A worker runs a payload's receiver only if its name
is here and the receiver is still connected for queued delivery: a payload
names a receiver, it never says where to import one from.
"""

import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ..dispatch.connections import Connection, describe, make_id
from .naming import queued_name

__all__ = ["UnknownReceiver", "allowed"]


class UnknownReceiver(LookupError):
    """A queued delivery for a receiver not connected with delivery="task" here."""


# Task backends record a failed task's exception by its dotted path: keep the
# public one in those records, whichever module defines the class.
UnknownReceiver.__module__ = "signals_app.delivery"


@dataclass(eq=False)
class _Allowed:
    name: str
    signal: weakref.ref
    # Returns the receiver, None once it is collected.
    deref: Callable[[], Any]
    receiver_id: Hashable
    # The queued names of this receiver of this signal under the text
    # dispatch_uids (and None) met so far: the worker matches each task's
    # connections by name, and an entry's signal and receiver never change.
    # Other uids are named afresh (_kept_by_name()).
    names_by_uid: dict[str | None, str] = field(default_factory=dict)

    def live(self) -> tuple[Any, Any] | None:
        signal, receiver = self.signal(), self.deref()
        if signal is None or receiver is None:
            return None
        return signal, receiver

    def name_under(self, signal: Any, receiver: Any, dispatch_uid: Hashable) -> str:
        if not _kept_by_name(dispatch_uid):
            return queued_name(signal, receiver, dispatch_uid)
        name = self.names_by_uid.get(dispatch_uid)
        if name is None:
            name = queued_name(signal, receiver, dispatch_uid)
            self.names_by_uid[dispatch_uid] = name
        return name


def _kept_by_name(dispatch_uid: Hashable) -> TypeGuard[str | None]:
    # The uids whose names an entry keeps: text and None. 1 and True are one
    # dict key but two names.
    return dispatch_uid is None or type(dispatch_uid) is str


class AllowList:
    """The receivers connected with ``delivery="task"`` in this process, by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, _Allowed] = {}
        # (id(signal), receiver id) -> entries; several when one receiver is
        # connected to one signal under several dispatch_uids.
        self._by_receiver: dict[tuple[int, Hashable], list[_Allowed]] = {}

    def add(
        self, signal: Any, receiver: Callable[..., Any], dispatch_uid: Hashable | None
    ) -> str:
        """
        Allow ``receiver`` of ``signal`` under its queued name, and return it.

        Raise ``ValueError`` if another receiver still connected for queued
        delivery goes by the same name, or if no module holds ``signal``.
        """
        name = queued_name(signal, receiver, dispatch_uid)
        receiver_id = make_id(receiver)
        entry = _Allowed(name, weakref.ref(signal), _reference(receiver), receiver_id)
        if _kept_by_name(dispatch_uid):
            # Known now, in the process that connects: a worker's forked
            # children find it there instead of naming it again, each task.
            entry.names_by_uid[dispatch_uid] = name
        with self._lock:
            self._purge()
            taken = self._by_name.get(name)
            live = taken.live() if taken is not None else None
            if live is not None:
                if live[0] is signal and make_id(live[1]) == receiver_id:
                    # The same receiver, connected for another sender.
                    return name
                if _connected_for_queueing(*live):
                    raise ValueError(
                        f"{describe(receiver)} would be known to workers as "
                        f"{name!r}, like {describe(live[1])}, already connected "
                        "with delivery='task'. Connect each with a distinct "
                        "dispatch_uid."
                    )
            if taken is not None:
                self._forget(taken)
            self._by_name[name] = entry
            self._by_receiver.setdefault((id(signal), receiver_id), []).append(entry)
        return name

    def name_of(self, signal: Any, receiver: Callable[..., Any]) -> str:
        """The name workers know a connected queued receiver by."""
        receiver_id = make_id(receiver)
        for entry in self._by_receiver.get((id(signal), receiver_id), ()):
            live = entry.live()
            if live and live[0] is signal and make_id(live[1]) == receiver_id:
                return entry.name
        # A connection copied from another signal by assigning ``receivers``:
        # no connect() told this list about it.
        return self.add(signal, receiver, None)

    def resolve(self, name: str) -> tuple[Any, Callable[..., Any]]:
        """
        The signal and the receiver ``name`` stands for; raise
        ``UnknownReceiver`` unless it is connected with delivery="task".
        """
        signal, receiver, _ = self.deliverable(name)
        return signal, receiver

    def connections(self, name: str) -> list[Connection]:
        """
        The connections with ``delivery="task"`` that ``name`` stands for,
        one for each sender the receiver was connected for; raise
        ``UnknownReceiver`` as ``resolve()`` does.
        """
        return self.deliverable(name)[2]

    def deliverable(
        self, name: str
    ) -> tuple[Any, Callable[..., Any], list[Connection]]:
        """
        ``resolve()`` and ``connections()`` together, as a worker needs them
        for each task: the signal, the receiver, and its connections under
        ``name``, read from the signal as it is connected now.
        """
        entry = self._by_name.get(name)
        live = entry.live() if entry is not None else None
        if entry is None or live is None:
            raise UnknownReceiver(
                f"no receiver named {name!r} was connected with delivery='task' "
                "in this process"
            )
        signal, receiver = live
        # One pass over the signal's connections, the cost a worker pays per
        # task: the receiver's queued connections, then those under ``name``
        # (another dispatch_uid is another name).
        queued = [
            conn
            for conn in signal.connections()
            if conn.delivery_name == "task"
            and make_id(conn.receiver) == entry.receiver_id
        ]
        if not queued:
            raise UnknownReceiver(
                f"{name!r} is no longer connected with delivery='task'"
            )
        named = [
            conn
            for conn in queued
            if entry.name_under(signal, receiver, conn.dispatch_uid) == name
        ]
        return signal, receiver, named

    def names(self) -> list[str]:
        """The names of the receivers connected for queued delivery, sorted."""
        with self._lock:
            entries = list(self._by_name.values())
        return sorted(
            entry.name
            for entry in entries
            if (live := entry.live()) is not None and _connected_for_queueing(*live)
        )

    def _forget(self, entry: _Allowed) -> None:
        # Caller holds the lock.
        del self._by_name[entry.name]
        for entries in self._by_receiver.values():
            if entry in entries:
                entries.remove(entry)

    def _purge(self) -> None:
        # Caller holds the lock. Entries go with their receiver or signal.
        live = {name: e for name, e in self._by_name.items() if e.live() is not None}
        if len(live) == len(self._by_name):
            return
        by_receiver: dict[tuple[int, Hashable], list[_Allowed]] = {}
        for entry in live.values():
            key = (id(entry.signal()), entry.receiver_id)
            by_receiver.setdefault(key, []).append(entry)
        self._by_name, self._by_receiver = live, by_receiver


def _connected_for_queueing(signal: Any, receiver: Any) -> bool:
    receiver_id = make_id(receiver)
    return any(
        conn.delivery_name == "task" and make_id(conn.receiver) == receiver_id
        for conn in signal.connections()
    )


def _reference(receiver: Any) -> Callable[[], Any]:
    # Weak where possible, so that the list never keeps a receiver alive; a
    # receiver that cannot be weakly referenced is connected with weak=False,
    # so the signal keeps it anyway.
    try:
        if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
            return weakref.WeakMethod(receiver)
        return weakref.ref(receiver)
    except TypeError:
        return lambda: receiver


#: The allow-list of this process.
allowed = AllowList()
