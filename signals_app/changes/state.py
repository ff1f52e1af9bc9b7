"""
What change tracking keeps on one instance, made on its first write.

It lives in ``instance.__dict__`` under ``STATE``, so it goes wherever the
instance's values go: copies and pickles carry the baseline (``old``),
never the save in progress or the transactions of this process.
"""

import copy
from collections import deque
from typing import Any

from .transactions import Unconfirmed
from .values import Marker

__all__ = ["IDLE", "STATE", "State", "state_of"]

#: The key of an instance's ``State`` in its ``__dict__``.
STATE = "_signals_app_changes"

#: ``State.post`` while no save of the instance is in progress.
IDLE = Marker("IDLE")


class State:
    """
    The baseline of one instance, the save of it in progress, and its
    saves not yet confirmed.

    A save in progress lives here rather than in an object of its own
    (``tracking`` makes one for every save of a watched model): a save
    made inside it, by a ``post_save`` receiver, keeps the outer save's
    ``adding``, ``attnames`` and ``post`` in its wrapper until it ends.
    """

    __slots__ = ("adding", "attnames", "old", "post", "unconfirmed")

    #: Whether the save in progress inserts the row.
    adding: bool
    #: The attnames the save in progress writes (None: all).
    attnames: frozenset[str] | None

    def __init__(self) -> None:
        #: attname -> the value at the baseline, for each field written since.
        self.old: dict[str, Any] = {}
        #: What the save in progress wrote, by attname, once the baseline
        #: has moved; None before; ``IDLE`` when no save is in progress.
        self.post: Any = IDLE
        #: Saves in transactions not yet ended, by database alias; None
        #: until the first (most instances never save inside ``atomic()``).
        self.unconfirmed: dict[str, deque[Unconfirmed]] | None = None

    def __deepcopy__(self, memo: dict) -> "State":
        twin = State()
        twin.old = copy.deepcopy(self.old, memo)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        # Only the baseline travels: the save in progress and the
        # transactions are this process's.
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
