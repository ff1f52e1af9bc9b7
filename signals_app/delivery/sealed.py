"""
Signed payloads: what tells a worker that a task was written by this project.

A task's first argument is text: a JSON array holding the payload format,
the event id (its 32 random hexadecimal digits, of which the worker makes a
version 4 UUID), ``missing``, the receiver's name, the sender and the
signal's other arguments (the parts of ``encoding.encode()``'s payload; the
event id first, so a backend that logs the start of a task's arguments
shows it), a colon, and a signature of that text exactly as
``django.core.signing.Signer(salt=SALT)`` writes one: HMAC-SHA256 of the
text, keyed by SHA-256 of the salt, the word ``signer`` and
``SECRET_KEY``, in unpadded URL-safe base64. ``unseal()``
compares it, in constant time, with the signature under ``SECRET_KEY`` and
then each of ``SECRET_KEY_FALLBACKS``, so keys can be rotated while tasks
wait in a queue. The document stays readable in a task table or a broker;
only whoever holds the key can change it unnoticed.

Signatures do not expire. A task may wait hours in a queue (a worker down
for a deploy, a backlog, a retry): an age limit would drop real events, and
would not stop a replay inside the limit either. What a replay can and cannot
do is in the threat model of the documentation.

Signing costs one HMAC of the text, and no query: the key derived from each
secret is kept, keyed by the secret itself, and the producer keeps the one
of ``SECRET_KEY`` until ``setting_changed`` says it changed, so a changed
``SECRET_KEY`` (``override_settings``, the ``settings`` fixture of
pytest-django) takes effect at the next call; a rotation is a restart with
new settings. ``missing``, the receiver and the sender are the same for
every send of one connection for one sender: ``shared_part()`` writes them
apart, so that a producer can keep them, and ``seal_arguments()`` puts the
text together.

A model sender that is the model of the ``instance`` argument (as Django
sends its model signals) is left out, the array one part shorter: the
worker reads it from the instance's label.

Format 5 tasks held the same array, always with the sender, and the event
id as a UUID's text; format 3 and 4 tasks held the same parts as a JSON
object, ``{"event_id", "missing", "payload": {"format", "receiver",
"sender", "kwargs"}}``; ``unseal()`` still reads both.
"""

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from .payload import _JSON, FORMAT, TAG, InvalidPayload, _readable_formats

__all__ = [
    "SALT",
    "Sealed",
    "claimed",
    "seal",
    "seal_arguments",
    "shared_part",
    "unseal",
]

#: The salt of the signatures, so that no other signed value of the project
#: (a cookie, a password reset token) can pass for a payload, or the reverse.
SALT = "signals_app.delivery.sealed"

# The keys of a format 3 or 4 document.
_KEYS = frozenset({"event_id", "missing", "payload"})

# The HMAC keyed for SECRET_KEY, once a task has been signed (_current_key()).
_current: "hmac.HMAC | None" = None

# The tags of an instance, whose label names its model.
_INSTANCE_TAGS = frozenset({"instance", "unsaved"})

# The formats whose signed text is an array: 5 held the event id as a
# UUID's text, 6 as its hexadecimal digits.
_ARRAY_FORMATS = frozenset({5, FORMAT})


@dataclass(frozen=True)
class Sealed:
    """What ``unseal()`` reads from a task, once the signature holds."""

    #: The payload, as ``payload.encode()`` made it.
    payload: dict
    event_id: str
    #: ``Queued(missing=...)`` of the connection, at send time.
    missing: str


def seal(payload: dict, event_id: str, missing: str) -> str:
    """
    The signed text a task carries for ``payload``, made by ``encode()``,
    and ``event_id``, the text of a version 4 UUID, which the worker reads
    back as it is.
    """
    shared = shared_part(payload["receiver"], payload["sender"], missing)
    hexa = uuid.UUID(event_id).hex
    return seal_arguments(shared, hexa, _JSON.encode(payload["kwargs"]))


