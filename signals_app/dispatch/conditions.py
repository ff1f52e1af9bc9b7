"""
Conditions: ``connect(..., when=condition)`` calls a receiver only when it holds.

The dispatcher knows conditions only through ``Condition``. ``check()`` is
asked on every send that would reach the receiver. It answers None (do not
call it this time) or a mapping of keyword arguments for the call, often
empty: each adds an argument, or replaces the one sent under that name, for
this receiver only, so a condition can also narrow what its receiver gets.
``connected()`` hears of each connection made with the condition, so that it
can prepare what it will need (the change-aware conditions of
``signals_app.changes`` start watching the fields they name there).

Conditions compose with ``&``, ``|`` and ``~``, as sets: each condition
selects something of a send, and ``a & b``, ``a | b`` and ``~a`` select the
intersection, the union and the complement of what ``a`` and ``b`` select.

* A send that carries rows (a bulk write: ``signals_app.bulk``) is the set
  of its rows. A row-selecting condition answers ``select()`` with a
  ``Selection`` whose ``rows`` are the positions it keeps, and the receiver
  gets the arguments narrowed to the rows the whole expression keeps, in
  their original order; it is not called when none is left.
* Any other condition is plain: it selects all of a send or none of it. On
  a bulk write, a plain condition that holds selects every row, so
  ``RowFilter(f) & plain`` keeps the rows ``f`` keeps while ``plain``
  holds, and none otherwise, and ``~plain`` selects every row exactly when
  ``plain`` does not hold.

What a condition adds besides narrowing rows (an *extra*, such as the
``changes`` of ``signals_app.changes``) describes the send, not a row:

* ``a & b`` adds the extras of both; where both add the same name, ``b``'s
  value is the one kept.
* ``a | b`` adds the extras of each part that selects something; where both
  do and add the same name, ``a``'s value is kept. So an extra of ``a`` may
  be absent when only ``b`` held: a receiver of ``a | b`` reads it with a
  default.
* ``~a`` adds nothing: it selects what ``a`` rejected, about which ``a``
  said nothing.

A receiver with a condition is called in registration order among the
others. The conditions of the synchronous receivers a send reaches are all
asked before the first of them is called. A condition that raises fails
its receiver's call: ``send()`` and ``asend()`` let the error propagate, as
they do a receiver's; ``send_robust()`` and ``asend_robust()`` log it and
return it as that receiver's response, do not call (or schedule) the
receiver, and go on with the others. A sender's plan says whether any
receiver it reaches has a condition, and the compiled send takes a path of
its own for those (see ``callers``), so signals whose receivers have no
condition pay nothing for the feature.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

__all__ = [
    "SKIP",
    "All",
    "Any_",
    "Condition",
    "Failed",
    "Not",
    "Rows",
    "Selection",
    "admitted",
    "gate",
]

Extra = Mapping[str, Any]


class Rows(NamedTuple):
    """
    Some of the rows a send carries, by position: what a row-selecting
    condition keeps.
    """

    #: The positions kept, among ``range(total)``.
    kept: frozenset[int]
    #: How many rows the send carries.
    total: int
    #: ``narrow(named, positions)``: the arguments that replace those of
    #: ``named`` to carry only the rows at ``positions``.
    narrow: Callable[[Mapping[str, Any], list[int]], dict[str, Any]]

    def keeping(self, kept: frozenset[int]) -> "Rows":
        """The same send's rows, keeping ``kept``."""
        return self._replace(kept=kept)


class Selection(NamedTuple):
    """What a condition selects of one send (see the module docstring)."""

    #: The arguments it adds besides the rows.
    extra: Extra
    #: The rows it keeps; None for all of the send.
    rows: Rows | None = None


class Condition:
    """
    Base class of what ``when=`` takes; see the module docstring.

    A plain condition defines ``check()``; one that selects rows defines
    ``select()`` instead, and ``check()`` follows from it.
    """

    def check(self, sender: Any, named: dict[str, Any]) -> Extra | None:
        """None to skip the receiver for this send, else arguments to add or replace."""
        if type(self).select is Condition.select:
            raise NotImplementedError
        return _arguments(self.select(sender, named), named)

    def select(self, sender: Any, named: dict[str, Any]) -> Selection | None:
        """What this condition selects of the send; None for nothing."""
        extra = self.check(sender, named)
        return None if extra is None else Selection(extra)

    def connected(self, signal: Any, sender: Any) -> None:
        """A receiver was connected to ``signal`` for ``sender`` with this condition."""

    def __and__(self, other: "Condition") -> "Condition":
        return All(self, other)

    def __or__(self, other: "Condition") -> "Condition":
        return Any_(self, other)

    def __invert__(self) -> "Condition":
        return Not(self)


