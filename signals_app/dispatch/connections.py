"""
What a signal keeps for each connected receiver, and the public view of it.

``Entry`` is the dispatcher's own record. As a tuple it has the shape of an
item of the running Django's ``Signal.receivers``, because tools written for
Django unpack those: ``(lookup_key, receiver or weak reference, is_async)``,
with a weak reference to the sender before ``is_async`` since Django 6.0.

``Connection`` is what ``Signal.connections()`` hands out: a snapshot for
people and tools (the inspector, system checks, queued delivery), holding the
receiver and the sender themselves.
"""

import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from inspect import CO_VARKEYWORDS, Parameter, currentframe, signature
from itertools import repeat
from types import FunctionType, MethodType
from typing import Any

import django

__all__ = [
    "NONE_ID",
    "Connection",
    "Entry",
    "caller_location",
    "check_receiver",
    "lookup_key",
    "make_id",
]

# Django 6.0 put a weak reference to the sender into each entry.
_SENDER_IN_ENTRY = django.VERSION >= (6, 0)


def make_id(target: Any) -> Hashable:
    """
    The identity Django keys receivers and senders by.

    A bound method is a new object each time it is looked up, so it is known
    by its instance and function together; anything else by ``id()``.
    """
    if hasattr(target, "__func__"):
        return (id(target.__self__), id(target.__func__))
    return id(target)


NONE_ID = make_id(None)


def lookup_key(receiver: Any, sender: Any, dispatch_uid: Hashable | None) -> tuple:
    """The key of a connection, as Django makes it: a uid wins over the receiver."""
    return (dispatch_uid or make_id(receiver), make_id(sender))


def check_receiver(receiver: Any) -> None:
    """
    Refuse what cannot be a receiver: ``TypeError`` if it is not callable,
    ``ValueError`` if it does not take arbitrary keyword arguments.
    """
    if not callable(receiver):
        raise TypeError(f"Signal receivers must be callable. Got {receiver!r}.")
    if not _accepts_kwargs(receiver):
        raise ValueError(
            "Signal receivers must accept keyword arguments (**kwargs). "
            f"{describe(receiver)} does not."
        )


def _accepts_kwargs(receiver: Callable[..., Any]) -> bool:
    # For a plain function or method the code object's flags answer at once.
    # Anything that may present another signature (wrappers, partials,
    # callable objects) goes through inspect.signature(). Django's own
    # func_accepts_kwargs() is avoided on purpose: it caches the callables it
    # saw strongly, which would keep weakly connected receivers alive.
    func = receiver.__func__ if type(receiver) is MethodType else receiver
    if (
        type(func) is FunctionType
        and not hasattr(func, "__wrapped__")
        and not hasattr(func, "__signature__")
    ):
        return bool(func.__code__.co_flags & CO_VARKEYWORDS)
    return any(
        param.kind is Parameter.VAR_KEYWORD
        for param in signature(receiver).parameters.values()
    )


def weak_reference(
    receiver: Any, callback: Callable[[Any], None] | None = None
) -> weakref.ref:
    """
    A weak reference to ``receiver``: a ``WeakMethod`` for bound methods, as
    Django chooses. ``TypeError`` names the receiver when it cannot have one.
    """
    is_method = hasattr(receiver, "__self__") and hasattr(receiver, "__func__")
    weak_type = weakref.WeakMethod if is_method else weakref.ref
    try:
        return weak_type(receiver, callback)
    except TypeError:
        raise TypeError(
            f"{describe(receiver)} cannot be weakly referenced; "
            "connect it with weak=False."
        ) from None


def describe(obj: Any) -> str:
    """``module.qualname`` of a callable, for error messages; else its repr."""
    name = getattr(obj, "__qualname__", None)
    if name is None:
        return repr(obj)
    return f"{getattr(obj, '__module__', None) or '?'}.{name}"


_CONNECTING_MODULES = ("signals_app.", "django.dispatch.")


