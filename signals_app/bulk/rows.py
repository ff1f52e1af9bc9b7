"""
Reading a bulk signal's rows, asking for old values, and selecting rows.

A bulk signal carries its rows column by column (``pks``, ``values``,
``old_values``: lists and dicts, so a queued receiver gets them as they are).
``rows()`` turns them into one ``Row`` per key. ``narrow()`` keeps some of
them, in every argument that has one item per row.

The contract with conditions (``connect(..., when=...)``):

* By default a bulk signal carries the keys alone (``values`` and
  ``old_values`` are None): that is all an ``UPDATE ... RETURNING`` of the
  key costs. A condition asks for more with its ``bulk_asks`` attribute, a
  set of argument names, on itself or on a part of an ``&``, ``|`` or ``~``:
  ``"values"`` (what was written, read back by ``RETURNING``) and
  ``"old_values"`` (read first, under a row lock where the database has
  one). ``NewValues()`` and ``OldValues()`` are the conditions that ask and
  do nothing else; whatever one receiver asks for, every receiver of that
  write gets.
* A condition selects rows by answering ``select()`` with a ``Selection``
  whose rows are ``kept_rows(named, positions)``; ``RowFilter`` does that
  for a predicate on ``Row``, ``ChangedRows`` for a change. So they compose
  with ``&``, ``|`` and ``~`` as sets of rows, with each other and with
  plain conditions (``signals_app.dispatch.conditions`` says how), and the
  receiver gets the arguments cut down by ``narrow()`` to the rows kept.
"""

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ..dispatch.conditions import Condition, Rows, Selection

__all__ = [
    "NEW_VALUES",
    "OLD_VALUES",
    "NewValues",
    "OldValues",
    "Row",
    "RowFilter",
    "asks",
    "kept_rows",
    "narrow",
    "rows",
]

#: What ``NewValues()`` asks for: the values written.
NEW_VALUES: frozenset[str] = frozenset({"values"})
#: What ``OldValues()`` asks for: the values before the write, and after.
OLD_VALUES: frozenset[str] = frozenset({"values", "old_values"})

# Arguments with one item per row, in the order of ``pks``.
_PER_ROW = ("pks", "objs", "created")
_PER_ROW_COLUMNS = ("values", "old_values")


class Row(NamedTuple):
    """One row of a bulk write."""

    pk: Any
    #: ``{attname: value}`` written; empty when the signal has no values.
    values: dict[str, Any]
    #: ``{attname: value}`` before the write; None when not read.
    old: dict[str, Any] | None


def rows(named: Mapping[str, Any]) -> list[Row]:
    """The rows of a bulk signal's arguments (a receiver's ``kwargs``)."""
    pks = named.get("pks") or []
    values = named.get("values") or {}
    old = named.get("old_values")
    return [
        Row(
            pk,
            {name: column[index] for name, column in values.items()},
            None if old is None else {name: col[index] for name, col in old.items()},
        )
        for index, pk in enumerate(pks)
    ]


def narrow(named: Mapping[str, Any], kept: Iterable[int]) -> dict[str, Any]:
    """
    The arguments that replace those of ``named`` to keep only the rows at
    the positions ``kept`` (in ``pks`` order): what a row-selecting
    condition's ``check()`` returns.
    """
    kept = list(kept)
    replaced: dict[str, Any] = {}
    for name in _PER_ROW:
        items = named.get(name)
        if items is not None:
            replaced[name] = [items[index] for index in kept]
    for name in _PER_ROW_COLUMNS:
        columns = named.get(name)
        if columns is not None:
            replaced[name] = {
                field: [column[index] for index in kept]
                for field, column in columns.items()
            }
    return replaced


def kept_rows(named: Mapping[str, Any], kept: Iterable[int]) -> Rows:
    """
    The rows at the positions ``kept`` (in ``pks`` order) of a bulk signal's
    arguments ``named``: what a row-selecting condition's ``select()`` keeps.
    """
    return Rows(frozenset(kept), len(named["pks"]), narrow)


def asks(condition: Any) -> frozenset[str]:
    """The bulk arguments ``condition``, or a part of it, asks for."""
    if condition is None:
        return frozenset()
    found = frozenset(getattr(condition, "bulk_asks", ()))
    parts = getattr(condition, "parts", None)
    if parts is None and hasattr(condition, "part"):
        parts = (condition.part,)
    for part in parts or ():
        found |= asks(part)
    return found


class NewValues(Condition):
    """
    ``when=NewValues()``: the receiver gets ``values``, what was written.

    Always holds. Combine it with other conditions with ``&``.
    """

    bulk_asks = NEW_VALUES

    def check(self, sender: Any, named: dict[str, Any]) -> Mapping[str, Any] | None:
        return {}

    def __repr__(self) -> str:
        return "NewValues()"


class OldValues(Condition):
    """
    ``when=OldValues()``: the receiver gets ``old_values`` (and ``values``).

    Always holds. Combine it with other conditions with ``&``.
    """

    bulk_asks = OLD_VALUES

    def check(self, sender: Any, named: dict[str, Any]) -> Mapping[str, Any] | None:
        return {}

    def __repr__(self) -> str:
        return "OldValues()"


class RowFilter(Condition):
    """
    A condition keeping the rows of a bulk write for which ``keep(row)``
    holds; the receiver is not called when none does.

    Subclass it and define ``keep()``, or pass a predicate. Sends that are not
    bulk writes (no ``pks``) pass through unchanged. Old values are read for
    it unless ``old=False``.
    """

    def __init__(self, keep: Any = None, *, old: bool = True) -> None:
        if keep is not None:
            self.keep = keep  # type: ignore[method-assign]
        self.bulk_asks = OLD_VALUES if old else NEW_VALUES

    def keep(self, row: Row) -> bool:
        """Whether to keep ``row``."""
        raise NotImplementedError

    def select(self, sender: Any, named: dict[str, Any]) -> Selection | None:
        """The rows ``keep()`` keeps; all of a send that is not a bulk write."""
        if named.get("pks") is None:
            return Selection({})
        kept = [index for index, row in enumerate(rows(named)) if self.keep(row)]
        return Selection({}, kept_rows(named, kept))

    def __repr__(self) -> str:
        return f"RowFilter({getattr(self.keep, '__qualname__', self.keep)!r})"
