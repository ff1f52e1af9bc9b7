"""
``Signal`` and the ``receiver`` decorator: the API of ``django.dispatch``.

What differs from Django is how connections are stored:

* A dict by lookup key, and one by sender, make ``connect()`` and
  ``disconnect()`` constant-time; Django scans its whole list each time.
* For each sender, the receivers it reaches (its *plan*) are computed once,
  in registration order, and kept until a connection changes. This holds for
  every signal and every sender, including ``None``, strings and other
  objects that cannot be weakly referenced.
* When a sender that receivers were connected for is garbage collected, those
  connections go with it, so an object later given the same ``id()`` is not
  mistaken for it. Django 6.0 fixed this for its own; here it holds on 5.2 too.
* Receivers are validated by ``connect()`` every time, not only under
  ``DEBUG``.

``instrument()`` is the single hook through which tracing times receivers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from functools import partial
from inspect import currentframe
from types import MethodType
from typing import Any, TypedDict, TypeVar, Unpack

from django.dispatch import Signal as DjangoSignal

from . import instrumentation
from .callers import is_compiled_send, send_for
from .conditions import Condition
from .connections import caller_location, check_receiver, lookup_key, make_id
from .deliveries import Delivery, DeliveryName, get_delivery
from .instrumentation import Instrument
from .names import callable_name, module_level_name, signal_name
from .patches import (
    DJANGOS_LIVE_RECEIVERS,
    DJANGOS_OWN,
    DJANGOS_SEND,
    listening_through_patch,
    through_patched,
)
from .registry import Registry
from .sending import (
    asend_with,
    async_robust_caller,
    plain_caller,
    robust_caller,
    send_general,
    send_now,
    send_with,
)

__all__ = ["Instrument", "Signal", "instrument", "receiver"]

# Django's private name for make_id(); code written against Django's
# dispatcher (its own tests among it) imports it from here.
_make_id = make_id

_ReceiverT = TypeVar("_ReceiverT", bound=Callable[..., Any])
_Responses = list[tuple[Callable[..., Any], Any]]


class Signal(Registry, DjangoSignal):
    """
    A signal: receivers connect to it, senders send it.

    Use it as ``django.dispatch.Signal``, which it subclasses, so
    ``isinstance`` checks written for Django's signals hold. None of Django's
    machinery runs: every method a send or a connection uses is ours. The
    attributes that tools built for
    Django's signals reach for are here too:

    ``receivers``
        The connections in registration order, each shaped like the running
        Django's entries (item 1 is the receiver or a weak reference to it).
        Assigning a list replaces every connection, which is how
        ``factory.django.mute_signals`` silences a signal.
    ``lock``
        Held while connections change. Reentrant, unlike Django's: the
        ``receivers`` property takes it too, so a tool holding it can still
        read and assign ``receivers``, as it can on Django's plain list.
    ``sender_receivers_cache``
        The plans by sender; ``clear()`` drops them.
    ``use_caching``
        Accepted for compatibility; plans are cached whatever it says.
    """

    #: Why this signal takes no receiver delivered later, if it takes none:
    #: set on a signal sent before the work it announces, outside the
    #: transaction that work runs in, so a delivery arranged from it could
    #: outlive a failure of that work. ``connect()`` refuses such a
    #: receiver with this reason.
    later_delivery_refused: str | None = None

    def __init__(self, use_caching: bool = False) -> None:
        """Make a signal with no receivers."""
        self._set_up(threading.RLock(), use_caching, _creating_module(self))

    @classmethod
    def adopt(cls, signal: DjangoSignal, defined_in: str) -> None:
        """
        Turn ``signal``, one of Django's, into an instance of ``cls`` in place.

        Its receivers stay connected, in their order, and every reference to
        the object, wherever it was imported, now reaches this dispatcher.
        ``defined_in`` names the module that created it (see
        ``signals_app.dispatch.names``). ``cls`` must subclass the class
        ``signal`` has; an object already of ``cls`` is left alone.
        """
        if type(signal) is cls:
            return
        if not issubclass(cls, type(signal)):
            raise TypeError(f"{cls.__name__} cannot adopt {signal!r}.")
        with signal.lock:
            entries = list(signal.__dict__.pop("receivers", []))
            use_caching = signal.__dict__.pop("use_caching", False)
            for django_only in ("sender_receivers_cache", "_dead_receivers"):
                signal.__dict__.pop(django_only, None)
            signal.__class__ = cls
            cls._set_up(signal, threading.RLock(), use_caching, defined_in)
        signal.receivers = entries

    def connect(
        self,
        receiver: Callable[..., Any],
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Hashable | None = None,
        *,
        delivery: DeliveryName | Delivery = "now",
        when: Condition | None = None,
    ) -> None:
        """
        Have ``receiver`` called whenever this signal is sent.

        ``receiver``
            Any callable taking keyword arguments (``**kwargs``), sync or
            async. Not callable: ``TypeError``; no ``**kwargs``:
            ``ValueError``. Either way nothing is connected.
        ``sender``
            Only sends from this object reach the receiver; None for every
            sender.
        ``weak``
            Hold the receiver by a weak reference (the default), so it is
            dropped when nothing else keeps it alive. With False the signal
            keeps it alive.
        ``dispatch_uid``
            A hashable that identifies the connection in place of the
            receiver; a second connection with the same uid and sender is
            ignored, and ``disconnect()`` can name it by the uid alone.
        ``delivery``
            ``"now"`` (inside ``send()``, as in Django), ``"on_commit"``,
            ``"task"``, or a ``Delivery`` object such as
            ``Queued(missing="skip")``; see ``signals_app.delivery``.
        ``when``
            A ``Condition``: the receiver is called only for sends where it
            holds, with the arguments it adds (see
            ``signals_app.dispatch.conditions``).
        """
        self._connect(
            receiver, sender, weak, dispatch_uid, caller_location(), delivery, when
        )

    def _connect(
        self,
        receiver: Callable[..., Any],
        sender: Any,
        weak: bool,
        dispatch_uid: Hashable | None,
        connected_at: str | None,
        delivery: Any = "now",
        when: Condition | None = None,
    ) -> None:
        connecting = partial(
            self._connect_now,
            receiver,
            sender,
            weak,
            dispatch_uid,
            connected_at,
            delivery,
            when,
        )
        if DjangoSignal.connect is DJANGOS_OWN["connect"]:
            connecting()
        else:
            through_patched(
                self, "connect", connecting, receiver, sender, weak, dispatch_uid
            )

    def _connect_now(
        self,
        receiver: Callable[..., Any],
        sender: Any,
        weak: bool,
        dispatch_uid: Hashable | None,
        connected_at: str | None,
        delivery: Any,
        when: Condition | None,
    ) -> None:
        check_receiver(receiver)
        how = self.delivery_for(receiver, delivery)
        if when is not None and not isinstance(when, Condition):
            raise TypeError(f"when= takes a Condition, not {when!r}.")
        key = lookup_key(receiver, sender, dispatch_uid)
        entry = self._entry(key, receiver, sender, weak)
        entry.weak = weak
        entry.dispatch_uid = dispatch_uid
        entry.connected_at = connected_at
        entry.delivery = how
        entry.condition = when
        if how is not None:
            how.connected(self, receiver, sender, dispatch_uid)
        if when is not None:
            when.connected(self, sender)
        with self.lock:
            self._purge_dead()
            if key not in self._connections:
                self._add(entry)
                self._plans.clear()

    def delivery_for(self, receiver: Callable[..., Any], delivery: Any) -> Any:
        """
        The ``Delivery`` that ``connect(receiver, delivery=delivery)`` would
        use on this signal; None for ``"now"``. ``ValueError`` for an unknown
        name, or a delivery later on a signal that refuses them (see
        ``later_delivery_refused``).
        """
        how = get_delivery(delivery)
        if how is not None and self.later_delivery_refused:
            raise ValueError(
                f"{callable_name(receiver)} cannot be connected to "
                f"{signal_name(self)} with delivery={how.name!r}: "
                f"{self.later_delivery_refused}"
            )
        return how

    def disconnect(
        self,
        receiver: Callable[..., Any] | None = None,
        sender: Any = None,
        dispatch_uid: Hashable | None = None,
    ) -> bool:
        """
        Undo a ``connect()``; return whether there was such a connection.

        Name the connection as it was made: by its ``receiver`` (or its
        ``dispatch_uid``, if it had one) and its ``sender``. Weakly held
        receivers need no disconnecting: they leave when they are collected.
        """
        key = lookup_key(receiver, sender, dispatch_uid)
        if DjangoSignal.disconnect is DJANGOS_OWN["disconnect"]:
            return self._disconnect_now(key)
        disconnecting = partial(self._disconnect_now, key)
        return through_patched(
            self, "disconnect", disconnecting, receiver, sender, dispatch_uid
        )

    def _disconnect_now(self, key: tuple) -> bool:
        with self.lock:
            self._purge_dead()
            entry = self._connections.get(key)
            if entry is not None:
                self._remove(entry)
                self._plans.clear()
        return entry is not None

    def has_listeners(self, sender: Any = None) -> bool:
        """Whether a send from ``sender`` would reach any live receiver."""
        if DjangoSignal.has_listeners is not DJANGOS_OWN["has_listeners"]:
            return listening_through_patch(self, sender, self._listening(sender))
        return self._listening(sender)

    def _listening(self, sender: Any) -> bool:
        if not self._connections:
            return False
        try:
            plan = self._plans[id(sender)]
        except KeyError:
            plan = self._plan(sender)
        # Loops rather than any(): a generator costs more than most plans'
        # few receivers, and most senders' plans are empty.
        _, sync_refs, async_refs, later, _ = plan
        for ref in sync_refs:
            if ref() is not None:
                return True
        for ref in async_refs:
            if ref() is not None:
                return True
        if later:
            return any(ref() is not None for ref, _ in later)
        return False

    # --- sending -----------------------------------------------------------

    def send(self, /, sender: Any, **named: Any) -> _Responses:
        """
        Call every receiver connected for ``sender`` (or for any sender).

        The receivers get ``signal``, ``sender`` and ``named`` as keyword
        arguments, synchronous ones first in registration order, then the
        asynchronous ones together, inside one ``async_to_sync()``. An error
        in a receiver stops the send and propagates; the receivers after it
        are not called. Receivers delivered later are scheduled last.

        Return ``[(receiver, response), ...]``.
        """
        # ``self`` is positional-only: CPython then matches the keyword
        # arguments against ``sender`` alone, which is cheaper. A ``self``
        # among them must still fail, as on Django's send(); with receivers
        # connected, send_now() refuses it.
        if not self._connections:
            if "self" in named:
                raise TypeError("send() got multiple values for argument 'self'")
            return []
        if (
            DjangoSignal._live_receivers is not DJANGOS_LIVE_RECEIVERS
            or DjangoSignal.send is not DJANGOS_SEND
        ):
            # A tool patched Django's class: the general path honours it.
            return send_general(self, sender, **named)
        try:
            plan = self._plans[id(sender)]
        except KeyError:
            plan = self._plan(sender)
        _install_compiled_send(self, tuple(named))
        return send_now(self, sender, named, plan)

    def send_robust(self, sender: Any, **named: Any) -> _Responses:
        """
        Like ``send()``, but an ``Exception`` raised by a receiver becomes its
        response, is logged on the ``django.dispatch`` logger, and the other
        receivers are still called.
        """
        return send_with(
            self,
            sender,
            named,
            robust_caller(self, sender, named),
            async_robust_caller(self, sender, named),
            "send_robust",
        )

    async def asend(self, sender: Any, **named: Any) -> _Responses:
        """
        ``send()`` for async code: awaits the asynchronous receivers and runs
        the synchronous ones, in order, behind one ``sync_to_async()``.

        Up to Django 6.0 both groups run at the same time; from 6.1 the
        synchronous ones finish first. Receivers delivered later are
        scheduled last, from the thread where ``sync_to_async()`` runs the
        caller's database work (under ``async_to_sync()``, the calling
        thread), so they join the caller's transaction as with ``send()``.
        Return the synchronous receivers' responses, then the asynchronous
        ones', then those of the receivers delivered later.
        """
        if not self._connections:
            return []
        call = plain_caller(self, sender, named)
        return await asend_with(self, sender, named, call, call, "asend")

    async def asend_robust(self, sender: Any, **named: Any) -> _Responses:
        """``asend()`` that handles receiver errors as ``send_robust()`` does."""
        if not self._connections:
            return []
        return await asend_with(
            self,
            sender,
            named,
            robust_caller(self, sender, named),
            async_robust_caller(self, sender, named),
            "asend_robust",
        )

    def __getstate__(self) -> dict[str, Any]:
        """What ``copy.copy()`` carries over: not the compiled ``send``,
        which is bound to this signal and would send on it."""
        state = dict(self.__dict__)
        if is_compiled_send(state.get("send")):
            del state["send"]
        return state

    def __repr__(self) -> str:
        name = module_level_name(self)
        if name is not None:
            return f"<{type(self).__name__} {name}>"
        # No module holds it: the module that made it, and the address to
        # tell apart two signals made there.
        return f"<{type(self).__name__} {self.defined_in or '?'} at {id(self):#x}>"


_send_inline = Signal.send


def _install_compiled_send(signal: Signal, names: tuple[str, ...]) -> None:
    # Later sends with these names go straight to the send compiled for
    # them, set on the instance. Not on a subclass with its own send() (nor
    # while instrument() replaces ours), and never over a send someone else
    # set on the instance, such as a test's patch.
    if type(signal).send is not _send_inline:
        return
    current = signal.__dict__.get("send")
    if current is not None and not is_compiled_send(current):
        return
    compiled = send_for(names, _send_elsewhere, _send_inline)
    if compiled is not None and getattr(current, "__func__", None) is not compiled:
        signal.send = MethodType(compiled, signal)  # type: ignore[method-assign]


def _send_elsewhere(
    signal: Signal, sender: Any, named: dict[str, Any], *extra: Any
) -> _Responses:
    # Where a compiled send hands a call it does not take: other names, a
    # sender without a plan yet, receivers not all plain, or a class whose
    # send (or Django's) was replaced.
    send = type(signal).send
    if send is _send_inline:
        return _send_inline(signal, sender, *extra, **named)
    # instrument() or a patch replaced the class's send: the compiled one
    # steps aside, so later sends go through the class without coming here.
    if is_compiled_send(signal.__dict__.get("send")):
        signal.__dict__.pop("send", None)
    bound = send.__get__(signal, type(signal)) if hasattr(send, "__get__") else send
    return bound(sender, *extra, **named)


def instrument(hooks: Instrument | None) -> None:
    """
    Route every receiver call of every signal through ``hooks``; None stops it.

    While nothing is installed ``Signal.send`` is the plain, inlined loop,
    so dispatch costs nothing extra. Installing affects every thread.
    """
    instrumentation.current = hooks
    Signal.send = _send_inline if hooks is None else send_general  # type: ignore[method-assign]


def _creating_module(signal: Signal) -> str | None:
    # The first frame that is not an __init__ of this very object: the module
    # whose code made the signal, also when a subclass's __init__ runs first.
    frame: Any = currentframe()
    frame = frame and frame.f_back
    while frame is not None and frame.f_locals.get("self") is signal:
        frame = frame.f_back
    return frame.f_globals.get("__name__") if frame is not None else None


class _ConnectArguments(TypedDict, total=False):
    # What receiver() passes on to connect(), typed so that a type checker
    # sees a wrong delivery in the decorator as it does in connect().
    sender: Any
    weak: bool
    dispatch_uid: Hashable | None
    apps: Any  # ModelSignal.connect()'s app registry
    delivery: DeliveryName | Delivery
    when: Condition | None


def receiver(
    signal: Signal | list[Signal] | tuple[Signal, ...],
    **kwargs: Unpack[_ConnectArguments],
) -> Callable[[_ReceiverT], _ReceiverT]:
    """
    Decorate a function to connect it to ``signal`` (or each of a list).

    The keyword arguments are those of ``connect()``; the function comes back
    as it was::

        @receiver(post_save, sender=Order, dispatch_uid="orders.saved")
        def order_saved(sender, instance, created, **kwargs): ...
    """

    # Untyped again here: apps= is ModelSignal's alone, and a plain Signal
    # refuses it at run time, as its connect() would.
    options: dict[str, Any] = {**kwargs}

    def connect(func: _ReceiverT) -> _ReceiverT:
        for each in signal if isinstance(signal, list | tuple) else [signal]:
            each.connect(func, **options)
        return func

    return connect
