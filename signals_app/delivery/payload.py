"""
The JSON payload of a queued delivery: one signal, for one receiver.

``encode()`` runs in the process that sends the signal, ``receiver_of()`` and
``decode()`` in the worker. What Django's signals send that JSON cannot hold
travels as a tagged object, ``{"__signals_app__": tag, ...}``, and comes back
as the type it left as:

``model``
    A model class (a model signal's ``sender``, m2m_changed's ``model``):
    its ``app_label.Model`` label. Back as the class.
``instance``
    A saved model instance: label, database alias and primary key (a
    composite key as the list of its parts, each part encoded as any other
    value). Loaded again, from that database, when the worker runs, so the
    receiver sees the row as it is then; a row deleted since is an error.
    Encoded ``as_sent``, it also carries its field values, as ``unsaved``
    does, and a row deleted since comes back built from them, as it was at
    send time (``_state.adding`` False); ``decode()`` reads those values
    only when told the payload was sent so.
``unsaved``
    An instance whose row may not exist when the worker runs: one still
    being added (``_state.adding``: before its first save, even with a
    primary key already set, such as a UUID from the field's default, in
    ``pre_save``; in ``pre_init`` and ``post_init``), one without a primary
    key, or one being deleted (the ``instance`` and ``origin`` of
    ``pre_delete`` and ``post_delete``). Its label, its ``_state.db`` and the
    value of each concrete field at send time, encoded as any other value;
    a value that cannot be goes as the field's own string form
    (``value_to_string()``), read back by its ``to_python()``, under a
    ``field`` tag of its own. Back as an instance built from them, primary
    key included when it had one, with ``_state.adding`` True and
    ``_state.db`` as it was; a field whose value did not travel is deferred
    (see below), so reading it asks the database rather than showing a
    default the row never had.
``queryset``
    A ``QuerySet`` (the ``origin`` of ``QuerySet.delete()``): its model and
    database. Back as an empty QuerySet of that model, since the rows it
    matched are gone.
``set``, ``frozenset``, ``tuple``
    Their items (``pk_set`` of m2m_changed, ``update_fields`` of post_save,
    ``args`` of pre_init).
``dict``
    A dict that itself has a ``"__signals_app__"`` key, so it is not read as
    a tag.
``datetime``, ``date``, ``time``
    ISO 8601 text, with the UTC offset of an aware value, microseconds
    exact; for a ``zoneinfo.ZoneInfo`` time zone, its key too, so the value
    comes back in that zone. Naive values come back naive.
``timedelta``
    Days, seconds and microseconds, exact.
``decimal``
    Its text, exponent and trailing zeros kept (``Decimal("12.50")``).
``uuid``
    Its hex text.

Types of the layers above (the ``Changes`` of ``signals_app.changes``)
travel as ``register_type()`` says, under a tag of their own.

Lazy translation strings (Django's ``Promise``) travel as the ``str`` they
give, and subclasses of ``str`` and ``int`` (the members of a model's
choices) as their plain value, as Django loads them from the database.
Anything else must be JSON already: None, booleans, finite numbers,
strings, lists, dicts with string keys. Anything that is not raises
``NotSerializable`` naming the argument, at send time.

Which field values travel
    ``encode(fields=...)`` names them (by name or attname); the primary key
    always travels. By default every concrete field but the password hash
    of a user model (``AbstractBaseUser.password``), which no receiver
    should need and no broker should hold.

``FORMAT`` is 3. Format 2 was not signed (``sealed`` signs format 3), sent
every field of a deleted instance, password hashes included, and let
missing field values take their defaults; format 1 also sent tuples as
lists, refused dates and times, durations, decimals and UUIDs, sent primary
keys other than strings and integers in their string form, and did not carry
an unsaved instance's database. A worker refuses a payload of another format
before loading anything (``InvalidPayload``), so tasks queued by an older
release must be run by workers of that release before upgrading.

What ``decode()`` refuses, before any query: a label that names no installed
model, or a swapped one (``auth.User`` under a custom ``AUTH_USER_MODEL``:
it has no table); a database alias not in ``DATABASES``; a primary key that
is not exactly what ``encode()`` writes for a key of that model (``true``
or ``1.0`` for the key ``1``); field values of a saved instance, unless the
payload is decoded ``as_sent``.
"""

