"""
The class attribute of a watched field: Django's own, with a note kept on write.

``Watched`` takes the place of the field's class attribute and wraps the
one it replaces (``inner``): Django's ``DeferredAttribute``, a
``FileDescriptor`` that hands out ``FieldFile`` objects, an
``ImageFileDescriptor`` that updates the dimension fields, a foreign key's
id attribute that clears the cached object, a field's own
``descriptor_class``, or a descriptor someone else put there. Reading,
assigning and deleting go through ``inner`` as they would unwatched; the
only addition is that the first write since the baseline keeps the value
the field had (see ``tracking``).
"""

import copy
import threading
from typing import Any

from django.core.files import File
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

from .state import IDLE, STATE, State, state_of
from .values import PLAIN, UNKNOWN, mutable

__all__ = ["Watched", "kept"]


class _Fetching(threading.local):
    # How deep this thread is in Django's fetch of a field's value.
    depth = 0


_fetching = _Fetching()

# Django's attributes whose read of a loaded value is the value in
# __dict__, as it is: read here without a call.
_PLAIN = (DeferredAttribute, ForeignKeyDeferredAttribute)


def kept(value: Any) -> Any:
    """
    What to keep of ``value`` as a baseline: a file by its name (a
    ``FieldFile`` changes its name in place when it saves a new file), a
    value that could be edited in place as a copy, any other as it is.
    """
    if isinstance(value, File):
        return value.name
    if mutable(value):
        return copy.deepcopy(value)
    return value


class Watched:
    """The descriptor of a watched field: ``inner``'s, plus the old value kept."""

    __slots__ = ("attname", "inner", "inner_delete", "inner_set", "plain")

    def __init__(self, attname: str, inner: Any) -> None:
        self.attname = attname
        self.inner = inner
        kind = type(inner)
        # Bound once: these run on every load and write of the field.
        self.plain = kind in _PLAIN
        self.inner_set = getattr(kind, "__set__", None)
        self.inner_delete = getattr(kind, "__delete__", None)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            # Django reads every field it saves: the common case first.
            d = instance.__dict__
            value = d[self.attname]
        except (AttributeError, KeyError):
            return self._unloaded(instance, owner)
        if self.plain:
            if type(value) in PLAIN or not mutable(value):
                return value
        else:
            value = self.inner.__get__(instance, owner)
            if not mutable(value) and not isinstance(value, File):
                return value
        # The reader may edit this value in place (a JSON document, a
        # FieldFile that saves a new file): keep the baseline first. Reads
        # inside a save are Django's, which edits nothing.
        state = state_of(d)
        name = self.attname
        if name not in state.old and state.post is IDLE:
            state.old[name] = kept(d[name])
        return value

    def _unloaded(self, instance: Any, owner: Any) -> Any:
        if instance is None:
            # Class access gives what it gave unwatched (``Model.field.field``).
            return self.inner.__get__(None, owner)
        # Django fetches the field, and with FETCH_PEERS (Django 6.1) the
        # same field of the instance's peers, by assigning it: these are
        # loads, not writes.
        _fetching.depth += 1
        try:
            return self.inner.__get__(instance, owner)
        finally:
            _fetching.depth -= 1

    def __set__(self, instance: Any, value: Any) -> None:
        d = instance.__dict__
        name = self.attname
        if name in d:
            # state_of(d), without a call: every first write comes here.
            state = d.get(STATE)
            if state is None:
                state = d[STATE] = State()
            old = state.old
            if name not in old:
                current = d[name]
                old[name] = current.name if isinstance(current, File) else current
        elif not d["_state"].adding and not _fetching.depth:
            # Loaded, but this field was not: assigned without being read.
            # (A field Django fetches, also for peers, is a load.)
            state_of(d).old.setdefault(name, UNKNOWN)
        # Else Model.__init__ is filling in the instance: nothing to keep.
        if self.inner_set is None:
            d[name] = value
        else:
            self.inner_set(self.inner, instance, value)

    def __delete__(self, instance: Any) -> None:
        # Django deletes a field's value to have it loaded again; what
        # loads next is the database's, so nothing of it is pending.
        d = instance.__dict__
        if self.inner_delete is not None:
            self.inner_delete(self.inner, instance)
        elif self.inner_set is not None:
            # Python refuses to delete through a descriptor that can set but
            # not delete (a foreign key's id, a FileDescriptor): so do we.
            raise AttributeError("__delete__")
        elif self.attname in d:
            del d[self.attname]
        else:
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute {self.attname!r}"
            )
        state = d.get(STATE)
        if state is not None:
            state.old.pop(self.attname, None)
