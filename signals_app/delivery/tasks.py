"""
The task behind ``delivery="task"``: one signal, delivered to one receiver, in a worker.

Defined with Django's Tasks API: ``django.tasks`` on Django 6, the
``django-tasks`` backport (which signals-app's ``tasks`` extra brings) on
Django 5.2. Any backend runs it; with ``django-tasks-db``, ``manage.py
db_worker`` does.

The task is declared on the backend and queue the settings name: the Tasks
API checks a task against its backend as it is declared, and the backend
named ``"default"`` (the API's own default) may not exist, or may lack a
queue ``"default"``. This module is imported as the first receiver connects
with ``delivery="task"`` (``backend.prepare_worker()``), where the task
settings let it import, and otherwise at the first send
(``backend.target()``), which reports why it cannot.

The Tasks API and the backends log each task by its import path alone
(``signals_app.delivery.tasks.deliver``), kept as it is for the tasks already
queued. So the worker logs lines of its own on ``signals_app.delivery.worker``,
each naming the receiver and the event id: INFO as it calls the receiver,
WARNING for a call skipped (``missing="skip"``), ERROR for a task refused
(with the reason) or failed.
"""

import logging
import uuid
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist

from ..conf import app_settings
from . import decoding, sealed
from .admission import admit
from .allowlist import UnknownReceiver, allowed
from .pause import queueing_paused
from .payload import InvalidPayload


def _task_decorator(api: str) -> Any:
    try:
        return import_module(api).task
    except ImportError:
        return None


# Django's own Tasks API (Django 6) and the django-tasks backport.
_core_task = _task_decorator("django.tasks")
_backport_task = _task_decorator("django_tasks")
if _core_task is None and _backport_task is None:
    raise ImproperlyConfigured(
        "delivery='task' runs receivers through Django's Tasks API: "
        "django.tasks on Django 6, or the django-tasks backport before "
        "(signals-app's 'tasks' extra brings it)."
    )

__all__ = ["deliver", "task_for"]

#: Where the worker says what it does with each task.
logger = logging.getLogger("signals_app.delivery.worker")


# The Tasks API signals_app's own task is made with: Django's, where there is
# one, since the backends of today's projects are built on it.
_task: Any = _core_task or _backport_task
# Read as this module is imported (see the module's docstring);
# backend.target() binds the task again to the settings of each send.
_declared_on = {
    "backend": app_settings.TASK_BACKEND,
    "queue_name": app_settings.TASK_QUEUE,
}


@_task(**_declared_on)
def deliver(data: Any, event_id: str | None = None, missing: str | None = None) -> None:
    """
    Call the receiver that ``data``, a payload signed by ``sealed.seal()``,
    is for.

    The receiver must be connected with ``delivery="task"`` in this process,
    and the payload be one its connections could have sent (``admission``).
    A payload that is not signed by this project, or that fails those
    checks, is logged and fails the task before anything is loaded or
    called. An error raised by the receiver fails the task too; the backend
    records it.

    The id made when the call was queued reaches the receiver as its
    ``event_id``, a ``uuid.UUID``. ``Queued(missing=...)`` is signed in
    ``data`` too: with ``"skip"``, a row that is gone ends the task without
    calling the receiver. Tasks of payload format 3 also carry both as the
    arguments ``event_id`` and ``missing``, which must match the signed ones;
    format 4, 5 and 6 tasks carry ``data`` alone.
    """
    _deliver(data, event_id, missing)


if _core_task is not None and _backport_task is not None:
    # Django 6 with the backport installed too: backends built on the
    # backport (such as django-tasks-rq 0.12) take only its tasks.
    _backport: Any = _backport_task

    @_backport(**_declared_on)
    def deliver_on_backport(
        data: Any, event_id: str | None = None, missing: str | None = None
    ) -> None:
        """``deliver``, for a backend written for the django-tasks backport."""
        _deliver(data, event_id, missing)


def task_for(api: Any) -> Any:
    """The task of ``deliver`` made with ``api``, the module of a Tasks API."""
    if api is not None and api.__name__ == "django_tasks" and _core_task is not None:
        return deliver_on_backport
    return deliver


def _deliver(data: Any, event_id: str | None, missing: str | None) -> None:
    # Until the signature holds, the event id is only what the task claims
    # (format 3 passes it beside the signed text; formats 4 to 6 only inside it).
    name, shown = None, None if event_id is None else _shown(event_id)
    try:
        unsealed = sealed.unseal(data, event_id, missing)
        shown, missing = _shown(unsealed.event_id), unsealed.missing
        name = decoding.receiver_of(unsealed.payload)
        signal, receiver, connections = allowed.deliverable(name)
        admit(signal, connections, unsealed.payload)
        event = _event(unsealed.event_id)
        # Building the instances sends pre_init and post_init: those sends
        # are the worker's own, and must not queue tasks of their own.
        with queueing_paused():
            sender, kwargs = decoding.decode(
                unsealed.payload, as_sent=missing == "as_sent"
            )
    except (InvalidPayload, UnknownReceiver) as err:
        # What the task claims, when it was refused before the signed text
        # said: parsed only here, since a task that runs never needs it.
        if name is None or shown is None:
            claimed_name, claimed_event = sealed.claimed(data)
            name, shown = name or claimed_name, shown or claimed_event
        logger.error(
            "Refused the queued delivery to %s (event %s): %s", name, shown, err
        )
        raise
    except ObjectDoesNotExist as err:
        if missing != "skip":
            logger.error("Failed to deliver to %s (event %s): %s", name, shown, err)
            raise
        logger.warning("Skipped %s (event %s): %s", name, shown, err)
        return
    logger.info("Delivering to %s (event %s)", name, shown)
    try:
        if iscoroutinefunction(receiver):
            async_to_sync(receiver)(
                signal=signal, sender=sender, event_id=event, **kwargs
            )
        else:
            receiver(signal=signal, sender=sender, event_id=event, **kwargs)
    except Exception as err:
        # The traceback is the backend's to record, under the task's path.
        logger.error("Failed to deliver to %s (event %s): %r", name, shown, err)
        raise


def _shown(event_id: Any) -> str:
    # As a log line shows it: text that cannot start a line of its own.
    text = str(event_id)
    return text if text.isprintable() and len(text) <= 80 else repr(text)[:80]


def _event(event_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(event_id)
    except (TypeError, ValueError, AttributeError):
        raise InvalidPayload(f"event_id {event_id!r} is not a UUID") from None
