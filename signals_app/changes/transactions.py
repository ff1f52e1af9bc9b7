"""
What a save made in a transaction did, decided when the transaction ends.

A save inside ``atomic()`` moves the instance's baseline at once (a
``post_save`` receiver, or the next save, sees only what changed since),
but the row keeps its old values if the transaction, or a savepoint the
save ran in, rolls back. So each such save leaves an ``Unconfirmed``
record: the baseline values to give back on a rollback.

The record learns its fate through one ``on_commit()``
callback of its own, and nothing else: Django calls the callback when the
outermost transaction commits, and drops it, unrun, when the transaction or
a savepoint that was open at registration rolls back. Nothing but Django's
list holds the callback (a plain function, in no reference cycle), so once
dropped it is gone at once, and the record's weak reference to it dies:

- called: committed; the record is dropped;
- its weak reference dead, never called: rolled back; the values return;
- neither: its transaction is still open, or has committed and Django is
  still running the callbacks registered before it (a save made from one of
  those sees the committed baseline, as it should).

Per instance and database, records are kept in the order of the saves. A
rollback drops every callback registered since its savepoint opened, and a
commit runs them in order, so the records rolled back are always the
newest and those committed the oldest: settling looks only at both ends,
and costs nothing per save still open. Nothing here reads Django's
transaction state.
"""

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from django.db import connections

__all__ = ["Unconfirmed", "connection", "remember", "settle"]


class Unconfirmed:
    """The baseline values a save replaced, until its transaction ends."""

    __slots__ = ("callback", "confirmed", "restore")

    def __init__(self, restore: dict[str, Any]) -> None:
        #: attname -> the value the field had before the save.
        self.restore = restore
        #: Set by the on_commit callback: the save is in the database.
        self.confirmed = False
        #: A weak reference to that callback (set by ``remember()``).
        self.callback: Callable[[], Any] = _gone

    def rolled_back(self) -> bool:
        """Whether Django dropped the callback without calling it."""
        return not self.confirmed and self.callback() is None


def _gone() -> None:
    return None


def connection(using: str) -> Any:
    """
    ``connections[using]``: the same object, found in a fifth of the time.

    Every save that moves a baseline asks whether it ran in a transaction,
    and the public lookup is the largest cost such a save adds: asgiref's
    ``Local`` learns that no event loop runs by catching the exception
    ``asyncio.get_running_loop()`` raises. In such a thread it reads a
    ``threading.local``, so this reads that same storage directly, and
    takes the public lookup whenever anything differs: an event loop
    running (the storage is then per context), a storage of another kind,
    or no connection made yet in this thread.
    """
    if asyncio._get_running_loop() is None:
        try:
            storage = connections._connections._storage
            if type(storage) is threading.local:
                return getattr(storage, using)
        except AttributeError:
            pass
    return connections[using]


def remember(
    unconfirmed: dict[str, deque[Unconfirmed]],
    connection: Any,
    using: str,
    restore: dict[str, Any],
) -> None:
    """
    Keep ``restore`` in ``unconfirmed`` (records by database alias) until the
    transaction now open on ``connection`` (of alias ``using``) commits or
    rolls back.
    """
    record = Unconfirmed(restore)

    # A closure rather than a bound method of the record: the record must
    # not hold it strongly, or it would outlive Django's list.
    def confirm() -> None:
        record.confirmed = True

    record.callback = weakref.ref(confirm)
    # What transaction.on_commit() does, on the connection the caller
    # already looked up (a lookup costs as much as the rest of this).
    connection.on_commit(confirm)
    records = unconfirmed.get(using)
    if records is None:
        records = unconfirmed[using] = deque()
    records.append(record)


def settle(unconfirmed: dict[str, deque[Unconfirmed]], old: dict[str, Any]) -> None:
    """
    Drop the records whose transaction committed, and give the baseline
    values of those rolled back back to ``old`` (the oldest save's win).
    """
    for using in list(unconfirmed):
        records = unconfirmed[using]
        while records and records[0].confirmed:
            records.popleft()
        while records and records[-1].rolled_back():
            old.update(records.pop().restore)
        if not records:
            del unconfirmed[using]
