"""A drop-in replacement for ``django.dispatch``."""

from .dispatcher import Signal, receiver

__all__ = ["Signal", "receiver"]
