"""
Writing a payload, in the process that sends the signal: ``encode()``.

The layout is described in ``signals_app.delivery.payload``.
"""

import datetime
import decimal
import math
import uuid
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db import router
from django.db.models import CompositePrimaryKey, Model, QuerySet
from django.utils.functional import Promise

from .payload import _JSON, FORMAT, REGISTERED_TYPES, TAG, NotSerializable, _short

__all__ = ["arguments_text", "encode", "written_as"]

_JSON_SCALARS = (str, bool, int, type(None))
# The exact types that travel as they are, told apart by one set lookup:
# most arguments of most sends are one of these.
_AS_THEY_ARE = frozenset(_JSON_SCALARS)


class _Mode(NamedTuple):
    # What the whole encode() call says, handed down the walk.
    deleting: bool
    as_sent: bool
    # The names of the fields whose values travel; None for the default.
    fields: frozenset[str] | None


_PLAIN = _Mode(deleting=False, as_sent=False, fields=None)


def encode(
    receiver: str,
    sender: Any,
    named: dict[str, Any],
    *,
    deleting: bool,
    as_sent: bool = False,
    fields: frozenset[str] | None = None,
) -> dict:
    """
    The payload delivering ``sender`` and ``named`` to the queued receiver
    named ``receiver``.

    ``deleting`` says the signal is sent while model instances among the
    arguments are being deleted, so they travel as their field values.
    ``as_sent`` has saved instances carry their field values too, for the
    worker to fall back on if the row is gone. ``fields`` names the fields
    whose values travel, where values do (None: all but password hashes).
    Raise ``NotSerializable`` for an argument that cannot travel.
    """
    mode = _Mode(deleting, as_sent, fields)
    try:
        return {
            "format": FORMAT,
            "receiver": receiver,
            "sender": _encode(sender, "sender", mode),
            "kwargs": _arguments(named, mode),
        }
    except NotSerializable as err:
        raise _in_call(err, receiver, sender) from None
    except RecursionError:
        found = _culprit({"sender": sender, **named}, mode)
        raise _in_call(found, receiver, sender) from None


def arguments_text(
    receiver: str,
    sender: Any,
    named: dict[str, Any],
    *,
    deleting: bool,
    as_sent: bool = False,
    fields: frozenset[str] | None = None,
) -> str:
    """
    The ``kwargs`` of the payload ``encode()`` makes, alone, as compact JSON
    text: what a producer signs, after the part every send of a connection
    shares (``sealed.shared_part()``). Exactly the text ``json`` writes for
    ``encode()``'s ``kwargs`` with no spaces, written without building them
    for the values most sends carry (text, integers, booleans, None, and a
    saved instance with an integer or text key). Raise ``NotSerializable``
    as ``encode()`` does.
    """
    mode = _MODES.get((deleting, as_sent)) if fields is None else None
    if mode is None:
        mode = _Mode(deleting, as_sent, fields)
    try:
        members = [
            f"{_NAMES.get(name) or _name_text(name)}{_value_text(value, name, mode)}"
            for name, value in named.items()
        ]
    except NotSerializable as err:
        raise _in_call(err, receiver, sender) from None
    except (RecursionError, ValueError):
        raise _in_call(_culprit(named, mode), receiver, sender) from None
    return "{" + ",".join(members) + "}"


# The modes with the default fields, made once: a NamedTuple is built in
# Python, which costs a send more than the rest of its argument's text.
_MODES = {
    (deleting, as_sent): _Mode(deleting, as_sent, None)
    for deleting in (False, True)
    for as_sent in (False, True)
}

# The start of a saved instance's text, up to its key, by model and database:
# the same for every instance of a model saved to one database.
_INSTANCE_STARTS: dict[tuple[type, str], str] = {}

# The text of each argument's name and its colon, by name: a signal sends
# the same few names every time. Bounded, for a sender that passes names
# of its own making.
_NAMES: dict[str, str] = {}
_NAMES_KEPT = 1024


def _name_text(name: str) -> str:
    text = _JSON.encode(name) + ":"
    if len(_NAMES) < _NAMES_KEPT:
        _NAMES[name] = text
    return text


