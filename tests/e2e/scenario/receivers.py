"""
Receivers that write each delivery they get to a journal file.

The same receivers are connected with delivery="task" (run by the workers)
and with delivery="on_commit" (run by the driver). Each journal line is one
JSON object: which receiver, which process, and what identifies the event.
"""

import json
import os
from typing import Any

from signals_app.dispatch import receiver
from signals_app.signals import post_delete, post_save


def _write(how: str, event: list[Any], **details: Any) -> None:
    line = json.dumps({"how": how, "event": event, "pid": os.getpid(), **details})
    path = os.path.join(os.environ["SIGNALS_APP_SCENARIO"], "journal.jsonl")
    # One write of one line to a file opened for appending: lines from
    # several processes never interleave.
    with open(path, "a") as journal:
        journal.write(line + "\n")


def _saved(how: str, instance: Any, created: bool, using: str) -> None:
    _write(how, ["saved", using, instance.email, created])


def _deleted(how: str, instance: Any, using: str) -> None:
    # A deleted row reaches the worker as an unsaved instance, rebuilt from
    # its fields as they were when it was deleted.
    _write(how, ["deleted", using, instance.name], adding=instance._state.adding)


@receiver(
    post_save, sender="shop.Customer", dispatch_uid="scenario.saved", delivery="task"
)
def customer_saved(instance: Any, created: bool, using: str, **kwargs: Any) -> None:
    _saved("task", instance, created, using)


@receiver(
    post_save,
    sender="shop.Customer",
    dispatch_uid="scenario.saved.commit",
    delivery="on_commit",
)
def customer_saved_committed(
    instance: Any, created: bool, using: str, **kwargs: Any
) -> None:
    _saved("on_commit", instance, created, using)


@receiver(
    post_delete, sender="shop.Tag", dispatch_uid="scenario.deleted", delivery="task"
)
def tag_deleted(instance: Any, using: str, **kwargs: Any) -> None:
    _deleted("task", instance, using)


@receiver(
    post_delete,
    sender="shop.Tag",
    dispatch_uid="scenario.deleted.commit",
    delivery="on_commit",
)
def tag_deleted_committed(instance: Any, using: str, **kwargs: Any) -> None:
    _deleted("on_commit", instance, using)