import datetime
import decimal
import math
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import DEFERRED, CompositePrimaryKey, Model, QuerySet
from django.utils.functional import Promise

__all__ = [
    "FORMAT",
    "InvalidPayload",
    "NotSerializable",
    "decode",
    "encode",
    "model_of",
    "read_key",
    "register_type",
    "written_as",
]

#: The version of the payload's layout, checked by the worker.
FORMAT = 3

TAG = "__signals_app__"

_KEYS = frozenset({"format", "receiver", "sender", "kwargs"})
_JSON_SCALARS = (str, bool, int, type(None))


@dataclass(frozen=True)
class _Mode:
    as_sent: bool
    # The names of the fields whose values travel; None for the default.
    fields: frozenset[str] | None


# The mode of the whole encode() call, read only where an instance is
# encoded: the recursive walk keeps its one flag.
_PLAIN = _Mode(as_sent=False, fields=None)
_mode: ContextVar[_Mode] = ContextVar("signals_app_payload_mode", default=_PLAIN)


class NotSerializable(TypeError):
    """An argument of a signal that a queued receiver cannot be sent as JSON."""

    def __init__(self, argument: str, problem: str, call: str = "") -> None:
        message = f"argument {argument!r} {problem}"
        super().__init__(f"{message} ({call})" if call else message)
        #: The argument's name, with the path into it for a nested value
        #: (``"details['when']"``).
        self.argument = argument
        #: What is wrong with its value.
        self.problem = problem


class InvalidPayload(ValueError):
    """A payload that is not one ``encode()`` makes: tampered with, or stale."""


# Tags of the types registered by register_type(): by class, and by tag.
_REGISTERED_TYPES: dict[type, tuple[str, Callable[[Any], Any]]] = {}
_REGISTERED_TAGS: dict[str, Callable[[Any], Any]] = {}
_OWN_TAGS = frozenset(
    {"model", "instance", "unsaved", "queryset", "set", "frozenset", "tuple"}
    | {"dict", "field", "datetime", "date", "time", "timedelta", "decimal", "uuid"}
)


def register_type(
    cls: type,
    tag: str,
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
) -> None:
    """
    Let instances of ``cls`` (and its subclasses) travel in payloads.

    ``encode(value)`` returns what stands for the value: anything a payload
    can hold, encoded in turn (so dates inside come back as dates).
    ``decode(data)`` gets that back, decoded, and returns the value; it
    raises ``ValueError``, ``TypeError`` or ``KeyError`` for data it cannot
    read, which the worker reports as ``InvalidPayload``. Types the payload
    handles itself keep their own encoding. Registering the same class under
    the same tag again replaces its functions; a tag of the payload's own or
    another class's is a ``ValueError``.
    """
    if tag in _OWN_TAGS:
        raise ValueError(f"The payload uses the tag {tag!r} itself.")
    for other, (other_tag, _) in _REGISTERED_TYPES.items():
        if other_tag == tag and other is not cls:
            raise ValueError(f"The tag {tag!r} is registered for {other!r}.")
    _REGISTERED_TYPES[cls] = (tag, encode)
    _REGISTERED_TAGS[tag] = decode


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
    token = _mode.set(_Mode(as_sent, fields))
    try:
        return {
            "format": FORMAT,
            "receiver": receiver,
            "sender": _encode(sender, "sender", deleting),
            "kwargs": {
                name: _encode(value, name, deleting) for name, value in named.items()
            },
        }
    except NotSerializable as err:
        # Only here is the call known: the error also reaches a test through
        # run_deliveries(), far from the send, so it says which call it was.
        call = f"sent by {_short(sender)} to the queued receiver {receiver}"
        raise NotSerializable(err.argument, err.problem, call) from None
    finally:
        _mode.reset(token)


