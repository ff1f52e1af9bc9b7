"""
Reading a payload, in the worker: ``receiver_of()``, then ``decode()``.

The layout, and what is refused, are described in
``signals_app.delivery.payload``.
"""

import datetime
import decimal
import uuid
from contextvars import ContextVar
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import DEFERRED, CompositePrimaryKey, Model

from .encoding import written_as
from .payload import (
    READABLE_FORMATS,
    REGISTERED_TAGS,
    TAG,
    InvalidPayload,
    _readable_formats,
    _short,
)

__all__ = ["decode", "model_of", "read_key", "receiver_of"]

_KEYS = frozenset({"format", "receiver", "sender", "kwargs"})

# Whether the decode() under way reads the field values of saved instances.
_as_sent: ContextVar[bool] = ContextVar("signals_app_decoding_as_sent", default=False)


def receiver_of(payload: Any) -> str:
    """
    The name of the receiver ``payload`` is for, once its layout is checked.

    Nothing is looked up or loaded: that waits until the receiver is known
    to be allowed. Raise ``InvalidPayload`` for anything ``encode()`` could
    not have made.
    """
    if not isinstance(payload, dict) or set(payload) != _KEYS:
        raise InvalidPayload(f"not a signals_app payload: {_short(payload)}")
    version = payload["format"]
    # Exactly an int: 3.0 or true is no format anyone writes.
    if type(version) is not int or version not in READABLE_FORMATS:
        raise InvalidPayload(
            f"payload format {_short(version)}, this version reads "
            f"{_readable_formats()}"
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
    token = _as_sent.set(as_sent)
    try:
        sender = _decode(payload["sender"], "sender")
        kwargs = {
            name: _decode(value, name) for name, value in payload["kwargs"].items()
        }
    finally:
        _as_sent.reset(token)
    return sender, kwargs


def model_of(label: Any, where: str) -> type[Model]:
    """
    The model a payload's ``label`` names, looked up in the app registry
    only; raise ``InvalidPayload`` for a label that names none, or a
    swapped model. ``where`` names the place in the payload, for the message.
    """
    return _model(label, where)


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
    if not written_as(value, raw):
        raise InvalidPayload(
            f"{where}: {_short(raw)} is not how a value of "
            f"{field.model._meta.label}.{field.name} is written"
        )
    return value


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
    if tag in REGISTERED_TAGS:
        return REGISTERED_TAGS[tag](_decode(value["value"], where))
    raise InvalidPayload(f"{where}: unknown tag {tag!r}")


def _decode_instance(value: dict, where: str) -> Model:
    model = _model(value["label"], where)
    db = _alias(value["db"], where)
    if "fields" in value and not _as_sent.get():
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