def _arguments(selection: Selection | None, named: Mapping[str, Any]) -> Extra | None:
    # What check() answers for a send of which ``selection`` is selected: the
    # extras, and the per-row arguments cut to the rows kept unless that is
    # all of them.
    if selection is not None:
        selection = _whole_or_none(selection.extra, selection.rows)
    if selection is None:
        return None
    if selection.rows is None:
        return selection.extra
    kept = sorted(selection.rows.kept)
    return {**selection.extra, **selection.rows.narrow(named, kept)}


def _whole_or_none(extra: Extra, rows: Rows | None) -> Selection | None:
    # Rows that are all of the send's are the whole send; none are nothing.
    if rows is None or len(rows.kept) == rows.total:
        return Selection(extra)
    return Selection(extra, rows) if rows.kept else None


class All(Condition):
    """Selects what every part selects; adds what each of them adds."""

    def __init__(self, *parts: Condition) -> None:
        self.parts = parts

    def select(self, sender: Any, named: dict[str, Any]) -> Selection | None:
        added: dict[str, Any] = {}
        rows: Rows | None = None
        for part in self.parts:
            selection = part.select(sender, named)
            if selection is None:
                return None
            added.update(selection.extra)
            if selection.rows is not None:
                rows = (
                    selection.rows
                    if rows is None
                    else rows.keeping(rows.kept & selection.rows.kept)
                )
                if not rows.kept:
                    return None
        return _whole_or_none(added, rows)

    def connected(self, signal: Any, sender: Any) -> None:
        for part in self.parts:
            part.connected(signal, sender)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


class Any_(Condition):
    """
    Selects what some part selects; adds what each part that selects
    something adds, the first of them winning where they clash.
    """

    def __init__(self, *parts: Condition) -> None:
        self.parts = parts

    def select(self, sender: Any, named: dict[str, Any]) -> Selection | None:
        added: dict[str, Any] = {}
        rows: Rows | None = None
        whole = False
        held = False
        for part in self.parts:
            selection = part.select(sender, named)
            if selection is None:
                continue
            held = True
            for name, value in selection.extra.items():
                added.setdefault(name, value)
            if selection.rows is None:
                whole = True
            elif rows is None:
                rows = selection.rows
            else:
                rows = rows.keeping(rows.kept | selection.rows.kept)
        if not held:
            return None
        return _whole_or_none(added, None if whole else rows)

    def connected(self, signal: Any, sender: Any) -> None:
        for part in self.parts:
            part.connected(signal, sender)

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


class Not(Condition):
    """Selects what its part does not; adds nothing."""

    def __init__(self, part: Condition) -> None:
        self.part = part

    def select(self, sender: Any, named: dict[str, Any]) -> Selection | None:
        selection = self.part.select(sender, named)
        if selection is None:
            return Selection({})
        rows = selection.rows
        if rows is None:
            return None
        return _whole_or_none(
            {}, rows.keeping(frozenset(range(rows.total)) - rows.kept)
        )

    def connected(self, signal: Any, sender: Any) -> None:
        self.part.connected(signal, sender)

    def __repr__(self) -> str:
        return f"~{self.part!r}"


#: What gate() answers for a receiver whose condition does not hold.
SKIP: Any = object()


class Failed:
    """
    What a robust send has in place of a receiver's added arguments when
    its condition raised: the error, which stands for the receiver's call.
    """

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        #: What the condition raised.
        self.error = error


def gate(
    gates: dict[int, Any] | None,
    ref: Any,
    sender: Any,
    named: dict[str, Any],
    robust: bool = False,
) -> Any:
    """
    What the condition of ``ref``'s receiver, if any, adds to its call for
    this send: None for nothing, or SKIP when the condition does not hold.
    With ``robust``, an ``Exception`` the condition raises comes back as
    ``Failed``.
    """
    condition = gates.get(id(ref)) if gates else None
    if condition is None:
        return None
    try:
        extra = condition.check(sender, named)
    except Exception as error:
        if not robust:
            raise
        return Failed(error)
    return SKIP if extra is None else extra


def admitted(
    refs: Iterable[Callable[[], Any]],
    gates: dict[int, Any] | None,
    sender: Any,
    named: dict[str, Any],
    robust: bool = False,
) -> list[tuple[Any, Any]]:
    """
    The live receivers of ``refs`` whose condition holds, with what it adds.

    With ``robust`` (``send_robust()``, ``asend_robust()``), a receiver
    whose condition raises an ``Exception`` is there with ``Failed`` in
    place of what it adds, and the other conditions are still asked.
    """
    calls = []
    for ref in refs:
        receiver = ref()
        if receiver is None:
            continue
        # gate()'s question, asked here without a call per receiver: this
        # runs on every send that reaches a receiver with a condition.
        condition = gates.get(id(ref)) if gates else None
        if condition is None:
            calls.append((receiver, None))
        else:
            try:
                extra = condition.check(sender, named)
            except Exception as error:
                if not robust:
                    raise
                extra = Failed(error)
            if extra is not None:
                calls.append((receiver, extra))
    return calls