def _value_text(value: Any, where: str, mode: _Mode) -> str:
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is str:
        # An ASCII identifier (a database alias, most often) holds no
        # character JSON escapes.
        if value.isascii() and value.isidentifier():
            return f'"{value}"'
        return _JSON.encode(value)
    if kind is int:
        return int.__repr__(value)
    if isinstance(value, Model) and not (mode.deleting or mode.as_sent):
        text = _saved_instance_text(value)
        if text is not None:
            return text
    return _JSON.encode(_encode(value, where, mode))


def _saved_instance_text(instance: Model) -> str | None:
    # What _encode_instance() writes for a saved instance whose key is an
    # integer or text; None for any other, which takes the general path.
    if instance._state.adding:
        return None
    pk = instance.pk
    kind = type(pk)
    if kind is int:
        key = int.__repr__(pk)
    elif kind is str:
        key = _JSON.encode(pk)
    else:
        return None
    model = type(instance)
    db = instance._state.db or router.db_for_read(model, instance=instance)
    start = _INSTANCE_STARTS.get((model, db))
    if start is None:
        tagged = {TAG: "instance", "label": model._meta.label, "db": db, "pk": 0}
        start = _JSON.encode(tagged)[: -len("0}")]
        _INSTANCE_STARTS[model, db] = start
    return f"{start}{key}}}"


def _arguments(named: dict[str, Any], mode: _Mode) -> dict[str, Any]:
    return {
        name: value if type(value) in _AS_THEY_ARE else _encode(value, name, mode)
        for name, value in named.items()
    }


def _culprit(named: dict[str, Any], mode: _Mode) -> NotSerializable:
    # The argument that made the whole fail, found again one at a time, so
    # that the sender hears which, not a bare error from deep inside: a
    # value that holds itself (RecursionError), or an int of more digits
    # than Python writes as text (sys.get_int_max_str_digits(): ValueError).
    for name, value in named.items():
        try:
            _value_text(value, name, mode)
        except RecursionError:
            return NotSerializable(
                name, "refers to itself, or is nested too deeply to travel as JSON"
            )
        except ValueError as err:
            return NotSerializable(name, f"cannot be written as JSON text: {err}")
    return NotSerializable("?", "cannot travel as JSON")


def _in_call(err: NotSerializable, receiver: str, sender: Any) -> NotSerializable:
    # Only here is the call known: the error also reaches a test through
    # run_deliveries(), far from the send, so it says which call it was.
    call = f"sent by {_short(sender)} to the queued receiver {receiver}"
    return NotSerializable(err.argument, err.problem, call)


def written_as(value: Any, raw: Any) -> bool:
    """
    Whether ``encode()`` writes ``value`` (a sender, say) as exactly ``raw``,
    JSON types included: ``true`` is not ``1``, nor ``1.0``.
    """
    try:
        return _same_json(_encode(value, "value", _PLAIN), raw)
    except NotSerializable:
        return False


def _encode(value: Any, where: str, mode: _Mode) -> Any:
    # The common cases first: this runs for every argument of every send.
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, Model):
        return _encode_instance(value, where, mode)
    if isinstance(value, type) and issubclass(value, Model):
        # Django ships no types: issubclass() cannot tell mypy about _meta.
        return {TAG: "model", "label": value._meta.label}  # type: ignore[attr-defined]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotSerializable(where, f"is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, list):
        return [
            _encode(item, f"{where}[{index}]", mode) for index, item in enumerate(value)
        ]
    if isinstance(value, tuple):
        items = [
            _encode(item, f"{where}[{index}]", mode) for index, item in enumerate(value)
        ]
        return {TAG: "tuple", "items": items}
    if isinstance(value, dict):
        members = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotSerializable(
                    where, f"has the key {key!r}; JSON objects have string keys"
                )
            members[key] = _encode(item, f"{where}[{key!r}]", mode)
        return {TAG: "dict", "items": members} if TAG in members else members
    if isinstance(value, set | frozenset):
        tag = "frozenset" if isinstance(value, frozenset) else "set"
        inner = f"{where}[...]"
        return {TAG: tag, "items": [_encode(item, inner, mode) for item in value]}
    if isinstance(value, QuerySet):
        return {TAG: "queryset", "label": value.model._meta.label, "db": value.db}
    if isinstance(value, Promise):
        return str(value)
    tagged = _encode_other(value)
    if tagged is not None:
        return tagged
    if REGISTERED_TYPES:
        for klass in type(value).__mro__:
            if klass in REGISTERED_TYPES:
                tag, encoder = REGISTERED_TYPES[klass]
                return {TAG: tag, "value": _encode(encoder(value), where, mode)}
    raise NotSerializable(
        where,
        f"is a {type(value).__module__}.{type(value).__qualname__} "
        f"({_short(value)}), which is not "
        "JSON-serialisable; receivers connected with delivery='task' get their "
        "arguments as JSON (model instances and classes, sets, tuples, "
        "querysets, dates and times, durations, decimals and UUIDs are "
        "converted)",
    )


