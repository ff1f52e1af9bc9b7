"""
The JSON payload of a queued delivery: one signal, for one receiver.

``encode()`` runs in the process that sends the signal, ``receiver_of()`` and
``decode()`` in the worker. What Django's signals send that JSON cannot hold
travels as a tagged object, ``{"__signals_app__": tag, ...}``:

``model``
    A model class (a model signal's ``sender``, m2m_changed's ``model``):
    its ``app_label.Model`` label. Back as the class.
``instance``
    A saved model instance: label, database alias and primary key. Loaded
    again, from that database, when the worker runs, so the receiver sees
    the row as it is then; a row deleted since is an error.
``unsaved``
    An instance that has no primary key yet, or that is being deleted (the
    ``instance`` and ``origin`` of ``pre_delete`` and ``post_delete``, whose
    rows are gone by the time a worker runs): the value of each concrete
    field at send time. Back as an unsaved instance built from them
    (``_state.adding`` is True), primary key included when it had one.
``queryset``
    A ``QuerySet`` (the ``origin`` of ``QuerySet.delete()``): its model and
    database. Back as an empty QuerySet of that model, since the rows it
    matched are gone.
``set``, ``frozenset``
    Their items (``pk_set`` of m2m_changed, ``update_fields`` of post_save).
``dict``
    A dict that itself has a ``"__signals_app__"`` key, so it is not read as
    a tag.

Anything else must be JSON already: None, booleans, finite numbers,
strings, lists and tuples (back as lists), dicts with string keys. Anything
that is not raises ``NotSerializable`` naming the argument, at send time.
"""

import math
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Model, QuerySet

__all__ = ["FORMAT", "InvalidPayload", "NotSerializable", "decode", "encode"]

#: The version of the payload's layout, checked by the worker.
FORMAT = 1

TAG = "__signals_app__"

_KEYS = frozenset({"format", "receiver", "sender", "kwargs"})
_JSON_SCALARS = (str, bool, int, type(None))


