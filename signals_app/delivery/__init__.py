"""
When a receiver is called: ``connect(..., delivery=...)``.

``"now"``
    During ``send()``, as Django does; the dispatcher's own, which needs
    nothing from this package.
``"on_commit"``
    Once the transaction on the signal's database commits (``on_commit``).
``"task"``
    In a worker, as a task of Django's Tasks API (``queued``, ``backend``),
    run only if the worker's own process connected it (``allowlist``), for a
    payload this project signed (``sealed``) that its connection could have
    sent (``admission``); ``Queued(missing=..., fields=...)`` for its options.

Importing this package registers ``"on_commit"`` and ``"task"`` with the
dispatcher (``signals_app.dispatch.deliveries``); the app's configuration
imports it as Django loads the app. ``send()`` responds for a receiver
delivered later with a ``Scheduled``, or with the error that kept it from
being queued.
"""

from ..dispatch.deliveries import register_delivery
from .allowlist import UnknownReceiver, allowed
from .common import Scheduled, ScheduledCall, scheduled_calls
from .naming import queued_name
from .on_commit import ON_COMMIT, OnCommit
from .pause import queueing_paused
from .payload import NotSerializable
from .queued import MISSING, QUEUED, Queued, run_in_process

__all__ = [
    "MISSING",
    "ON_COMMIT",
    "QUEUED",
    "NotSerializable",
    "OnCommit",
    "Queued",
    "Scheduled",
    "ScheduledCall",
    "UnknownReceiver",
    "allowed",
    "queued_name",
    "queueing_paused",
    "run_in_process",
    "scheduled_calls",
]

register_delivery(ON_COMMIT)
register_delivery(QUEUED)