def receiver_of(payload: Any) -> str:
    """
    The name of the receiver ``payload`` is for, once its layout is checked.

    Nothing is looked up or loaded: that waits until the receiver is known
    to be allowed. Raise ``InvalidPayload`` for anything ``encode()`` could
    not have made.
    """
    if not isinstance(payload, dict) or set(payload) != _KEYS:
        raise InvalidPayload(f"not a signals_app payload: {_short(payload)}")
    if payload["format"] != FORMAT:
        raise InvalidPayload(
            f"payload format {payload['format']!r}, this version reads {FORMAT}"
        )
    receiver, kwargs = payload["receiver"], payload["kwargs"]
    if not isinstance(receiver, str):
        raise InvalidPayload(f"receiver {_short(receiver)} is not a name")
    if not isinstance(kwargs, dict) or {"signal", "sender"} & set(kwargs):
        raise InvalidPayload(f"kwargs {_short(kwargs)} are not a signal's arguments")
    return receiver


def decode(payload: dict, *, as_sent: bool = False) -> tuple[Any, dict[str, Any]]:
    """
    The sender and the keyword arguments in a payload ``receiver_of()`` read.

    Model instances are loaded from the database here. ``as_sent`` says the
    payload was encoded so: only then are the field values of a saved
    instance read, when its row is gone. Raise ``InvalidPayload`` for a
    value that ``encode()`` could not have made, and the model's
    ``DoesNotExist`` for an instance whose row is gone.
    """
    token = _mode.set(_Mode(as_sent, None))
    try:
        sender = _decode(payload["sender"], "sender")
        kwargs = {
            name: _decode(value, name) for name, value in payload["kwargs"].items()
        }
    finally:
        _mode.reset(token)
    return sender, kwargs


def model_of(label: Any, where: str) -> type[Model]:
    """
    The model a payload's ``label`` names, looked up in the app registry
    only; raise ``InvalidPayload`` for a label that names none, or a
    swapped model. ``where`` names the place in the payload, for the message.
    """
    return _model(label, where)


def written_as(value: Any, raw: Any) -> bool:
    """
    Whether ``encode()`` writes ``value`` (a sender, say) as exactly ``raw``,
    JSON types included: ``true`` is not ``1``, nor ``1.0``.
    """
    try:
        return _same_json(_encode(value, "value", False), raw)
    except NotSerializable:
        return False


def read_key(field: Any, raw: Any, where: str) -> Any:
    """
    The value of the key ``field`` (a primary key, or the field a foreign
    key points to) that ``raw`` stands for; raise ``InvalidPayload`` unless
    ``encode()`` would have written exactly ``raw`` for it (a ``true`` or a
    ``1.0`` is not the key 1).
    """
    try:
        value = field.to_python(_decode(raw, where))
    except InvalidPayload:
        raise
    except (TypeError, ValueError, ValidationError) as err:
        raise InvalidPayload(f"{where}: cannot read the key {_short(raw)}") from err
    # to_python() is lenient (True and 1.5 both read as 1): the key must be
    # the very JSON encode() writes for it, types included.
    if not _same_json(_encode(value, where, False), raw):
        raise InvalidPayload(
            f"{where}: {_short(raw)} is not how a value of "
            f"{field.model._meta.label}.{field.name} is written"
        )
    return value


# --- sending side ----------------------------------------------------------------