class NotSerializable(TypeError):
    """An argument of a signal that a queued receiver cannot be sent as JSON."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"argument {argument!r} {problem}")
        #: The argument's name, with the path into it for a nested value
        #: (``"details['when']"``).
        self.argument = argument


class InvalidPayload(ValueError):
    """A payload that is not one ``encode()`` makes: tampered with, or stale."""


def encode(
    receiver: str, sender: Any, named: dict[str, Any], *, deleting: bool
) -> dict:
    """
    The payload delivering ``sender`` and ``named`` to the queued receiver
    named ``receiver``.

    ``deleting`` says the signal is sent while model instances among the
    arguments are being deleted, so they travel as their field values.
    Raise ``NotSerializable`` for an argument that cannot travel.
    """
    return {
        "format": FORMAT,
        "receiver": receiver,
        "sender": _encode(sender, "sender", deleting),
        "kwargs": {
            name: _encode(value, name, deleting) for name, value in named.items()
        },
    }


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


def decode(payload: dict) -> tuple[Any, dict[str, Any]]:
    """
    The sender and the keyword arguments in a payload ``receiver_of()`` read.

    Model instances are loaded from the database here. Raise
    ``InvalidPayload`` for a value that ``encode()`` could not have made,
    and the model's ``DoesNotExist`` for an instance whose row is gone.
    """
    sender = _decode(payload["sender"], "sender")
    kwargs = {name: _decode(value, name) for name, value in payload["kwargs"].items()}
    return sender, kwargs


# --- sending side ----------------------------------------------------------------


def _encode(value: Any, where: str, deleting: bool) -> Any:
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotSerializable(where, f"is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, Model):
        return _encode_instance(value, where, deleting)
    if isinstance(value, type) and issubclass(value, Model):
        return {TAG: "model", "label": value._meta.label}
    if isinstance(value, list | tuple):
        return [
            _encode(item, f"{where}[{index}]", deleting)
            for index, item in enumerate(value)
        ]
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotSerializable(
                    where, f"has the key {key!r}; JSON objects have string keys"
                )
            items[key] = _encode(item, f"{where}[{key!r}]", deleting)
        return {TAG: "dict", "items": items} if TAG in items else items
    if isinstance(value, set | frozenset):
        tag = "frozenset" if isinstance(value, frozenset) else "set"
        items = [_encode(item, f"{where}[...]", deleting) for item in value]
        return {TAG: tag, "items": items}
    if isinstance(value, QuerySet):
        return {TAG: "queryset", "label": value.model._meta.label, "db": value.db}
    raise NotSerializable(
        where,
        f"is a {type(value).__module__}.{type(value).__qualname__}, which is not "
        "JSON-serialisable; receivers connected with delivery='task' get their "
        "arguments as JSON (model instances and classes, sets and querysets "
        "are converted)",
    )


def _encode_instance(instance: Model, where: str, deleting: bool) -> dict:
    meta = instance._meta
    if deleting or instance.pk is None:
        deferred = instance.get_deferred_fields()
        fields = {
            field.attname: _field_value(instance, field, f"{where}.{field.attname}")
            for field in meta.concrete_fields
            # Generated fields cannot be set; deferred ones were never loaded
            # (and cannot be once the row is gone).
            if not getattr(field, "generated", False) and field.attname not in deferred
        }
        return {TAG: "unsaved", "label": meta.label, "fields": fields}
    db = instance._state.db or router.db_for_read(type(instance), instance=instance)
    pk = instance.pk
    if not isinstance(pk, _JSON_SCALARS):
        pk = meta.pk.value_to_string(instance)
    return {TAG: "instance", "label": meta.label, "db": db, "pk": pk}


def _field_value(instance: Model, field: Any, where: str) -> Any:
    # As Django's serializers do: JSON values as they are, everything else as
    # the field's own string form, which its to_python() reads back.
    value = field.value_from_object(instance)
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    text = field.value_to_string(instance)
    if isinstance(text, str):
        return text
    # A JSONField gives its value as it is: plain JSON, read back as is.
    return _plain_json(text, where)


def _plain_json(value: Any, where: str) -> Any:
    if isinstance(value, _JSON_SCALARS) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        return value
    if isinstance(value, list | tuple):
        return [_plain_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {
            key: _plain_json(item, f"{where}[{key!r}]") for key, item in value.items()
        }
    raise NotSerializable(where, f"holds {value!r}, which is not plain JSON")


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
    except (KeyError, TypeError, AttributeError, ValidationError) as err:
        raise InvalidPayload(f"{where}: cannot read {_short(value)} ({err!r})") from err


def _decode_tagged(value: dict, where: str) -> Any:
    tag = value[TAG]
    if tag == "model":
        return _model(value["label"], where)
    if tag == "instance":
        model = _model(value["label"], where)
        db = _alias(value["db"], where)
        pk = model._meta.pk.to_python(value["pk"])
        try:
            return model._base_manager.db_manager(db).get(pk=pk)
        except model.DoesNotExist:
            raise model.DoesNotExist(
                f"{where}: {model._meta.label} with pk {pk!r} no longer exists "
                f"in database {db!r}"
            ) from None
    if tag == "unsaved":
        model = _model(value["label"], where)
        by_attname = {field.attname: field for field in model._meta.concrete_fields}
        values = {}
        for attname, raw in value["fields"].items():
            field = by_attname.get(attname)
            if field is None:
                raise InvalidPayload(f"{where}: {model._meta.label} has no {attname!r}")
            values[attname] = field.to_python(raw)
        return model(**values)
    if tag in ("set", "frozenset"):
        items = [_decode(item, f"{where}[...]") for item in value["items"]]
        return frozenset(items) if tag == "frozenset" else set(items)
    if tag == "queryset":
        model = _model(value["label"], where)
        return model._base_manager.db_manager(_alias(value["db"], where)).none()
    if tag == "dict":
        items = value["items"]
        return {key: _decode(item, f"{where}[{key!r}]") for key, item in items.items()}
    raise InvalidPayload(f"{where}: unknown tag {tag!r}")


def _model(label: Any, where: str) -> type[Model]:
    # Only models in the app registry: a label never leads to an import.
    try:
        app_label, _, model_name = label.partition(".")
        return apps.get_model(app_label, model_name)
    except (LookupError, ValueError, AttributeError):
        raise InvalidPayload(f"{where}: no installed model {label!r}") from None


def _alias(db: Any, where: str) -> str:
    if not isinstance(db, str) or db not in connections.settings:
        raise InvalidPayload(f"{where}: no database {db!r}")
    return db


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
