"""
The change conditions: ``Changed``, ``Created``, ``Updated``, ``WithChanges``.

Each is a ``signals_app.dispatch.conditions.Condition`` for ``pre_save`` and
``post_save`` of a model (a model class or a lazy ``"app_label.Model"``
sender; a lazy one starts watching once its model is registered). The
receiver gets ``changes``: a ``Changes`` mapping of the fields its condition
names (every watched field for ``Changed()`` and ``WithChanges()``); for
``Created()`` and ``Updated()`` alone, an empty one. Combined with ``&``,
``|`` and ``~``, change conditions give the receiver the changes of all the
fields they name together.

What a ``pre_save`` receiver gets is what is about to be written; what a
``post_save`` receiver gets is what this save wrote (a field assigned an
``F()`` reads the value Django read back, else ``DATABASE``). Saves with
``raw=True`` (``loaddata``) never meet the conditions: fixture rows are
not changes anyone made, and a deserialized instance has no baseline.
"""

from typing import Any

from django.db.models import Model

from ..dispatch.conditions import All, Any_, Condition
from ..signals import post_save, pre_save
from .state import IDLE, STATE
from .tracking import ALL, _freeze, as_changes, diff, saved, track
from .values import Change

__all__ = ["ANY", "ChangeCondition", "Changed", "Created", "Updated", "WithChanges"]


class _Any:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


#: What ``Changed(from_=..., to=...)`` leave unset: any value.
ANY: Any = _Any()


class ChangeCondition(Condition):
    """
    Base of the change conditions.

    ``fields`` names the fields watched (an empty tuple for none, None for
    all). Subclasses say whether they hold in ``holds()``.
    """

    fields: tuple[str, ...] | None = ()
    # model -> attnames() for it, set by _watch() when first connected.
    _watched: dict[Any, frozenset[str] | None]
    # Whether check() asks the public attnames() and holds(): true for every
    # subclass but ours (see _Ours), which may override either.
    _asks_public = False
    # Whether it holds for any change of a field it names, which check()
    # then learns from the changes it hands out, without asking _holds().
    _any_change = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._asks_public = cls.__module__ != __name__

    def connected(self, signal: Any, sender: Any) -> None:
        """Start watching this condition's fields of the model ``sender``."""
        if signal is not pre_save and signal is not post_save:
            raise ValueError(f"{self!r} is a condition of pre_save and post_save.")
        if not (isinstance(sender, type) and issubclass(sender, Model)):
            raise ValueError(
                f"{self!r} needs a model sender (a model class or "
                f"'app_label.Model'), not {sender!r}."
            )
        self._watch(sender)

    def _watch(self, model: type[Model]) -> None:
        # model -> what attnames() answers for it, looked up by check() on
        # every send without a call.
        watched = self.__dict__.setdefault("_watched", {})
        if self.fields == ():
            watched[model] = frozenset()
        elif self.fields is None:
            track(model, ALL)
            watched[model] = None
        else:
            watched[model] = track(model, self.fields)

    def attnames(self, sender: Any) -> frozenset[str] | None:
        """The attnames this condition watches on ``sender`` (None: all)."""
        try:
            return self.__dict__["_watched"][sender]
        except KeyError:
            # Checked for a sender it was not connected for: watch it now,
            # so its names resolve.
            self._watch(sender)
            return self.__dict__["_watched"][sender]

    def holds(
        self, sender: Any, named: dict[str, Any], found: dict[str, Change]
    ) -> bool:
        """Whether the condition holds for a send whose changes are ``found``."""
        raise NotImplementedError

    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        # What check() asks ours, with the attnames it has looked up
        # already, saving every send a second lookup (see _Ours).
        raise NotImplementedError

    def check(self, sender: Any, named: dict[str, Any]) -> dict[str, Any] | None:
        """None unless it holds; else ``{"changes": Changes(...)}``."""
        if named.get("raw"):
            return None
        instance = named["instance"]
        found: Any
        if "created" in named:
            state = instance.__dict__.get(STATE)
            found = IDLE if state is None else state.post
            if found is None:
                # saved()'s answer inside the save, without the call: the
                # common case, a post_save receiver's.
                _freeze(instance, state)
                found = state.post
            elif found is IDLE:
                found = saved(instance, named.get("update_fields"), named["created"])
        else:
            found = diff(instance, named.get("update_fields"), instance._state.adding)
        if self._asks_public:
            attnames = self.attnames(sender)
            held = self.holds(sender, named, found)
        else:
            try:
                attnames = self._watched[sender]
            except (AttributeError, KeyError):
                attnames = self.attnames(sender)
            if self._any_change:
                # It holds exactly when what it hands out is not empty.
                changes = as_changes(sender, found, attnames)
                # Its items, not len(): Mapping's __len__ is a Python call.
                return {"changes": changes} if changes._items else None
            held = self._holds(sender, named, found, attnames)
        if not held:
            return None
        return {"changes": as_changes(sender, found, attnames)}

    def __and__(self, other: Condition) -> Condition:
        if isinstance(other, ChangeCondition):
            return _Both(self, other)
        return All(self, other)

    def __or__(self, other: Condition) -> Condition:
        if isinstance(other, ChangeCondition):
            return _Either(self, other)
        return Any_(self, other)

    def __invert__(self) -> Condition:
        return _Neither(self)


