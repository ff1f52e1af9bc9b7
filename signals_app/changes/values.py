"""
What a change is: ``Change(old, new)``, the ``Changes`` of one instance, and
the two markers that stand in for a value nobody here knows.
"""

import copy
import datetime
import decimal
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

__all__ = [
    "DATABASE",
    "MUTABLE",
    "PLAIN",
    "UNKNOWN",
    "Change",
    "Changes",
    "Marker",
    "frozen",
    "mutable",
]


class Marker:
    """A value that is not known in this process; compare with ``is``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        # Pickled and copied markers stay the same object.
        return self.name

    def __copy__(self) -> "Marker":
        return self

    def __deepcopy__(self, memo: dict) -> "Marker":
        return self


#: The old value of a field that was never loaded (a deferred field assigned
#: without being read), or of an instance being created.
UNKNOWN = Marker("UNKNOWN")

#: A value the database computes: an ``F()`` or other expression that Django
#: has not read back.
DATABASE = Marker("DATABASE")


class Change(NamedTuple):
    """One field's change: the value it had, and the value it has now."""

    old: Any
    new: Any


class Changes(Mapping[str, Change]):
    """
    A read-only mapping of field name to ``Change``, in the model's field order.

    A foreign key is named as its field (``"author"``) and its values are
    those of its id column; its column name (``"author_id"``) reads the same
    entry. The values are copies where they could be edited in place, so the
    mapping says what it said when it was made, also when it is read later
    (``delivery="on_commit"``).
    """

    __slots__ = ("_aliases", "_items")

    def __init__(
        self, items: Mapping[str, Change] = {}, aliases: Mapping[str, str] = {}
    ) -> None:
        self._items = dict(items)
        self._aliases = {a: n for a, n in aliases.items() if n in self._items}

    def __getitem__(self, name: str) -> Change:
        try:
            return self._items[name]
        except KeyError:
            if name in self._aliases:
                return self._items[self._aliases[name]]
            raise

    @property
    def aliases(self) -> dict[str, str]:
        """Column names that read an entry under another name (``author_id``)."""
        return dict(self._aliases)

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: ({v.old!r} -> {v.new!r})" for k, v in self.items())
        return f"Changes({{{inner}}})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Changes, (self._items, self._aliases))


def frozen(value: Any) -> Any:
    """``value``, or a deep copy of it when it could be edited in place."""
    if mutable(value):
        return copy.deepcopy(value)
    return value


def mutable(value: Any) -> bool:
    """
    Whether ``value`` can change without being assigned: one of ``MUTABLE``
    or of a subclass of one (the dict a JSONField's own decoder makes).
    """
    kind = type(value)
    if kind in MUTABLE:
        return True
    # The exact types first: most values are one of them, and the
    # isinstance() test is the slow part.
    return kind not in PLAIN and isinstance(value, _MUTABLE)


#: Types of value that can change without being assigned (a JSONField's
#: document, an ArrayField's list): kept as a copy, compared by equality.
#: Their subclasses count too (``mutable()``).
MUTABLE = frozenset({dict, list, set, bytearray})
_MUTABLE = tuple(MUTABLE)

#: Types of value that are never expressions, compare with ``==`` and
#: cannot be edited in place: their exact types, not subclasses.
PLAIN = frozenset(
    {str, int, float, bool, type(None), decimal.Decimal, uuid.UUID}
    | {datetime.date, datetime.datetime, datetime.time, datetime.timedelta}
)
