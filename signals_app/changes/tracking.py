"""
Watching fields of a model: copy on write, only on the classes and fields watched.

``track(model, fields)`` installs, on that model class only, a data
descriptor for each watched field and wrappers around ``save_base()``,
``refresh_from_db()`` and ``__getstate__()`` (so a copy gets a baseline of
its own). Nothing runs at load beyond the descriptor's store of
each watched value; an instance that nobody writes to has no state at all.

Per instance, in ``instance.__dict__`` under ``_STATE``, a ``_State`` holds
``old``: for each watched field written since the *baseline* (load, last
save, refresh), the value it had then (``UNKNOWN`` for a field never
loaded). A value that could be edited in place (a dict or list) is copied
the first time it is read, so in-place edits show when it is compared;
reads inside a save do not copy (a value nobody read cannot have been
edited). Changes are the watched fields whose ``old`` differs from what
the instance holds now.

A save is a *frame*: the baseline moves to what was written once the write
is done, at the first of: a change condition asking during ``post_save``,
a save of the same instance starting inside it, or the end of the save. So
a save made by a ``post_save`` receiver sees only what changed since. In a
transaction, the old baseline is kept until it commits; if it rolls back
(savepoints included), the instance gets it back, so what did not persist
still counts as changed.
"""

import copy
import datetime
import decimal
import difflib
import threading
import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.db import connections, transaction
from django.db.models import Model

from .values import DATABASE, MUTABLE, UNKNOWN, Change, Changes, frozen

__all__ = [
    "ALL",
    "as_changes",
    "changes_of",
    "diff",
    "saved",
    "track",
    "tracked_fields",
]

_STATE = "_signals_app_changes"
_TRACKED = "_signals_app_tracked"
_WRAPPED = "_signals_app_wrapped"
_NAMES = "_signals_app_names"
_BY_NAME = "_signals_app_by_name"

#: Watch every concrete field but the primary key.
ALL: Any = None

_lock = threading.Lock()


class _Fetching(threading.local):
    # How deep this thread is in Django's fetch of a deferred field.
    depth = 0


_fetching = _Fetching()


class _Frame:
    __slots__ = ("adding", "attnames", "post")

    def __init__(self, adding: bool, attnames: frozenset[str] | None) -> None:
        self.adding = adding
        self.attnames = attnames
        self.post: dict[str, Change] | None = None


class _Unconfirmed:
    # A baseline moved by a save inside a transaction: the values to restore
    # if the transaction does not commit.
    __slots__ = ("confirmed", "hook", "restore", "using")

    def __init__(self, using: str, restore: dict[str, Any]) -> None:
        self.using = using
        self.restore = restore
        self.confirmed = False
        self.hook = self._confirm

    def _confirm(self) -> None:
        self.confirmed = True

    def discarded(self) -> bool:
        # Django drops the callbacks of a transaction or savepoint that rolls
        # back from run_on_commit; one still listed may yet commit.
        if self.confirmed:
            return False
        pending = connections[self.using].run_on_commit
        return not any(entry[1] is self.hook for entry in pending)


