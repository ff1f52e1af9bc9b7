"""
What change tracking keeps on one instance, made on its first write.

It lives in ``instance.__dict__`` under ``STATE``, so it goes wherever the
instance's values go: copies and pickles carry the baseline (``old``),
never the saves in progress or the transactions of this process.
"""

import copy
from collections import deque
from typing import Any

from .transactions import Unconfirmed

__all__ = ["STATE", "Frame", "State", "state_of"]

#: The key of an instance's ``State`` in its ``__dict__``.
STATE = "_signals_app_changes"


class Frame:
    """
    One save in progress of an instance (see ``tracking``).

    Made by ``tracking`` without a call (``object.__new__`` and its three
    attributes set): one is made for every save of a watched model, and a
    call to a constructor costs about as much as the rest of that.
    """

    __slots__ = ("adding", "attnames", "post")

    #: Whether the save inserts the row.
    adding: bool
    #: The attnames it writes (None: all).
    attnames: frozenset[str] | None
    #: What it wrote, by attname, once the baseline has moved.
    post: dict[str, Any] | None


class State:
    """The baseline of one instance, its saves in progress and unconfirmed."""

    __slots__ = ("frames", "old", "unconfirmed")

    def __init__(self) -> None:
        #: attname -> the value at the baseline, for each field written since.
        self.old: dict[str, Any] = {}
        #: The saves of the instance in progress, innermost last.
        self.frames: list[Frame] = []
        #: Saves in transactions not yet ended, by database alias; None
        #: until the first (most instances never save inside ``atomic()``).
        self.unconfirmed: dict[str, deque[Unconfirmed]] | None = None

    def __deepcopy__(self, memo: dict) -> "State":
        twin = State()
        twin.old = copy.deepcopy(self.old, memo)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        # Only the baseline travels: frames and transactions are this
        # process's.
        return {"old": self.old}

    def __setstate__(self, data: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self.old = data["old"]

    def twin(self) -> "State":
        """A state of its own for a copy of the instance: the same baseline."""
        twin = State()
        twin.old = dict(self.old)
        return twin


def state_of(d: dict[str, Any]) -> State:
    """The ``State`` in the instance ``__dict__`` ``d``, made if missing."""
    state = d.get(STATE)
    if state is None:
        state = d[STATE] = State()
    return state