def _encode_other(value: Any) -> dict | None:
    # datetime before date: a datetime is a date too.
    if isinstance(value, datetime.datetime):
        tagged = {TAG: "datetime", "value": value.isoformat()}
        if isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
            tagged["zone"] = value.tzinfo.key
        return tagged
    if isinstance(value, datetime.date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, datetime.time):
        tagged = {TAG: "time", "value": value.isoformat()}
        if isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
            tagged["zone"] = value.tzinfo.key
        return tagged
    if isinstance(value, datetime.timedelta):
        return {
            TAG: "timedelta",
            "days": value.days,
            "seconds": value.seconds,
            "microseconds": value.microseconds,
        }
    if isinstance(value, decimal.Decimal):
        return {TAG: "decimal", "value": str(value)}
    if isinstance(value, uuid.UUID):
        return {TAG: "uuid", "value": value.hex}
    return None


def _encode_instance(instance: Model, where: str, mode: _Mode) -> dict:
    meta, state = instance._meta, instance._state
    key = meta.pk
    composite = isinstance(key, CompositePrimaryKey)
    pk = instance.pk
    missing_pk = any(part is None for part in pk) if composite else pk is None
    if mode.deleting or state.adding or missing_pk:
        return {
            TAG: "unsaved",
            "label": meta.label,
            "db": state.db,
            "fields": _field_values(instance, where, mode),
        }
    db = state.db or router.db_for_read(type(instance), instance=instance)
    if composite:
        # A list, not a tuple tag: its length and parts are the key's own.
        pk = [
            _encode(part, f"{where}.pk[{index}]", mode) for index, part in enumerate(pk)
        ]
    elif type(pk) not in _AS_THEY_ARE:
        pk = _encode(pk, f"{where}.pk", mode)
    tagged = {TAG: "instance", "label": meta.label, "db": db, "pk": pk}
    if mode.as_sent:
        tagged["fields"] = _field_values(instance, where, mode)
    return tagged


def _field_values(instance: Model, where: str, mode: _Mode) -> dict[str, Any]:
    deferred = instance.get_deferred_fields()
    keys = instance._meta.pk_fields
    return {
        field.attname: _field_value(instance, field, f"{where}.{field.attname}")
        for field in instance._meta.concrete_fields
        # Generated fields cannot be set; deferred ones were never loaded
        # (and cannot be once the row is gone).
        if not getattr(field, "generated", False)
        and field.attname not in deferred
        and (field in keys or _travels(field, mode.fields))
    }


def _travels(field: Any, chosen: frozenset[str] | None) -> bool:
    if chosen is not None:
        return field.name in chosen or field.attname in chosen
    return not _is_password_hash(field)


def _is_password_hash(field: Any) -> bool:
    if field.name != "password":
        return False
    # Imported here: importing it needs the app registry ready, and most
    # fields are rejected by their name before it is needed.
    from django.contrib.auth.base_user import AbstractBaseUser

    return issubclass(field.model, AbstractBaseUser)


def _field_value(instance: Model, field: Any, where: str) -> Any:
    # The value as the instance holds it, so the receiver sees what a receiver
    # called at once would; a type this module has no tag for goes as the
    # field's own string form, as Django's serializers write it.
    value = field.value_from_object(instance)
    try:
        return _encode(value, where, _PLAIN)
    except NotSerializable:
        text = field.value_to_string(instance)
        if not isinstance(text, str):
            raise
        return {TAG: "field", "text": text}


def _same_json(one: Any, other: Any) -> bool:
    # JSON equality that tells true from 1 and 1.0 from 1, as == does not.
    if type(one) is not type(other):
        return False
    if isinstance(one, list):
        return len(one) == len(other) and all(map(_same_json, one, other))
    if isinstance(one, dict):
        return one.keys() == other.keys() and all(
            _same_json(one[key], other[key]) for key in one
        )
    return bool(one == other)