class _Ours(ChangeCondition):
    # The conditions of this module: they answer in _holds(), and holds()
    # asks it. A subclass of someone else's may override holds() or
    # attnames() (calling ours through super()): check() asks it through
    # them (_asks_public), as it asks every other subclass.

    def holds(
        self, sender: Any, named: dict[str, Any], found: dict[str, Change]
    ) -> bool:
        return self._holds(sender, named, found, self.attnames(sender))


class Changed(_Ours):
    """
    Holds when one of ``fields`` changed (any watched field, given none),
    from ``from_`` and to ``to`` where given::

        Changed("status", to="published")
        Changed("status", from_="draft", to="published")
        Changed("title", "body")

    Values compare with ``==``. An old value that is ``UNKNOWN`` (never
    loaded, or an instance being created) meets ``to=`` but never
    ``from_=``; a new value the database computes (``DATABASE``) meets
    neither.
    """

    def __init__(self, *fields: str, from_: Any = ANY, to: Any = ANY) -> None:
        for name in fields:
            if not isinstance(name, str):
                raise TypeError(f"Changed() takes field names, not {name!r}.")
        #: The field names given; None for every field.
        self.fields = fields or None
        self._given(from_, to)

    # from_ and to are kept together with what check() needs to know of
    # them, so that assigning either after the condition is made (a
    # subclass may, before or after calling this __init__) keeps both true.
    _values: tuple[Any, Any] = (ANY, ANY)

    def _given(self, from_: Any, to: Any) -> None:
        self._values = (from_, to)
        self._any_change = from_ is ANY and to is ANY

    @property
    def from_(self) -> Any:
        """The value a field must change from, or ``ANY``."""
        return self._values[0]

    @from_.setter
    def from_(self, value: Any) -> None:
        self._given(value, self._values[1])

    @property
    def to(self) -> Any:
        """The value a field must change to, or ``ANY``."""
        return self._values[1]

    @to.setter
    def to(self, value: Any) -> None:
        self._given(self._values[0], value)

    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        # Through the attributes, which a subclass may have made its own.
        from_, to = self.from_, self.to
        if from_ is ANY and to is ANY:
            # Any change of a field named will do: no value to compare.
            return bool(found) if attnames is None else not attnames.isdisjoint(found)
        for attname, change in found.items():
            if attnames is not None and attname not in attnames:
                continue
            if from_ is not ANY and not _equal(change.old, from_):
                continue
            if to is not ANY and not _equal(change.new, to):
                continue
            return True
        return False

    def __repr__(self) -> str:
        parts = [repr(name) for name in self.fields or ()]
        if self.from_ is not ANY:
            parts.append(f"from_={self.from_!r}")
        if self.to is not ANY:
            parts.append(f"to={self.to!r}")
        return f"Changed({', '.join(parts)})"


def _equal(value: Any, wanted: Any) -> bool:
    try:
        return bool(value == wanted)
    except Exception:
        return False


class WithChanges(_Ours):
    """Always holds; the receiver gets the changes of every watched field."""

    fields = None

    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        return True

    def __repr__(self) -> str:
        return "WithChanges()"


class Created(_Ours):
    """Holds for the save that inserts the row (``created`` in ``post_save``)."""

    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        return _creating(named)

    def __repr__(self) -> str:
        return "Created()"


class Updated(_Ours):
    """Holds for a save of a row that already existed."""

    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        return not _creating(named)

    def __repr__(self) -> str:
        return "Updated()"


def _creating(named: dict[str, Any]) -> bool:
    if "created" in named:
        return bool(named["created"])
    return bool(named["instance"]._state.adding)


class _Composite(_Ours):
    # Change conditions combined: one look at the changes, and the changes
    # of every field the parts name.
    parts: tuple[ChangeCondition, ...]

    def __init__(self, *parts: ChangeCondition) -> None:
        self.parts = parts
        names: set[str] = set()
        for part in parts:
            if part.fields is None:
                self.fields = None
                break
            names.update(part.fields)
        else:
            self.fields = tuple(sorted(names))

    def connected(self, signal: Any, sender: Any) -> None:
        for part in self.parts:
            part.connected(signal, sender)
        super().connected(signal, sender)


class _Both(_Composite):
    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        return all(part.holds(sender, named, found) for part in self.parts)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


class _Either(_Composite):
    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        return any(part.holds(sender, named, found) for part in self.parts)

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


class _Neither(_Composite):
    def _holds(
        self,
        sender: Any,
        named: dict[str, Any],
        found: dict[str, Change],
        attnames: frozenset[str] | None,
    ) -> bool:
        return not self.parts[0].holds(sender, named, found)

    def __repr__(self) -> str:
        return f"~{self.parts[0]!r}"
