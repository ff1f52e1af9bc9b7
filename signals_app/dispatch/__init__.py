"""
A drop-in for ``django.dispatch``: ``Signal`` and ``receiver``.

Also public here, for the layers above: ``Connection`` (what
``Signal.connections()`` reports), the delivery registry (``Delivery``,
``DeliveryName``, ``register_delivery``, ``get_delivery``) and
``instrument()``, the hook tracing uses.
"""

from .connections import Connection
from .deliveries import Delivery, DeliveryName, get_delivery, register_delivery
from .dispatcher import Instrument, Signal, instrument, receiver

__all__ = [
    "Connection",
    "Delivery",
    "DeliveryName",
    "Instrument",
    "Signal",
    "get_delivery",
    "instrument",
    "receiver",
    "register_delivery",
]