class _State:
    __slots__ = ("frames", "old", "unconfirmed")

    def __init__(self) -> None:
        self.old: dict[str, Any] = {}
        self.frames: list[_Frame] = []
        self.unconfirmed: list[_Unconfirmed] = []

    def __deepcopy__(self, memo: dict) -> "_State":
        twin = _State()
        twin.old = copy.deepcopy(self.old, memo)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        # Only the baseline travels: frames and transactions are this
        # process's.
        return {"old": self.old}

    def __setstate__(self, data: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self.old = data["old"]


def _state(d: dict[str, Any]) -> _State:
    state = d.get(_STATE)
    if state is None:
        state = d[_STATE] = _State()
    return state


class _Watched:
    """The descriptor of a watched field: remembers the old value on first write."""

    __slots__ = ("attname", "inner", "inner_set")

    def __init__(self, attname: str, inner: Any) -> None:
        self.attname = attname
        self.inner = inner
        # ForeignKeyDeferredAttribute clears the cached related object on
        # assignment; that must keep happening.
        self.inner_set = getattr(type(inner), "__set__", None)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            # Class access gives Django's descriptor (``Model.field.field``).
            return self.inner.__get__(None, owner)
        d = instance.__dict__
        try:
            value = d[self.attname]
        except KeyError:
            # Django fetches the field, and with FETCH_PEERS (Django 6.1)
            # the same field of the instance's peers, by assigning it: these
            # are loads, not writes.
            _fetching.depth += 1
            try:
                return self.inner.__get__(instance, owner)
            finally:
                _fetching.depth -= 1
        if type(value) in MUTABLE:
            state = _state(d)
            if self.attname not in state.old and not state.frames:
                state.old[self.attname] = copy.deepcopy(value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        d = instance.__dict__
        name = self.attname
        if name in d:
            old = _state(d).old
            if name not in old:
                old[name] = d[name]
        elif not d["_state"].adding and not _fetching.depth:
            # Loaded, but this field was not: assigned without being read.
            # (A field Django fetches, also for peers, is a load.)
            _state(d).old.setdefault(name, UNKNOWN)
        # Else Model.__init__ is filling in the instance: nothing to keep.
        if self.inner_set is None:
            d[name] = value
        else:
            self.inner_set(self.inner, instance, value)


def track(model: type[Model], fields: Iterable[str] | None = ALL) -> frozenset[str]:
    """
    Watch ``fields`` (names or column names) of ``model``; None for all of them.

    Return the column names (attnames) watched. Watching lasts for the
    process and covers instances of subclasses (proxies, children) too.
    Raise ``ValueError`` for a name that is not a concrete field of
    ``model``: a many-to-many or reverse relation is not one (its changes
    are ``m2m_changed``'s).
    """
    attnames = _attnames(model, fields)
    with _lock:
        for attname in attnames:
            if not isinstance(_lookup(model, attname), _Watched):
                setattr(model, attname, _Watched(attname, _lookup(model, attname)))
        _wrap(model, "save_base", _save_base_wrapper)
        _wrap(model, "refresh_from_db", _refresh_wrapper)
        _wrap(model, "__getstate__", _getstate_wrapper)
        setattr(model, _TRACKED, tracked_fields(model) | attnames)
    return attnames


def tracked_fields(model: type[Model]) -> frozenset[str]:
    """The attnames watched on ``model`` and the classes it inherits from."""
    found: frozenset[str] = frozenset()
    for klass in model.__mro__:
        found |= klass.__dict__.get(_TRACKED, frozenset())
    return found


def _attnames(model: type[Model], fields: Iterable[str] | None) -> frozenset[str]:
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    if fields is None:
        return frozenset(f.attname for f in concrete)
    by_name = model.__dict__.get(_BY_NAME)
    if by_name is None:
        by_name = {}
        for field in model._meta.concrete_fields:
            by_name[field.name] = by_name[field.attname] = field.attname
        setattr(model, _BY_NAME, by_name)
    found = set()
    for name in fields:
        if name not in by_name:
            raise ValueError(_not_watchable(model, name))
        found.add(by_name[name])
    return frozenset(found)


def _not_watchable(model: type[Model], name: str) -> str:
    label = model._meta.label
    if name in {field.name for field in model._meta.many_to_many}:
        return (
            f"{label}.{name} is a many-to-many field: a save does not write it, "
            "so its changes come from m2m_changed, not from a change condition."
        )
    names = [field.name for field in model._meta.concrete_fields]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"{label} has no field {name!r} to watch; its fields are "
        f"{', '.join(names)}.{hint}"
    )


def _lookup(model: type, name: str) -> Any:
    for klass in model.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(name)


def _wrap(model: type, name: str, make: Callable[[Any], Any]) -> None:
    current = _lookup(model, name)
    if getattr(current, _WRAPPED, False):
        return
    wrapper = make(current)
    setattr(wrapper, _WRAPPED, True)
    setattr(model, name, wrapper)


def _save_base_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(original)
    def save_base(self: Model, *args: Any, **kwargs: Any) -> Any:
        # Every save of a watched model comes through here: kept short.
        d = self.__dict__
        state = d.get(_STATE)
        if state is None:
            state = d[_STATE] = _State()
        elif state.unconfirmed:
            _settle(state)
        frames = state.frames
        if frames:
            # A save of this instance inside its own save (a post_save
            # receiver's): what the outer one wrote is not this one's.
            _freeze(self, state, frames[-1])
        update_fields = kwargs.get("update_fields") if len(args) < 5 else args[4]
        frame = _Frame(
            d["_state"].adding,
            None if update_fields is None else _attnames(type(self), update_fields),
        )
        frames.append(frame)
        try:
            result = original(self, *args, **kwargs)
            if frame.post is None and (state.old or frame.adding):
                _freeze(self, state, frame)
        finally:
            frames.pop()
        return result

    return save_base


def _refresh_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(original)
    def refresh_from_db(self: Model, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        state = self.__dict__.get(_STATE)
        if state is not None:
            _settle(state)
            fields = _argument(args, kwargs, 1, "fields")
            if fields is None:
                state.old.clear()
            else:
                for attname in _attnames(type(self), fields):
                    state.old.pop(attname, None)
        return result

    return refresh_from_db


def _getstate_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    # copy.copy() and pickle take the instance's __dict__ through here: the
    # copy gets a baseline of its own, not a share of the original's.
    @wraps(original)
    def __getstate__(self: Model) -> Any:
        data = original(self)
        state = data.get(_STATE)
        if isinstance(state, _State):
            twin = _State()
            twin.old = dict(state.old)
            data[_STATE] = twin
        return data

    return __getstate__


def _argument(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _freeze(instance: Model, state: _State, frame: _Frame) -> None:
    # The write is done: keep what it changed for post_save, move the
    # baseline to what was written.
    if frame.post is not None:
        return
    if not state.old and not frame.adding:
        frame.post = {}
        return
    frame.post = _pending(instance, state, frame.attnames, frame.adding)
    old = state.old
    if frame.attnames is None:
        restore = old
        state.old = {}
    else:
        restore = {name: old.pop(name) for name in list(old) if name in frame.attnames}
    d = instance.__dict__
    for attname in restore:
        value = d.get(attname)
        if type(value) in MUTABLE:
            # Someone holds this value (they read it): keep seeing their edits.
            state.old[attname] = copy.deepcopy(value)
    # save_base() has set _state.db to the database written to.
    using = instance._state.db or "default"
    if restore and connections[using].in_atomic_block:
        record = _Unconfirmed(using, restore)
        state.unconfirmed.append(record)
        transaction.on_commit(record.hook, using=using)


def _settle(state: _State) -> None:
    # Give back the baselines of saves whose transaction rolled back.
    if not state.unconfirmed:
        return
    keep = []
    for record in reversed(state.unconfirmed):
        if record.confirmed:
            continue
        if record.discarded():
            state.old.update(record.restore)
        else:
            keep.append(record)
    state.unconfirmed = keep[::-1]


def _pending(
    instance: Model,
    state: _State | None,
    attnames: frozenset[str] | None,
    adding: bool,
) -> dict[str, Change]:
    # attname -> Change for the watched fields (within attnames) that differ
    # from the baseline; every watched field of an instance being added.
    d = instance.__dict__
    found: dict[str, Change] = {}
    if adding:
        for attname in tracked_fields(type(instance)):
            if attname in d and (attnames is None or attname in attnames):
                found[attname] = Change(UNKNOWN, _shown(d[attname]))
        return found
    if state is None:
        return found
    for attname, old in state.old.items():
        if attnames is not None and attname not in attnames:
            continue
        new = d.get(attname, UNKNOWN)
        if type(new) in _PLAIN and type(old) in _PLAIN:
            # The common case, kept free of calls: plain values compare
            # without surprises.
            if old != new:
                found[attname] = Change(old, new)
        elif old is UNKNOWN or _is_expression(new) or not _same(old, new):
            found[attname] = Change(_shown(old), _shown(new))
    return found


# Values that are never expressions, compare with == and cannot be edited
# in place.
_PLAIN = frozenset(
    {str, int, float, bool, type(None), decimal.Decimal, uuid.UUID}
    | {datetime.date, datetime.datetime, datetime.time, datetime.timedelta}
)


def _same(old: Any, new: Any) -> bool:
    if old is new:
        return True
    try:
        return bool(old == new)
    except Exception:
        # A value that cannot compare is taken as changed.
        return False


def _is_expression(value: Any) -> bool:
    return hasattr(value, "resolve_expression") and not isinstance(value, Model)


def _shown(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if _is_expression(value):
        return DATABASE
    return frozen(value)


def diff(
    instance: Model, update_fields: Iterable[str] | None, adding: bool
) -> dict[str, Change]:
    """
    The pending changes of ``instance`` by attname, within ``update_fields``
    (names or attnames; None for all), as ``pre_save`` sees them.
    """
    state = instance.__dict__.get(_STATE)
    if state is not None:
        _settle(state)
    scope = None if update_fields is None else _attnames(type(instance), update_fields)
    return _pending(instance, state, scope, adding)


def saved(
    instance: Model, update_fields: Iterable[str] | None, created: bool
) -> dict[str, Change]:
    """
    What the save being reported by ``post_save`` changed, by attname.

    Inside the save, the first call moves the instance's baseline (see the
    module docstring); later calls in the same save get the same answer.
    """
    state = instance.__dict__.get(_STATE)
    if state is not None and state.frames:
        frame = state.frames[-1]
        if frame.post is None:
            _freeze(instance, state, frame)
        return frame.post
    # post_save sent by hand, or a raw save: nothing to move.
    return diff(instance, update_fields, created)


def as_changes(model: type[Model], found: dict[str, Change], attnames: Any) -> Changes:
    """``found`` (by attname) within ``attnames`` (None: all), keyed by field name."""
    if not found:
        return _EMPTY
    names = model.__dict__.get(_NAMES) or _names(model)
    items = {}
    aliases = {}
    ordered = found if len(found) == 1 else sorted(found, key=names.__getitem__)
    for attname in ordered:
        if attnames is None or attname in attnames:
            name = names[attname][1]
            items[name] = found[attname]
            if attname != name:
                aliases[attname] = name
    return Changes._made(items, aliases)


_EMPTY = Changes()


def _names(model: type[Model]) -> dict[str, tuple[int, str]]:
    # attname -> (position, field name), made once per model.
    names = model.__dict__.get(_NAMES)
    if names is None:
        names = {
            field.attname: (index, field.name)
            for index, field in enumerate(model._meta.concrete_fields)
        }
        setattr(model, _NAMES, names)
    return names


def changes_of(instance: Model) -> Changes:
    """
    What changed on ``instance`` since it was loaded, last saved or refreshed,
    among the fields watched on its model (see ``track()``).

    For an instance not yet saved, every watched field, from ``UNKNOWN``.
    Raise ``ValueError`` if nothing watches its model.
    """
    model = type(instance)
    if not tracked_fields(model):
        raise ValueError(
            f"Nothing watches {model._meta.label}: connect a change condition "
            "for it, or call signals_app.changes.track()."
        )
    return as_changes(model, diff(instance, None, instance._state.adding), None)
