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

Conditions compose with ``&``, ``|`` and ``~``. A receiver with a condition
is called in registration order among the others; a send that reaches one
takes the dispatcher's general path instead of its inlined loop, so signals
whose receivers have no condition pay nothing for the feature.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["SKIP", "All", "Any_", "Condition", "Not", "admitted", "gate"]

Extra = Mapping[str, Any]


class Condition:
    """Base class of what ``when=`` takes; see the module docstring."""

    def check(self, sender: Any, named: dict[str, Any]) -> Extra | None:
        """None to skip the receiver for this send, else arguments to add or replace."""
        raise NotImplementedError

    def connected(self, signal: Any, sender: Any) -> None:
        """A receiver was connected to ``signal`` for ``sender`` with this condition."""

    def __and__(self, other: "Condition") -> "Condition":
        return All(self, other)

    def __or__(self, other: "Condition") -> "Condition":
        return Any_(self, other)

    def __invert__(self) -> "Condition":
        return Not(self)


class All(Condition):
    """Holds when every part holds; adds what each of them adds."""

    def __init__(self, *parts: Condition) -> None:
        self.parts = parts

    def check(self, sender: Any, named: dict[str, Any]) -> Extra | None:
        added: dict[str, Any] = {}
        for part in self.parts:
            extra = part.check(sender, named)
            if extra is None:
                return None
            added.update(extra)
        return added

    def connected(self, signal: Any, sender: Any) -> None:
        for part in self.parts:
            part.connected(signal, sender)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


class Any_(Condition):
    """Holds when some part holds; adds what the first that holds adds."""

    def __init__(self, *parts: Condition) -> None:
        self.parts = parts

    def check(self, sender: Any, named: dict[str, Any]) -> Extra | None:
        for part in self.parts:
            extra = part.check(sender, named)
            if extra is not None:
                return extra
        return None

    def connected(self, signal: Any, sender: Any) -> None:
        for part in self.parts:
            part.connected(signal, sender)

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


class Not(Condition):
    """Holds when its part does not; adds nothing."""

    def __init__(self, part: Condition) -> None:
        self.part = part

    def check(self, sender: Any, named: dict[str, Any]) -> Extra | None:
        return {} if self.part.check(sender, named) is None else None

    def connected(self, signal: Any, sender: Any) -> None:
        self.part.connected(signal, sender)

    def __repr__(self) -> str:
        return f"~{self.part!r}"


#: What gate() answers for a receiver whose condition does not hold.
SKIP: Any = object()


def gate(
    gates: dict[int, Any] | None, ref: Any, sender: Any, named: dict[str, Any]
) -> Any:
    """
    What the condition of ``ref``'s receiver, if any, adds to its call for
    this send: None for nothing, or SKIP when the condition does not hold.
    """
    condition = gates.get(id(ref)) if gates else None
    if condition is None:
        return None
    extra = condition.check(sender, named)
    return SKIP if extra is None else extra


def admitted(
    refs: Iterable[Callable[[], Any]],
    gates: dict[int, Any] | None,
    sender: Any,
    named: dict[str, Any],
) -> list[tuple[Any, Any]]:
    """The live receivers of ``refs`` whose condition holds, with what it adds."""
    calls = []
    for ref in refs:
        receiver = ref()
        if receiver is None:
            continue
        extra = gate(gates, ref, sender, named)
        if extra is not SKIP:
            calls.append((receiver, extra))
    return calls
