"""
What a worker admits: only a payload its receiver's connections could have sent.

A signed payload (``sealed``) was written by this project, but the worker
still holds it to the connections of the receiver it names, as they are in
the worker's own process, before anything is loaded:

- its sender is one a connection was made for: the very sender (a model by
  its label, any other value by its JSON, types included), or any sender
  for a connection made without one;
- for Django's model signals, the sender is a model, and the arguments are
  of the models that signal sends for it: the ``instance`` of the sender (a
  subclass too, as a proxy is), m2m_changed's ``instance`` and ``model`` the
  two sides of the many-to-many whose through model is the sender, each key
  of its ``pk_set`` written as a key of ``model``; ``using`` a database in
  ``DATABASES``, and post_save's instance from that very database.

``payload.decode()`` then refuses, for any signal, labels of models that
are not installed or are swapped, aliases not in ``DATABASES``, and keys
``encode()`` would not have written. Arguments of your own signals are held
to those rules only: which models they carry is theirs to say.
"""

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import connections as databases
from django.db.models import Model
from django.db.models import signals as model_signals

from ..dispatch.connections import NONE_ID, Connection
from .decoding import model_of, read_key
from .encoding import written_as
from .payload import TAG, InvalidPayload

__all__ = ["admit"]

# Known by identity: signals_app makes Django's own objects its own.
_WITH_INSTANCE = (
    model_signals.post_init,
    model_signals.pre_save,
    model_signals.post_save,
    model_signals.pre_delete,
    model_signals.post_delete,
)
_WITH_USING = (*_WITH_INSTANCE[1:], model_signals.m2m_changed)
_MODEL_SIGNALS = (model_signals.pre_init, *_WITH_INSTANCE, model_signals.m2m_changed)


def admit(signal: Any, connections: list[Connection], payload: dict) -> None:
    """
    Raise ``InvalidPayload``, saying why, unless one of ``connections`` (the
    connections of the payload's receiver to ``signal``) could have sent
    ``payload``, as ``receiver_of()`` checked its layout.
    """
    sender = payload["sender"]
    if not any(_accepts(connection, sender) for connection in connections):
        raise InvalidPayload(
            f"sender {_short(sender)} is not one the receiver is connected for"
        )
    if _among(signal, _MODEL_SIGNALS):
        _admit_model_signal(
            signal, model_of(_label(sender, "sender"), "sender"), payload
        )


def _accepts(connection: Connection, sender: Any) -> bool:
    if connection.sender_id == NONE_ID:
        return True
    return connection.sender is not None and written_as(connection.sender, sender)


def _admit_model_signal(signal: Any, sender: type[Model], payload: dict) -> None:
    kwargs = payload["kwargs"]
    if _among(signal, _WITH_USING):
        using = kwargs.get("using")
        if not isinstance(using, str) or using not in databases.settings:
            raise InvalidPayload(f"using: no database {_short(using)}")
    if signal is model_signals.m2m_changed:
        _admit_m2m(sender, kwargs)
        return
    if not _among(signal, _WITH_INSTANCE):
        return
    instance = kwargs.get("instance")
    model = model_of(_label(instance, "instance", _INSTANCE), "instance")
    if not issubclass(model, sender):
        raise InvalidPayload(
            f"instance: a {model._meta.label}, sent for {sender._meta.label}"
        )
    if signal is model_signals.post_save and instance.get("db") != kwargs["using"]:
        # Django saves, then records the database, then sends post_save.
        raise InvalidPayload(
            f"instance: from database {_short(instance.get('db'))}, saved with "
            f"using={kwargs['using']!r}"
        )


def _admit_m2m(through: type[Model], kwargs: dict) -> None:
    reverse = kwargs.get("reverse")
    if not isinstance(reverse, bool):
        raise InvalidPayload(f"reverse: {_short(reverse)} is not a boolean")
    # A saved instance: rows are added to and removed from its relation.
    instance = model_of(_label(kwargs.get("instance"), "instance", _SAVED), "instance")
    model = model_of(_label(kwargs.get("model"), "model"), "model")
    for source, target in _sides(through):
        if reverse:
            source, target = target, source
        if issubclass(instance, source) and model is target:
            break
    else:
        raise InvalidPayload(
            f"{through._meta.label} does not relate a {instance._meta.label} "
            f"to {model._meta.label} (reverse={reverse})"
        )
    pk_set = kwargs.get("pk_set")
    if pk_set is None:
        return
    if not (isinstance(pk_set, dict) and pk_set.get(TAG) == "set"):
        raise InvalidPayload(f"pk_set: {_short(pk_set)} is not a set")
    key = _key_of(through, model)
    for index, raw in enumerate(pk_set["items"]):
        read_key(key, raw, f"pk_set[{index}]")


def _sides(through: type[Model]) -> Iterator[tuple[type[Model], type[Model]]]:
    # The many-to-many fields whose rows are those of ``through``: one for
    # an auto-created table, or for each field naming it as its through.
    for model in apps.get_models():
        for field in model._meta.local_many_to_many:
            if field.remote_field.through is through:
                yield model, field.related_model


def _key_of(through: type[Model], model: type[Model]) -> Any:
    # pk_set holds what the through table's foreign key to ``model`` stores:
    # the key of ``model`` that foreign key points to.
    for field in through._meta.fields:
        if field.many_to_one and field.related_model is model:
            return field.target_field
    raise InvalidPayload(f"{through._meta.label} has no key to {model._meta.label}")


# The tags that may stand for an argument, and how a message names them.
_MODEL = (("model",), "a model")
_INSTANCE = (("instance", "unsaved"), "a model instance")
_SAVED = (("instance",), "a saved model instance")


def _label(value: Any, where: str, kind: tuple[tuple[str, ...], str] = _MODEL) -> Any:
    tags, what = kind
    if not isinstance(value, dict) or value.get(TAG) not in tags:
        raise InvalidPayload(f"{where}: {_short(value)} is not {what}")
    return value.get("label")


def _among(signal: Any, signals: tuple[Any, ...]) -> bool:
    return any(signal is each for each in signals)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
