"""
Watching fields of a model: copy on write, only on the classes and fields watched.

``track(model, fields)`` installs, on that model class only, a data
descriptor for each watched field that wraps the one Django put there
(``descriptors``), and wrappers around ``save_base()``,
``refresh_from_db()`` and ``__getstate__()`` (so a copy gets a baseline of
its own). Nothing runs at load beyond the descriptor's store of
each watched value; an instance that nobody writes to has no state at all.

Per instance, in ``instance.__dict__``, a ``State`` (``state``) holds
``old``: for each watched field written since the *baseline* (load, last
save, refresh), the value it had then (``UNKNOWN`` for a field never
loaded; a file by its name). A value that could be edited in place (a
dict or list, a ``FieldFile``) is kept the first time it is read, so
in-place edits show when it is compared; reads inside a save keep nothing
(a value nobody read cannot have been edited). Changes are the watched
fields whose ``old`` differs from what the instance holds now.

A save moves the baseline to what it wrote once the write is done, at the
first of: a change condition asking during ``post_save``, a save of the
same instance starting inside it, or the end of the save. So
a save made by a ``post_save`` receiver sees only what changed since. In a
transaction, the old baseline is kept until it commits; if it rolls back
(savepoints included), the instance gets it back, so what did not persist
still counts as changed (``transactions``).
"""

import difflib
import inspect
import threading
from collections.abc import Callable, Iterable
from functools import update_wrapper, wraps
from typing import Any

from django.core.files import File
from django.db.models import Model

from .descriptors import Watched, kept
from .state import IDLE, STATE, State
from .transactions import connection, remember, settle
from .values import DATABASE, PLAIN, UNKNOWN, Change, Changes, frozen, mutable

__all__ = [
    "ALL",
    "as_changes",
    "changes_of",
    "diff",
    "saved",
    "track",
    "tracked_fields",
]

_TRACKED = "_signals_app_tracked"
_WRAPPED = "_signals_app_wrapped"
_NAMES = "_signals_app_names"
_BY_NAME = "_signals_app_by_name"

#: Watch every concrete field but the primary key.
ALL: Any = None

_lock = threading.Lock()


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
            if not isinstance(_lookup(model, attname), Watched):
                setattr(model, attname, Watched(attname, _lookup(model, attname)))
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
    by_name = _by_name(model)
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


def _by_name(model: type[Model]) -> dict[str, str]:
    # Field name or attname -> attname, for the concrete fields of model.
    by_name = model.__dict__.get(_BY_NAME)
    if by_name is None:
        by_name = {}
        for field in model._meta.concrete_fields:
            by_name[field.name] = by_name[field.attname] = field.attname
        setattr(model, _BY_NAME, by_name)
    return by_name


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


# Django calls save_base() with keyword arguments, which a wrapper taking
# ``**kwargs`` must pack into a dict and spread again: for a save_base()
# with the very parameters of Django's (names, order, defaults), the wrapper
# names them, which costs a save half of what the wrapper costs.
_SAVE_BASE = [
    ("self", inspect.Parameter.empty),
    ("raw", False),
    ("force_insert", False),
    ("force_update", False),
    ("using", None),
    ("update_fields", None),
]

# The wrapper, written once and compiled for each of the two shapes above
# with its parameters, the line that finds update_fields among them (none
# when it is one) and the call to the wrapped save_base() filled in: every
# save of a watched model runs it, and a call from a wrapper to a shared
# body would cost it a tenth of what the wrapper costs. The save in
# progress lives on the state; a save of this instance inside it (a
# post_save receiver's) keeps the outer one's in ``outer`` and puts it
# back when it ends.
_SAVING = """
def save_base({parameters}):
    d = self.__dict__
    state = d.get(_STATE)
    if state is None:
        state = d[_STATE] = _State()
    elif state.unconfirmed:
        _settle(state.unconfirmed, state.old)
    outer = state.post
    if outer is not _IDLE:
        # What the outer save wrote is not this one's.
        if outer is None:
            _freeze(self, state)
        outer = (state.adding, state.attnames, state.post)
    state.adding = d["_state"].adding
{update_fields}
    state.attnames = (
        None if update_fields is None else _attnames(type(self), update_fields)
    )
    state.post = None
    try:
        result = _original({arguments})
        if state.post is None and (state.old or state.adding):
            _freeze(self, state)
    finally:
        if outer is _IDLE:
            state.post = _IDLE
        else:
            state.adding, state.attnames, state.post = outer
    return result
"""


def _save_base_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    parameters = inspect.signature(original).parameters.values()
    if [(p.name, p.default) for p in parameters] == _SAVE_BASE and all(
        p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters
    ):
        names = [name for name, _ in _SAVE_BASE]
        shape = {
            "parameters": ", ".join(
                name if default is inspect.Parameter.empty else f"{name}={default}"
                for name, default in _SAVE_BASE
            ),
            "update_fields": "",
            "arguments": ", ".join(names),
        }
    else:
        # A save_base() of someone else's, with parameters of its own.
        shape = {
            "parameters": "self, *args, **kwargs",
            "update_fields": (
                '    update_fields = kwargs.get("update_fields") if len(args) < 5'
                " else args[4]"
            ),
            "arguments": "self, *args, **kwargs",
        }
    namespace: dict[str, Any] = {
        "_STATE": STATE,
        "_State": State,
        "_IDLE": IDLE,
        "_settle": settle,
        "_freeze": _freeze,
        "_attnames": _attnames,
        "_original": original,
    }
    source = _SAVING.format(**shape)
    exec(compile(source, "<signals_app save_base wrapper>", "exec"), namespace)
    wrapper: Callable[..., Any] = update_wrapper(namespace["save_base"], original)
    return wrapper