def caller_location() -> str | None:
    """
    ``path:line`` of the innermost frame outside signals_app and
    ``django.dispatch``: the code that called ``connect()``, directly or
    through either ``@receiver``.
    """
    # currentframe() rather than sys._getframe(): the same frame, through a
    # public function.
    frame: Any = currentframe()
    frame = frame and frame.f_back
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        _CONNECTING_MODULES
    ):
        frame = frame.f_back
    if frame is None:
        return None
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


@dataclass(frozen=True, eq=False)
class Connection:
    """One live connection of a signal, as ``Signal.connections()`` reports it."""

    receiver: Callable[..., Any]
    #: The sender it was connected for; None for any sender, and for a sender
    #: known by its id alone (an entry handed to ``receivers`` by a tool).
    sender: Any
    #: ``make_id()`` of the sender, always known.
    sender_id: Hashable
    #: Whether the signal holds the receiver weakly; None when unknown.
    weak: bool | None
    dispatch_uid: Hashable | None
    is_async: bool
    #: None for ``"now"``, else the registered ``Delivery``.
    delivery: Any
    #: ``path:line`` of the ``connect()`` call; None when unknown.
    connected_at: str | None
    #: The ``when=`` condition it was connected with, if any.
    condition: Any = None

    @property
    def delivery_name(self) -> str:
        """``"now"``, or the name of the delivery."""
        return "now" if self.delivery is None else self.delivery.name


class Entry(tuple):
    """
    The dispatcher's record of one connection, shaped like a Django entry.

    Built by ``new_entry()``; the attributes are what the dispatcher reads.
    """

    owner: Any
    key: tuple
    sender_id: Hashable
    # Returns the receiver, or None once it is collected.
    deref: Callable[[], Any]
    # Returns the sender, or None once it is collected; None itself when the
    # connection is for any sender, or the sender is known by id alone.
    sender_ref: Callable[[], Any] | None
    is_async: bool
    order: int
    weak: bool | None
    dispatch_uid: Hashable | None
    connected_at: str | None
    delivery: Any
    condition: Any

    def alive(self) -> bool:
        """Whether the receiver, and the sender it was connected for, still exist."""
        return self.deref() is not None and (
            self.sender_ref is None or self.sender_ref() is not None
        )

    def reaches(self, sender: Any) -> bool:
        """Whether this entry, already matched on sender id, is for ``sender``."""
        return self.sender_ref is None or self.sender_ref() is sender

    def view(self) -> Connection | None:
        """This connection as a ``Connection``; None if it has died."""
        receiver = self.deref()
        sender = self.sender_ref() if self.sender_ref is not None else None
        if receiver is None or (self.sender_ref is not None and sender is None):
            return None
        return Connection(
            receiver,
            sender,
            self.sender_id,
            self.weak,
            self.dispatch_uid,
            self.is_async,
            self.delivery,
            self.connected_at,
            self.condition,
        )


def new_entry(
    owner: Any,
    key: tuple,
    receiver_ref: Any,
    deref: Callable[[], Any],
    sender_weakref: weakref.ref | None,
    sender_ref: Callable[[], Any] | None,
    is_async: bool,
) -> Entry:
    """An ``Entry`` of ``owner``'s, with the tuple shape of the running Django."""
    if _SENDER_IN_ENTRY:
        entry = Entry((key, receiver_ref, sender_weakref, is_async))
    else:
        entry = Entry((key, receiver_ref, is_async))
    entry.owner = owner
    entry.key = key
    entry.sender_id = key[1]
    entry.deref = deref
    entry.sender_ref = sender_ref
    entry.is_async = is_async
    entry.weak = entry.dispatch_uid = entry.connected_at = None
    entry.delivery = entry.condition = None
    return entry


def strong(obj: Any) -> Callable[[], Any]:
    """A callable returning ``obj``: a strong stand-in for a weak reference."""
    return repeat(obj).__next__