def shared_part(
    receiver: str, sender: Any, missing: str, *, implied: bool = False
) -> str:
    """
    The part of the signed text of a task for the receiver named
    ``receiver`` that every send of one connection for one sender shares:
    ``missing``, the name, and ``sender`` as ``encode()`` wrote it. With
    ``implied``, the sender is left out: it is a model, and the model of
    the ``instance`` argument, which the worker reads it from.
    """
    parts = [missing, receiver] if implied else [missing, receiver, sender]
    return _JSON.encode(parts)[1:-1]


def seal_arguments(shared: str, event_id: str, arguments: str) -> str:
    """
    The signed text of a task: the format, the event id, ``shared`` (made
    by ``shared_part()``) and ``arguments``, the JSON text of the signal's
    other arguments as ``encoding.arguments_text()`` writes them.

    ``event_id`` is written as it is: 32 hexadecimal digits, of which the
    worker makes a version 4 UUID (``uuid.UUID(event_id, version=4)``).
    """
    text = f'[{FORMAT},"{event_id}",{shared},{arguments}]'
    return f"{text}:{_signed(_current_key(), text)}"


def unseal(data: Any, event_id: Any = None, missing: Any = None) -> Sealed:
    """
    The payload in ``data``, the task's first argument, if this project
    signed it. ``event_id`` and ``missing`` are the task's other arguments,
    if any: tasks of payload format 3 repeated the signed ones there, and
    where given they must match them; format 4, 5 and 6 tasks have none.

    Raise ``InvalidPayload`` for anything else, saying why: a payload of an
    older format, text that is not signed, or signed with a key that is
    neither ``SECRET_KEY`` nor one of ``SECRET_KEY_FALLBACKS``, arguments
    that differ from the signed ones.
    """
    if isinstance(data, dict) and "format" in data:
        raise InvalidPayload(
            f"payload format {_short(data['format'])}, this version reads "
            f"{_readable_formats()}, signed: a task queued by an older release of "
            "signals_app; run such tasks with workers of that release before "
            "upgrading"
        )
    if not isinstance(data, str):
        raise InvalidPayload(f"not a signals_app payload: {_short(data)}")
    text, colon, signature = data.rpartition(":")
    if not colon or not _signed_by_us(text, signature):
        raise InvalidPayload(
            "bad signature: the task was not written by this project, was "
            "changed since, or was signed with a key that is no longer in "
            "SECRET_KEY or SECRET_KEY_FALLBACKS"
        ) from None
    opened = _opened(json.loads(text))
    given = (event_id, missing)
    if given != (None, None) and given != (opened.event_id, opened.missing):
        raise InvalidPayload(
            f"the task's event_id {_short(event_id)} and missing "
            f"{_short(missing)} are not the signed ones"
        )
    return opened


def _opened(document: Any) -> Sealed:
    # Signed, so written by us; its layout is checked all the same, as a
    # key once leaked would let anyone sign anything.
    if _is_array(document):
        if len(document) == 5:
            # No sender: the model of the instance is the sender.
            version, event_id, missing, receiver, kwargs = document
            sender = _model_of_instance(kwargs)
        else:
            version, event_id, missing, receiver, sender, kwargs = document
        if version == FORMAT:
            event_id = _event_text(event_id)
        payload = {
            "format": FORMAT,
            "receiver": receiver,
            "sender": sender,
            "kwargs": kwargs,
        }
        return Sealed(payload, event_id, missing)
    if isinstance(document, dict) and set(document) == _KEYS:
        return Sealed(document["payload"], document["event_id"], document["missing"])
    raise InvalidPayload(f"not a signals_app payload: {_short(document)}")


