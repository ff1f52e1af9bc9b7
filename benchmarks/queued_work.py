"""
The work ``benchmarks/queued.py`` measures, in the driver and in the workers.

Two ways to run the same small job after a ``Product`` is saved: ours, a
``post_save`` receiver connected with ``delivery="task"``; and the floor, a
plain task of the Tasks API that a project without signals_app would
enqueue by hand, carrying the pk. Both read the row's fields and append one
line to the journal: the product's name and when the job started. Imported
by the benchmark app's ``ready()``, once settings and apps are there.
"""

import json
import os
import time
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

UID = "bench.product"


def connect() -> None:
    """Connect our queued receiver."""
    from signals_app.signals import post_save

    post_save.connect(
        product_saved, sender="shop.Product", dispatch_uid=UID, delivery="task"
    )


def disconnect() -> None:
    """Disconnect it, so that saves enqueue nothing of ours."""
    from signals_app.signals import post_save

    post_save.disconnect(sender="shop.Product", dispatch_uid=UID)


def product_saved(instance: Any, **kwargs: Any) -> None:
    """Ours: the receiver, given the instance the worker loaded."""
    _journal(instance.name)


def _tasks_api() -> Any:
    # What a project would write by hand: the Tasks API its backend is
    # built on (on Django 6, django-tasks-rq 0.12 still takes the backport's
    # tasks; django-tasks-db and Celery's backend take django.tasks').
    backend = import_string(settings.TASKS["default"]["BACKEND"])
    for klass in backend.__mro__:
        if klass.__module__.startswith("django.tasks."):
            return import_module("django.tasks")
        if klass.__module__.startswith("django_tasks."):
            return import_module("django_tasks")
    raise LookupError(f"{backend} is built on no Tasks API we know")


# On the queue signals_app's task is declared on: the Tasks API checks a
# task's queue against its backend as the task is declared, and the RQ and
# Celery settings name no queue "default".
@_tasks_api().task(queue_name=getattr(settings, "SIGNALS_APP_TASK_QUEUE", "default"))
def product_saved_floor(pk: int) -> None:
    """The floor: the same work as a plain task, given the pk."""
    from testproject.shop.models import Product

    _journal(Product.objects.get(pk=pk).name)


def enqueue_floor(pk: int) -> None:
    """Enqueue the floor's task for ``pk`` as a project would, on its queue."""
    product_saved_floor.enqueue(pk)


def _journal(name: str) -> None:
    # The worker: RQ runs each job in a child forked for it, whose
    # environment names the worker that forked it.
    worker = os.environ.get("RQ_WORKER_ID") or str(os.getpid())
    line = json.dumps({"name": name, "at": time.time(), "worker": worker})
    # One write of one short line, opened for appending: lines written by
    # several workers never interleave.
    with open(Path(os.environ["SIGNALS_APP_SCENARIO"]) / "journal.jsonl", "a") as f:
        f.write(line + "\n")