def _refresh_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(original)
    def refresh_from_db(self: Model, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        state = self.__dict__.get(STATE)
        if state is not None:
            if state.unconfirmed:
                settle(state.unconfirmed, state.old)
            fields = _argument(args, kwargs, 1, "fields")
            if fields is None:
                state.old.clear()
            else:
                # Django also takes the names of relations it caches (a
                # prefetched many-to-many, a reverse relation): none of
                # them is a watched column.
                by_name = _by_name(type(self))
                for name in fields:
                    state.old.pop(by_name.get(name, name), None)
        return result

    return refresh_from_db


def _getstate_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    # copy.copy() and pickle take the instance's __dict__ through here: the
    # copy gets a baseline of its own, not a share of the original's.
    @wraps(original)
    def __getstate__(self: Model) -> Any:
        data = original(self)
        state = data.get(STATE)
        if isinstance(state, State):
            data[STATE] = state.twin()
        return data

    return __getstate__


def _argument(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _freeze(instance: Model, state: State) -> None:
    # The write of the save in progress is done (its post is None): keep
    # what it changed for post_save, move the baseline to what was written.
    old = state.old
    if not old and not state.adding:
        state.post = {}
        return
    attnames = state.attnames
    state.post = _pending(instance, state, attnames, state.adding)
    if attnames is None:
        restore = old
        state.old = {}
    else:
        restore = {name: old.pop(name) for name in list(old) if name in attnames}
    d = instance.__dict__
    for attname in restore:
        value = d.get(attname)
        if type(value) in PLAIN:
            continue
        if mutable(value) or isinstance(value, File):
            # Someone holds this value (they read it): keep seeing their
            # edits, and a FieldFile's new name.
            state.old[attname] = kept(value)
    if restore:
        # save_base() has set _state.db to the database written to.
        using = instance._state.db or "default"
        open_on = connection(using)
        if open_on.in_atomic_block:
            if state.unconfirmed is None:
                state.unconfirmed = {}
            remember(state.unconfirmed, open_on, using, restore)


def _pending(
    instance: Model,
    state: State | None,
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
        if type(new) in PLAIN and type(old) in PLAIN:
            # The common case, kept free of calls: plain values compare
            # without surprises, and the Change is made without the
            # Python-level __new__ that NamedTuple gives it.
            if old != new:
                found[attname] = _tuple_new(Change, (old, new))
        elif old is UNKNOWN or _is_expression(new) or not _same(old, new):
            found[attname] = Change(_shown(old), _shown(new))
    return found


_tuple_new = tuple.__new__


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
    if type(value) in PLAIN:
        return value
    if _is_expression(value):
        return DATABASE
    if isinstance(value, File):
        # A file field's value is its name, as its column holds it.
        return value.name
    return frozen(value)


def diff(
    instance: Model, update_fields: Iterable[str] | None, adding: bool
) -> dict[str, Change]:
    """
    The pending changes of ``instance`` by attname, within ``update_fields``
    (names or attnames; None for all), as ``pre_save`` sees them.
    """
    state = instance.__dict__.get(STATE)
    if state is not None and state.unconfirmed:
        settle(state.unconfirmed, state.old)
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
    state = instance.__dict__.get(STATE)
    if state is not None and state.post is not IDLE:
        if state.post is None:
            _freeze(instance, state)
        found: dict[str, Change] = state.post
        return found
    # post_save sent by hand, or a raw save: nothing to move.
    return diff(instance, update_fields, created)


def as_changes(model: type[Model], found: dict[str, Change], attnames: Any) -> Changes:
    """``found`` (by attname) within ``attnames`` (None: all), keyed by field name."""
    if not found:
        return _EMPTY
    # The class attribute of this very model (a child model's are its own),
    # found through getattr(): reading model.__dict__ makes a proxy object
    # on every send.
    cached = getattr(model, _NAMES, None)
    if cached is None or cached[0] is not model:
        cached = _names(model)
    # Made around dicts built for it alone, or shared, without copying them
    # as Changes() would: this runs on every send a change condition admits,
    # and neither a Changes nor what it was made from is ever written to.
    changes = _new_changes(Changes)
    changes._aliases = _NO_ALIASES
    if (
        len(found) == 1
        and cached[2].isdisjoint(found)  # no attname of its own
        and (attnames is None or attnames.issuperset(found))
    ):
        # The common case, one field under its own name: found reads as
        # the Changes would.
        changes._items = found
        return changes
    names = cached[1]
    items = {}
    for attname in sorted(found, key=names.__getitem__):
        if attnames is None or attname in attnames:
            name = names[attname][1]
            items[name] = found[attname]
            if attname != name:
                if changes._aliases is _NO_ALIASES:
                    changes._aliases = {}
                changes._aliases[attname] = name
    changes._items = items
    return changes


_EMPTY = Changes()
# Shared by every Changes without a column name of its own (most of them).
_NO_ALIASES: dict[str, str] = {}
_new_changes = Changes.__new__


def _names(
    model: type[Model],
) -> tuple[type[Model], dict[str, tuple[int, str]], frozenset[str]]:
    # attname -> (position, field name), and the attnames that differ from
    # their field's name, made once per model and kept on it with the model
    # they are for.
    fields = model._meta.concrete_fields
    names = {field.attname: (index, field.name) for index, field in enumerate(fields)}
    renamed = frozenset(f.attname for f in fields if f.attname != f.name)
    cached = (model, names, renamed)
    setattr(model, _NAMES, cached)
    return cached


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
