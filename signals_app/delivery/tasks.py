"""
The task behind ``delivery="task"``: one signal, delivered to one receiver, in a worker.

Defined with Django's Tasks API: ``django.tasks`` on Django 6, the
``django-tasks`` backport (``pip install signals-app[tasks]``) on Django 5.2.
Any backend runs it; with ``django-tasks-db``, ``manage.py db_worker`` does.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured

from . import payload
from .allowlist import UnknownReceiver, allowed
from .pause import queueing_paused

try:
    from django.tasks import task
except ImportError:
    try:
        from django_tasks import task
    except ImportError as err:
        raise ImproperlyConfigured(
            "delivery='task' runs receivers through Django's Tasks API: "
            "django.tasks on Django 6, or the django-tasks backport before "
            "(pip install signals-app[tasks])."
        ) from err

__all__ = ["deliver"]

logger = logging.getLogger("signals_app.dispatch")


@task
def deliver(data: Any) -> None:
    """
    Call the receiver that ``data``, made by ``payload.encode()``, is for.

    The receiver must be connected with ``delivery="task"`` in this process.
    A payload that is not one signals_app made, or that names a receiver not
    connected here, is logged and fails the task before anything is loaded
    or called. An error raised by the receiver fails the task too; the
    backend records it.
    """
    try:
        name = payload.receiver_of(data)
        signal, receiver = allowed.resolve(name)
        # Building the instances sends pre_init and post_init: those sends
        # are the worker's own, and must not queue tasks of their own.
        with queueing_paused():
            sender, kwargs = payload.decode(data)
    except (payload.InvalidPayload, UnknownReceiver) as err:
        logger.error("Refused a queued delivery: %s", err)
        raise
    if iscoroutinefunction(receiver):
        async_to_sync(receiver)(signal=signal, sender=sender, **kwargs)
    else:
        receiver(signal=signal, sender=sender, **kwargs)
