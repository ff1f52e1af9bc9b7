"""The audit receivers: each logs the signal it got, its sender and key arguments.

Senders are lazy "shop.Model" strings, so this module does not import the
shop's models and can be imported before they load.

Most run now, inside the signal's send(). Two show the other deliveries:
``confirm_order`` runs once the order's transaction commits, and
``index_order`` runs in a worker (``manage.py db_worker``).
"""

import logging
from typing import Any

from signals_app.dispatch import receiver
from signals_app.signals import (
    got_request_exception,
    m2m_changed,
    post_delete,
    post_save,
    pre_delete,
    request_finished,
    request_started,
)

logger = logging.getLogger(__name__)


def _log(signal_name: str, sender: Any, **details: Any) -> None:
    label = getattr(getattr(sender, "_meta", None), "label", None)
    shown = label or getattr(sender, "__name__", repr(sender))
    arguments = " ".join(f"{key}={value}" for key, value in details.items())
    logger.info("%-22s sender=%-16s %s", signal_name, shown, arguments or "-")


@receiver(post_save, sender="shop.Customer", dispatch_uid="audit.customer_saved")
@receiver(post_save, sender="shop.Order", dispatch_uid="audit.order_saved")
def saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    _log(
        "post_save",
        sender,
        instance=instance,
        created=created,
        update_fields=sorted(kwargs["update_fields"] or []) or None,
    )


@receiver(
    post_save,
    sender="shop.Order",
    dispatch_uid="audit.order_confirmation",
    delivery="on_commit",
)
def confirm_order(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # Where an e-mail would go out: never for an order that is rolled back,
    # and never before the order can be read by whoever gets the e-mail.
    if created:
        _log("post_save (on_commit)", sender, instance=instance, confirmed=True)


@receiver(
    post_save, sender="shop.Order", dispatch_uid="audit.order_index", delivery="task"
)
def index_order(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Where a search index would be updated, in a worker. The order arrives
    # loaded again from the database, as it is when the worker runs.
    _log("post_save (task)", sender, instance=instance, status=instance.status)


@receiver(pre_delete, sender="shop.Customer", dispatch_uid="audit.customer_deleting")
def deleting(sender: Any, instance: Any, origin: Any, **kwargs: Any) -> None:
    _log("pre_delete", sender, instance=instance, origin=origin)


@receiver(post_delete, sender="shop.Customer", dispatch_uid="audit.customer_deleted")
@receiver(post_delete, sender="shop.Order", dispatch_uid="audit.order_deleted")
@receiver(post_delete, sender="shop.OrderLine", dispatch_uid="audit.line_deleted")
def deleted(sender: Any, instance: Any, origin: Any, **kwargs: Any) -> None:
    _log("post_delete", sender, instance=instance, origin=origin)


@receiver(m2m_changed, sender="shop.Order_tags", dispatch_uid="audit.order_tags")
def tags_changed(
    sender: Any, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action.startswith("post_"):
        _log(
            "m2m_changed",
            sender,
            instance=instance,
            action=action,
            reverse=kwargs["reverse"],
            pk_set=sorted(pk_set) if pk_set else None,
        )


@receiver(request_started, dispatch_uid="audit.request_started")
def request_began(sender: Any, **kwargs: Any) -> None:
    environ = kwargs.get("environ")
    scope = kwargs.get("scope")
    path = environ["PATH_INFO"] if environ else scope["path"]
    _log("request_started", sender, path=path)


@receiver(request_finished, dispatch_uid="audit.request_finished")
async def request_ended(sender: Any, **kwargs: Any) -> None:
    # Asynchronous on purpose: under the ASGI handler it runs on the event
    # loop; under WSGI, Django runs it through async_to_sync.
    _log("request_finished", sender)


@receiver(got_request_exception, dispatch_uid="audit.request_failed")
def request_failed(sender: Any, request: Any, **kwargs: Any) -> None:
    _log("got_request_exception", sender, path=request.path)