def _encode(value: Any, where: str, deleting: bool) -> Any:
    # The common cases first: this runs for every argument of every send.
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotSerializable(where, f"is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, Model):
        return _encode_instance(value, where, deleting)
    if isinstance(value, type) and issubclass(value, Model):
        # Django ships no types: issubclass() cannot tell mypy about _meta.
        return {TAG: "model", "label": value._meta.label}  # type: ignore[attr-defined]
    if isinstance(value, list):
        return [
            _encode(item, f"{where}[{index}]", deleting)
            for index, item in enumerate(value)
        ]
    if isinstance(value, tuple):
        items = [
            _encode(item, f"{where}[{index}]", deleting)
            for index, item in enumerate(value)
        ]
        return {TAG: "tuple", "items": items}
    if isinstance(value, dict):
        members = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotSerializable(
                    where, f"has the key {key!r}; JSON objects have string keys"
                )
            members[key] = _encode(item, f"{where}[{key!r}]", deleting)
        return {TAG: "dict", "items": members} if TAG in members else members
    if isinstance(value, set | frozenset):
        tag = "frozenset" if isinstance(value, frozenset) else "set"
        items = [_encode(item, f"{where}[...]", deleting) for item in value]
        return {TAG: tag, "items": items}
    if isinstance(value, QuerySet):
        return {TAG: "queryset", "label": value.model._meta.label, "db": value.db}
    if isinstance(value, Promise):
        return str(value)
    tagged = _encode_other(value)
    if tagged is not None:
        return tagged
    if _REGISTERED_TYPES:
        for klass in type(value).__mro__:
            if klass in _REGISTERED_TYPES:
                tag, encoder = _REGISTERED_TYPES[klass]
                return {TAG: tag, "value": _encode(encoder(value), where, deleting)}
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


def _encode_instance(instance: Model, where: str, deleting: bool) -> dict:
    meta = instance._meta
    if deleting or instance._state.adding or not _has_pk(instance):
        return {
            TAG: "unsaved",
            "label": meta.label,
            "db": instance._state.db,
            "fields": _field_values(instance, where),
        }
    db = instance._state.db or router.db_for_read(type(instance), instance=instance)
    pk = instance.pk
    if isinstance(meta.pk, CompositePrimaryKey):
        # A list, not a tuple tag: its length and parts are the key's own.
        pk = [
            _encode(part, f"{where}.pk[{index}]", deleting)
            for index, part in enumerate(pk)
        ]
    else:
        pk = _encode(pk, f"{where}.pk", deleting)
    tagged = {TAG: "instance", "label": meta.label, "db": db, "pk": pk}
    if _mode.get().as_sent:
        tagged["fields"] = _field_values(instance, where)
    return tagged


def _field_values(instance: Model, where: str) -> dict[str, Any]:
    deferred = instance.get_deferred_fields()
    chosen = _mode.get().fields
    keys = instance._meta.pk_fields
    return {
        field.attname: _field_value(instance, field, f"{where}.{field.attname}")
        for field in instance._meta.concrete_fields
        # Generated fields cannot be set; deferred ones were never loaded
        # (and cannot be once the row is gone).
        if not getattr(field, "generated", False)
        and field.attname not in deferred
        and (field in keys or _travels(field, chosen))
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


def _has_pk(instance: Model) -> bool:
    pk = instance.pk
    if isinstance(instance._meta.pk, CompositePrimaryKey):
        return all(part is not None for part in pk)
    return pk is not None


def _field_value(instance: Model, field: Any, where: str) -> Any:
    # The value as the instance holds it, so the receiver sees what a receiver
    # called at once would; a type this module has no tag for goes as the
    # field's own string form, as Django's serializers write it.
    value = field.value_from_object(instance)
    try:
        return _encode(value, where, False)
    except NotSerializable:
        text = field.value_to_string(instance)
        if not isinstance(text, str):
            raise
        return {TAG: "field", "text": text}


# --- worker side -----------------------------------------------------------------


def _decode(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_decode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if TAG not in value:
        return {key: _decode(item, f"{where}[{key!r}]") for key, item in value.items()}
    try:
        return _decode_tagged(value, where)
    except InvalidPayload:
        raise
    except (
        KeyError,
        TypeError,
        AttributeError,
        ValueError,
        ArithmeticError,
        ValidationError,
        ZoneInfoNotFoundError,
    ) as err:
        raise InvalidPayload(f"{where}: cannot read {_short(value)} ({err!r})") from err


def _decode_tagged(value: dict, where: str) -> Any:
    tag = value[TAG]
    if tag in _DECODERS:
        return _DECODERS[tag](value)
    if tag == "model":
        return _model(value["label"], where)
    if tag == "instance":
        return _decode_instance(value, where)
    if tag == "unsaved":
        return _decode_unsaved(value, where)
    if tag in ("set", "frozenset", "tuple"):
        items = [_decode(item, f"{where}[...]") for item in _list(value["items"])]
        return _COLLECTIONS[tag](items)
    if tag == "queryset":
        model = _model(value["label"], where)
        return model._base_manager.db_manager(_alias(value["db"], where)).none()
    if tag == "dict":
        items = value["items"]
        return {key: _decode(item, f"{where}[{key!r}]") for key, item in items.items()}
    if tag in _REGISTERED_TAGS:
        return _REGISTERED_TAGS[tag](_decode(value["value"], where))
    raise InvalidPayload(f"{where}: unknown tag {tag!r}")


def _decode_instance(value: dict, where: str) -> Model:
    model = _model(value["label"], where)
    db = _alias(value["db"], where)
    if "fields" in value and not _mode.get().as_sent:
        raise InvalidPayload(
            f"{where}: field values of a saved instance, in a payload not "
            "sent with missing='as_sent'"
        )
    pk = _read_pk(model, value["pk"], f"{where}.pk")
    try:
        return model._base_manager.db_manager(db).get(pk=pk)
    except model.DoesNotExist:
        if "fields" in value:
            return _decode_unsaved(value, where, adding=False)
        raise model.DoesNotExist(
            f"{where}: {model._meta.label} with pk {pk!r} no longer exists "
            f"in database {db!r}"
        ) from None


def _decode_unsaved(value: dict, where: str, adding: bool = True) -> Model:
    model = _model(value["label"], where)
    db = value.get("db")
    if db is not None:
        db = _alias(db, where)
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    # What did not travel stays deferred, as if left out of a query.
    values: dict[str, Any] = dict.fromkeys(by_attname, DEFERRED)
    for attname, raw in value["fields"].items():
        field = by_attname.get(attname)
        if field is None:
            raise InvalidPayload(f"{where}: {model._meta.label} has no {attname!r}")
        if isinstance(raw, dict) and raw.get(TAG) == "field":
            values[attname] = field.to_python(raw["text"])
        else:
            values[attname] = _decode(raw, f"{where}.{attname}")
    instance = model(**values)
    instance._state.db = db
    # Built by the model's __init__, which marks it as being added.
    instance._state.adding = adding
    return instance


def _read_pk(model: type[Model], raw: Any, where: str) -> Any:
    key = model._meta.pk
    if isinstance(key, CompositePrimaryKey):
        return tuple(
            read_key(field, part, f"{where}[{index}]")
            for index, (field, part) in enumerate(
                zip(key.fields, _list(raw), strict=True)
            )
        )
    return read_key(key, raw, where)


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


def _decode_datetime(value: dict) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(_text(value["value"]))
    if "zone" in value:
        moment = moment.astimezone(ZoneInfo(_text(value["zone"])))
    return moment


def _decode_time(value: dict) -> datetime.time:
    moment = datetime.time.fromisoformat(_text(value["value"]))
    if "zone" in value:
        moment = moment.replace(tzinfo=ZoneInfo(_text(value["zone"])))
    return moment


def _text(value: Any) -> str:
    # fromisoformat() and friends take only text; refuse anything else the
    # same way as malformed text.
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError(f"{value!r} is not a list")
    return value


def _timedelta(value: dict) -> datetime.timedelta:
    parts = (value["days"], value["seconds"], value["microseconds"])
    if not all(type(part) is int for part in parts):
        raise TypeError(f"{parts!r} are not whole numbers")
    return datetime.timedelta(*parts)


_DECODERS = {
    "datetime": _decode_datetime,
    "date": lambda value: datetime.date.fromisoformat(_text(value["value"])),
    "time": _decode_time,
    "timedelta": _timedelta,
    "decimal": lambda value: decimal.Decimal(_text(value["value"])),
    "uuid": lambda value: uuid.UUID(hex=_text(value["value"])),
}

_COLLECTIONS: dict[str, Any] = {"set": set, "frozenset": frozenset, "tuple": tuple}


def _model(label: Any, where: str) -> type[Model]:
    # Only models in the app registry: a label never leads to an import.
    try:
        app_label, _, model_name = label.partition(".")
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError, AttributeError):
        raise InvalidPayload(f"{where}: no installed model {label!r}") from None
    if model._meta.swapped:
        raise InvalidPayload(
            f"{where}: {label} is swapped for {model._meta.swapped}; it has no table"
        )
    return model


def _alias(db: Any, where: str) -> str:
    if not isinstance(db, str) or db not in connections.settings:
        raise InvalidPayload(f"{where}: no database {db!r}")
    return db


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
