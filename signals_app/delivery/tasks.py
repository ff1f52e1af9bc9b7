"""
The task behind ``delivery="task"``: one signal, delivered to one receiver, in a worker.

Defined with Django's Tasks API: ``django.tasks`` on Django 6, the
``django-tasks`` backport (which signals-app's ``tasks`` extra brings) on
Django 5.2. Any backend runs it; with ``django-tasks-db``, ``manage.py
db_worker`` does.

The task is declared on the backend and queue the settings name: the Tasks
API checks a task against its backend as it is declared, and the backend
named ``"default"`` (the API's own default) may not exist, or may lack a
queue ``"default"``. This module is imported at the first send, not when a
receiver connects (``backend.target()``), and by the worker.
"""

import logging
import uuid
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist

from ..conf import app_settings
from . import payload
from .allowlist import UnknownReceiver, allowed
from .pause import queueing_paused


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

logger = logging.getLogger("signals_app.dispatch")
_skipped = logging.getLogger("signals_app.delivery")


# The Tasks API signals_app's own task is made with: Django's, where there is
# one, since the backends of today's projects are built on it.
_task: Any = _core_task or _backport_task
# Read as this module is imported, at the first send or in the worker (see
# the module's docstring); backend.target() binds the task again to the
# settings of each send.
_declared_on = {
    "backend": app_settings.TASK_BACKEND,
    "queue_name": app_settings.TASK_QUEUE,
}


@_task(**_declared_on)
def deliver(data: Any, event_id: str | None = None, missing: str = "fail") -> None:
    """
    Call the receiver that ``data``, made by ``payload.encode()``, is for.

    The receiver must be connected with ``delivery="task"`` in this process.
    A payload that is not one signals_app made, or that names a receiver not
    connected here, is logged and fails the task before anything is loaded
    or called. An error raised by the receiver fails the task too; the
    backend records it.

    ``event_id``, the id made when the call was queued, reaches the receiver
    as a ``uuid.UUID`` (None for a task queued without one). ``missing`` is
    ``Queued(missing=...)``'s: with ``"skip"``, a row that is gone ends the
    task without calling the receiver.
    """
    _deliver(data, event_id, missing)


if _core_task is not None and _backport_task is not None:
    # Django 6 with the backport installed too: backends built on the
    # backport (such as django-tasks-rq 0.12) take only its tasks.
    _backport: Any = _backport_task

    @_backport(**_declared_on)
    def deliver_on_backport(
        data: Any, event_id: str | None = None, missing: str = "fail"
    ) -> None:
        """``deliver``, for a backend written for the django-tasks backport."""
        _deliver(data, event_id, missing)


def task_for(api: Any) -> Any:
    """The task of ``deliver`` made with ``api``, the module of a Tasks API."""
    if api is not None and api.__name__ == "django_tasks" and _core_task is not None:
        return deliver_on_backport
    return deliver


def _deliver(data: Any, event_id: str | None, missing: str) -> None:
    try:
        name = payload.receiver_of(data)
        signal, receiver = allowed.resolve(name)
        event = _event(event_id)
        # Building the instances sends pre_init and post_init: those sends
        # are the worker's own, and must not queue tasks of their own.
        with queueing_paused():
            sender, kwargs = payload.decode(data)
    except (payload.InvalidPayload, UnknownReceiver) as err:
        logger.error("Refused a queued delivery: %s", err)
        raise
    except ObjectDoesNotExist as err:
        if missing != "skip":
            raise
        _skipped.info("Skipped %s (event %s): %s", name, event_id, err)
        return
    if iscoroutinefunction(receiver):
        async_to_sync(receiver)(signal=signal, sender=sender, event_id=event, **kwargs)
    else:
        receiver(signal=signal, sender=sender, event_id=event, **kwargs)


def _event(event_id: Any) -> uuid.UUID | None:
    if event_id is None:
        return None
    try:
        return uuid.UUID(event_id)
    except (TypeError, ValueError, AttributeError):
        raise payload.InvalidPayload(f"event_id {event_id!r} is not a UUID") from None
