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

``FORMAT`` is 6: the task's one argument is the signed text, a JSON array
of the format, the event id's 32 random hexadecimal digits (the worker
makes the version 4 UUID of them), ``missing``, the receiver's name, the
sender (left out when it is the model of the ``instance`` argument) and the
other arguments (see ``sealed``). Format 5 was the same array with the
event id as a UUID's text and the sender always written: 56 characters
longer for a ``post_save``. Formats 3 and 4 signed the same payload as a
JSON object, ``{"event_id", "missing", "payload"}``, the payload with its
``format`` and the names of its parts, about 70 characters more to write,
sign and store per task; format 3 also repeated the event id and
``missing`` as task arguments. A worker of this release still reads all
three (``READABLE_FORMATS``), so tasks queued before an upgrade run after
it, while a worker of an earlier release refuses a format 6 task ("not a
signals_app payload"): upgrade the workers first. Format 2 was not signed,
sent every field of a deleted instance, password hashes included, and let
missing field values take their defaults; format 1 also sent tuples as
lists, refused dates and times, durations, decimals and UUIDs, sent primary
keys other than strings and integers in their string form, and did not
carry an unsaved instance's database. A worker refuses a payload of any
other format before loading anything (``InvalidPayload``): tasks queued by
such a release must be run by its workers before upgrading.

What ``decode()`` refuses, before any query: a label that names no installed
model, or a swapped one (``auth.User`` under a custom ``AUTH_USER_MODEL``:
it has no table); a database alias not in ``DATABASES``; a primary key that
is not exactly what ``encode()`` writes for a key of that model (``true``
or ``1.0`` for the key ``1``); field values of a saved instance, unless the
payload is decoded ``as_sent``.
"""

import json
from collections.abc import Callable
from typing import Any

__all__ = [
    "FORMAT",
    "READABLE_FORMATS",
    "TAG",
    "InvalidPayload",
    "NotSerializable",
    "register_type",
]

#: The version of the payload's layout, written by ``encode()`` and ``seal()``.
FORMAT = 6

#: The versions a worker reads: formats 3, 4 and 5 differ only in how the
#: signed text holds the payload and the event id, and format 3 in the
#: task's arguments, which repeated the signed event id and ``missing``.
READABLE_FORMATS = frozenset({3, 4, 5, 6})

#: The key that marks a JSON object as a tagged value.
TAG = "__signals_app__"

# The JSON writer of payloads, made once: json.dumps() with options builds
# an encoder per call. What it writes is built afresh by encoding, which
# holds no cycles, so the encoder need not look for them.
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False)


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


#: Tags of the types registered by ``register_type()``, by class and by tag;
#: read by ``encoding`` and ``decoding``.
REGISTERED_TYPES: dict[type, tuple[str, Callable[[Any], Any]]] = {}
REGISTERED_TAGS: dict[str, Callable[[Any], Any]] = {}
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
    for other, (other_tag, _) in REGISTERED_TYPES.items():
        if other_tag == tag and other is not cls:
            raise ValueError(f"The tag {tag!r} is registered for {other!r}.")
    REGISTERED_TYPES[cls] = (tag, encode)
    REGISTERED_TAGS[tag] = decode


def _readable_formats() -> str:
    # As an error message names them: "3, 4, 5 and 6".
    *others, last = sorted(READABLE_FORMATS)
    return f"{', '.join(map(str, others))} and {last}" if others else str(last)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
