"""
What the demo listens to. Each receiver says what it heard on the
``testproject.demo`` logger, which ``manage.py demo`` prints; the queued one
runs in a worker process, so it leaves a ``Note`` the demo reads back.
"""

import logging
import os
from typing import Any

from signals_app.bulk import OldValues, post_update
from signals_app.changes import Changed, Created
from signals_app.delivery import Queued
from signals_app.dispatch import receiver
from signals_app.signals import post_save

logger = logging.getLogger(__name__)

#: How the worker's receiver marks the notes it leaves.
INDEXED = "demo: indexed"


@receiver(
    post_save,
    sender="shop.Order",
    when=Changed("status", to="paid"),
    dispatch_uid="demo.order_paid",
)
def order_paid(sender: Any, instance: Any, changes: Any, **kwargs: Any) -> None:
    status = changes["status"]
    # The values as stored: choices arrive as their enum members.
    logger.info(
        "order_paid: order %s, status %r -> %r",
        instance.number,
        str(status.old),
        str(status.new),
    )


@receiver(
    post_update, sender="shop.Order", when=OldValues(), dispatch_uid="demo.updated"
)
def orders_updated(
    sender: Any,
    pks: list[Any],
    fields: Any,
    values: dict[str, list[Any]],
    old_values: dict[str, list[Any]],
    **kwargs: Any,
) -> None:
    for position, pk in enumerate(pks):
        changed = ", ".join(
            f"{name} {old_values[name][position]!r} -> {values[name][position]!r}"
            for name in values
        )
        logger.info("orders_updated: order pk=%s, %s", pk, changed)


@receiver(
    post_save,
    sender="shop.Customer",
    delivery="on_commit",
    dispatch_uid="demo.welcome",
)
def welcome(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # Where a welcome mail would go out: only for a customer who exists.
    if created:
        logger.info("welcome (after commit): mail to %s", instance.email)


@receiver(
    post_save,
    sender="shop.Order",
    when=Created(),
    delivery=Queued(missing="skip"),
    dispatch_uid="demo.index",
)
def index_order(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Where a search index would be updated. Runs in the worker: its note
    # says which process that was. (missing="skip": an order deleted before
    # the worker gets to it needs no indexing.)
    from testproject.shop.models import Note

    Note.objects.create(
        order=instance,
        text=f"{INDEXED} order {instance.number} in process {os.getpid()}",
    )