def _is_array(document: Any) -> bool:
    # Exactly the int: true or 5.0 is no format anyone writes. Format 6
    # leaves out a sender that is the model of the instance sent.
    return (
        isinstance(document, list)
        and (len(document) == 6 or (len(document) == 5 and document[0] == FORMAT))
        and type(document[0]) is int
        and document[0] in _ARRAY_FORMATS
    )


def _model_of_instance(kwargs: Any) -> dict:
    # The sender, as encode() writes a model, of the instance whose model it is.
    instance = kwargs.get("instance") if isinstance(kwargs, dict) else None
    if isinstance(instance, dict) and instance.get(TAG) in _INSTANCE_TAGS:
        label = instance.get("label")
        if isinstance(label, str):
            return {TAG: "model", "label": label}
    raise InvalidPayload(
        f"no sender, and no instance whose model is the sender: {_short(kwargs)}"
    )


def _event_text(event_id: Any) -> str:
    # Format 6 carries the event id's 32 random hexadecimal digits; the
    # version 4 UUID is made of them here, the same for every run of a task.
    if type(event_id) is not str or len(event_id) != 32:
        raise InvalidPayload(f"event_id {_short(event_id)} is not 32 hex digits")
    try:
        return str(uuid.UUID(event_id, version=4))
    except ValueError:
        raise InvalidPayload(
            f"event_id {_short(event_id)} is not 32 hex digits"
        ) from None


def claimed(data: Any) -> tuple[str, str]:
    """
    The receiver and the event id a task says it is for, signed or not, for
    log lines about a task refused before its signature was checked; each
    ``"?"`` where the task says none.
    """
    try:
        document = json.loads(data.rpartition(":")[0])
    except (AttributeError, TypeError, ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the parser goes.
        return "?", "?"
    if _is_array(document):
        event_id = document[1]
        if document[0] == FORMAT:
            # A claim that is no event id is logged as it stands.
            with contextlib.suppress(InvalidPayload):
                event_id = _event_text(event_id)
        return _loggable(document[3]), _loggable(event_id)
    payload = document.get("payload") if isinstance(document, dict) else None
    receiver = payload.get("receiver") if isinstance(payload, dict) else None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return _loggable(receiver), _loggable(event_id)


def _loggable(said: Any) -> str:
    if not isinstance(said, str):
        return "?"
    if not said.isprintable():
        # Unsigned text must not start a log line of its own.
        said = repr(said)
    return said if len(said) <= 200 else said[:197] + "..."


def _signed_by_us(text: str, signature: str) -> bool:
    given = signature.encode("utf-8", "surrogatepass")
    return any(
        hmac.compare_digest(given, _signature(secret, text).encode())
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    )


def _signature(secret: str | bytes, text: str) -> str:
    return _signed(_keyed(secret), text)


def _current_key() -> "hmac.HMAC":
    # The key of SECRET_KEY as it stands, until setting_changed says it
    # changed: each read of a setting goes through LazySettings' Python
    # __getattribute__, which cost a task more than hashing its event id.
    global _current
    if _current is None:
        # Connected by the first task signed, not when the module loads.
        setting_changed.connect(_forget, dispatch_uid="signals_app.delivery.sealed")
        _current = _keyed(settings.SECRET_KEY)
    return _current


def _forget(*, setting: str, **kwargs: Any) -> None:
    global _current
    if setting == "SECRET_KEY":
        _current = None


def _signed(keyed: "hmac.HMAC", text: str) -> str:
    mac = keyed.copy()
    # Text of a forged task may hold lone surrogates: they are hashed as
    # they come, and cannot match.
    mac.update(text.encode("utf-8", "surrogatepass"))
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


@functools.lru_cache(maxsize=8)
def _keyed(secret: str | bytes) -> "hmac.HMAC":
    # An HMAC with its key set up, copied for each text: deriving the key
    # and hashing its pads cost more than signing a payload.
    if isinstance(secret, str):
        secret = secret.encode()
    key = hashlib.sha256(f"{SALT}signer".encode() + secret).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
