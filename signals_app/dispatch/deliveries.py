"""
The registry of deliveries: ways to run a receiver other than inside ``send()``.

The dispatcher itself only knows ``"now"``. Any other value of
``connect(..., delivery=...)`` must name a ``Delivery`` registered here, or be
one. ``signals_app.delivery`` registers ``"on_commit"`` and ``"task"`` when it
is imported, which the app's configuration does as Django loads it.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, Literal

__all__ = ["Delivery", "DeliveryName", "get_delivery", "register_delivery"]

#: The names ``connect(..., delivery=)`` accepts, spelled out for type
#: checkers so that a misspelt one fails before the code runs. The two
#: beside ``"now"`` are those ``signals_app.delivery`` registers; a delivery
#: registered by a project is passed as the object, which type checks as a
#: ``Delivery``.
DeliveryName = Literal["now", "on_commit", "task"]


class Delivery:
    """
    One way of delivering receivers later; subclass it and register an instance.

    The dispatcher asks it twice: ``connected()`` as a receiver is connected
    (raise there to refuse the connection; the signal is then left as it was)
    and ``schedule()`` for that receiver on every send, once the receivers
    called now have run.
    """

    #: The value of ``connect(..., delivery=)`` that selects it.
    name: ClassVar[str]

    def connected(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        dispatch_uid: Hashable | None,
    ) -> None:
        """``receiver`` is being connected to ``signal`` for ``sender``; may refuse."""

    def schedule(
        self,
        signal: Any,
        receiver: Callable[..., Any],
        sender: Any,
        named: dict[str, Any],
    ) -> Any:
        """Arrange the call of ``receiver``; return its response for ``send()``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<delivery {self.name!r}>"


_registry: dict[str, Delivery] = {}
_lock = threading.Lock()


def register_delivery(delivery: Delivery) -> Delivery:
    """
    Make ``delivery`` selectable as ``connect(..., delivery=delivery.name)``.

    Registering a second delivery under a name already taken raises
    ``ValueError``; registering the same one again does nothing.
    """
    with _lock:
        taken = _registry.get(delivery.name)
        if taken is not None and taken is not delivery:
            raise ValueError(
                f"A delivery named {delivery.name!r} is registered already."
            )
        _registry[delivery.name] = delivery
    return delivery


def get_delivery(name: "str | Delivery") -> Delivery | None:
    """
    The delivery ``connect(..., delivery=name)`` stands for; None for ``"now"``.

    A ``Delivery`` object is returned as it is. An unknown name raises
    ``ValueError`` listing the known ones.
    """
    if isinstance(name, Delivery):
        return name
    if name == "now":
        return None
    try:
        return _registry[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(each) for each in ["now", *sorted(_registry)])
        hint = (
            ""
            if _registry
            else " ('on_commit' and 'task' come with 'signals_app' in INSTALLED_APPS.)"
        )
        raise ValueError(
            f"Unknown delivery {name!r}; expected one of {known}.{hint}"
        ) from None
