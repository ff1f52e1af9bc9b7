"""
The signal dispatcher: ``Signal`` and the ``receiver`` decorator.

``Signal`` keeps the API and the behaviour of ``django.dispatch.Signal`` and
changes how connections are kept:

* Connections live in a dict keyed by Django's lookup key, and in a second
  one grouped by sender, so ``connect`` and ``disconnect`` are O(1) where
  Django scans every receiver.
* The receivers a sender reaches, in registration order (its *plan*), are
  worked out once and cached until the connections change. Every signal
  caches, for every kind of sender: ``None``, strings and other objects that
  cannot be weakly referenced included.
* A receiver connected for a specific sender goes when that sender is
  garbage collected, so a new object that reuses the sender's ``id()`` never
  reaches it (Django fixed this in 6.0). A sender that cannot be weakly
  referenced is held by its connections instead, so its ``id()`` cannot be
  reused while they exist.
* Receivers are checked at connect time whatever ``DEBUG`` says.
"""

import asyncio
import contextvars
import logging
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable
from inspect import CO_VARKEYWORDS, Parameter, signature
from itertools import count, repeat
from types import FunctionType, MethodType
from typing import Any, TypeVar

import django
from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async

__all__ = ["Signal", "receiver"]

logger = logging.getLogger("signals_app.dispatch")

_ReceiverT = TypeVar("_ReceiverT", bound=Callable[..., Any])

# Django 6.0 added a weak reference to the sender to each entry of
# ``Signal.receivers``. Entries follow the shape of the Django that is running,
# since debugging tools unpack them.
_SENDER_IN_ENTRY = django.VERSION >= (6, 0)

# Django 6.1 runs a send's asynchronous receivers in one shared context, and
# the synchronous ones before them under asend(); ours follow the running
# Django, so that receivers written for it behave the same.
_SHARED_CONTEXT = django.VERSION >= (6, 1)
_UNSET = object()

# Plans are keyed by ``id(sender)`` and senders can be short-lived objects, so
# the cache is emptied once it holds this many rather than growing unbounded.
_MAX_CACHED_PLANS = 1024


def _make_id(target: Any) -> Hashable:
    # Bound methods are created anew on every attribute access; what stays
    # the same is the instance and the function.
    if hasattr(target, "__func__"):
        return (id(target.__self__), id(target.__func__))
    return id(target)


_NONE_ID = _make_id(None)


def _check_receiver(receiver: Any) -> None:
    if not callable(receiver):
        raise TypeError(f"Signal receivers must be callable. Got {receiver!r}.")
    if not _accepts_kwargs(receiver):
        raise ValueError(
            "Signal receivers must accept keyword arguments (**kwargs). "
            f"{_describe(receiver)} does not."
        )


def _accepts_kwargs(receiver: Callable[..., Any]) -> bool:
    # The code flags answer for a plain function or method at a fraction of
    # the cost of inspect.signature(). Anything that may carry a signature of
    # its own (wrappers with __wrapped__, callable objects, partials) asks
    # inspect.signature(), as Django does. Not through Django's
    # func_accepts_kwargs(): its cache holds strong references to the last
    # 512 callables it saw, which would keep weakly connected receivers alive.
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


def _weak_reference(
    receiver: Any, callback: Callable[[Any], None] | None = None
) -> weakref.ref:
    # The same test as Django's, so the same receivers get a WeakMethod.
    is_method = hasattr(receiver, "__self__") and hasattr(receiver, "__func__")
    weak_type = weakref.WeakMethod if is_method else weakref.ref
    try:
        return weak_type(receiver, callback)
    except TypeError:
        raise TypeError(
            f"{_describe(receiver)} cannot be weakly referenced; "
            "connect it with weak=False."
        ) from None


def _describe(receiver: Any) -> str:
    name = getattr(receiver, "__qualname__", None)
    if name is None:
        return repr(receiver)
    return f"{getattr(receiver, '__module__', None) or '?'}.{name}"


class _Connection(tuple):
    """
    One connected receiver.

    As a tuple it is shaped like an entry of Django's ``Signal.receivers``:
    ``(lookup_key, receiver_or_weakref, is_async)``, with the sender's weak
    reference (or None) before ``is_async`` on Django 6. The attributes are
    what the dispatcher itself reads.
    """

    owner: "Signal"
    key: Hashable
    sender_id: Hashable
    # Return the receiver, or None once it has been collected.
    deref: Callable[[], Any]
    # Return the sender, or None once it has been collected. None when the
    # connection is for any sender, or when only the sender's id is known.
    sender_ref: Callable[[], Any] | None
    is_async: bool
    order: int
    # For people reading the connections (the inspector, system checks);
    # unknown for entries assigned to ``receivers`` from elsewhere.
    weak: bool | None
    dispatch_uid: Hashable | None
    connected_at: str | None  # "path:line" of the connect() call
    # How the receiver is delivered; None: called now, during send().
    delivery: Any

    def alive(self) -> bool:
        return self.deref() is not None and (
            self.sender_ref is None or self.sender_ref() is not None
        )

    def reaches(self, sender: Any) -> bool:
        """Whether this connection, already matched on sender id, is for ``sender``."""
        return self.sender_ref is None or self.sender_ref() is sender


def _new_connection(
    owner: "Signal",
    key: Hashable,
    receiver_ref: Any,
    deref: Callable[[], Any],
    sender_weakref: weakref.ref | None,
    sender_ref: Callable[[], Any] | None,
    is_async: bool,
) -> _Connection:
    if _SENDER_IN_ENTRY:
        conn = _Connection((key, receiver_ref, sender_weakref, is_async))
    else:
        conn = _Connection((key, receiver_ref, is_async))
    conn.owner = owner
    conn.key = key
    conn.sender_id = key[1]
    conn.deref = deref
    conn.sender_ref = sender_ref
    conn.is_async = is_async
    return conn


def _delivery(name: str) -> Any:
    # The delivery module is only needed, and imported, for receivers that
    # are not called now.
    if name == "now":
        return None
    from signals_app.delivery import get_delivery

    return get_delivery(name)


def _caller_location() -> str | None:
    # The first frame outside this package: where user code called connect(),
    # directly or through the receiver decorator.
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        "signals_app."
    ):
        frame = frame.f_back
    if frame is None:
        return None
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class _Uncached(dict):
    """A plan cache that keeps nothing."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


# Per sender: the synchronous and the asynchronous receivers called now, and
# the receivers delivered later with how (see the ``delivery`` of connect()).
_Plan = tuple[
    tuple[Callable[[], Any], ...],
    tuple[Callable[[], Any], ...],
    tuple[tuple[Callable[[], Any], Any], ...],
]
_EMPTY_PLAN: _Plan = ((), (), ())


class Signal:
    """
    Base class for all signals.

    A drop-in for ``django.dispatch.Signal``. The internals that tools written
    for Django's signals touch keep working:

    ``receivers``
        A list of the connections, shaped as in the running Django
        (``entry[1]`` is the receiver or a weak reference to it). Assigning a
        list replaces the connections, as ``factory.django.mute_signals``
        does.
    ``lock``
        The lock guarding the connections.
    ``sender_receivers_cache``
        The per-sender cache of receivers; ``clear()`` empties it.
    ``use_caching``
        Kept for compatibility. Every signal caches, for every sender.
    """

    def __init__(self, use_caching: bool = False) -> None:
        """Create a new signal."""
        self.lock = threading.Lock()
        self.use_caching = use_caching
        self.sender_receivers_cache: dict[int, _Plan] = {}
        self._connections: dict[Hashable, _Connection] = {}
        self._by_sender: dict[Hashable, dict[Hashable, _Connection]] = {}
        # Connections whose sender is a bound method (see _update_caching).
        self._method_senders = 0
        self._order = count()
        # Keys whose receiver or sender was collected. Weak reference
        # callbacks only append here: they run during garbage collection,
        # possibly while this thread holds the lock, so they must not take it.
        self._dead: list[Hashable] = []

    @property
    def receivers(self) -> list[tuple]:
        """The live connections, in registration order."""
        with self.lock:
            purged = self._purge_dead()
            receivers = list(self._connections.values())
        if purged:
            self._connections_changed()
        return receivers

    @receivers.setter
    def receivers(self, entries: Iterable[tuple]) -> None:
        with self.lock:
            self._connections = {}
            self._by_sender = {}
            self._method_senders = 0
            self._update_caching()
            self._dead.clear()
            for entry in entries:
                conn = self._adopt(entry)
                if conn is not None and conn.key not in self._connections:
                    self._add(conn)
            self.sender_receivers_cache.clear()
        self._connections_changed()

    def connect(
        self,
        receiver: Callable[..., Any],
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Hashable | None = None,
        *,
        delivery: str = "now",
    ) -> None:
        """
        Connect receiver to sender for signal.

        Arguments:

            receiver
                A function or an instance method which is to receive signals.
                Receivers must be hashable objects and accept keyword
                arguments (``**kwargs``); they can be asynchronous. A receiver
                that is not callable raises ``TypeError``, one that does not
                take ``**kwargs`` raises ``ValueError``, and the signal is left
                as it was.

                If weak is True, then receiver must be weak referenceable.

                If a receiver is connected with a dispatch_uid argument, it
                will not be added if another receiver was already connected
                with that dispatch_uid.

            sender
                The sender to which the receiver should respond. Must either be
                a Python object, or None to receive events from any sender.

            weak
                Whether to use weak references to the receiver. By default, the
                module will attempt to use weak references to the receiver
                objects. If this parameter is false, then strong references
                will be used.

            dispatch_uid
                An identifier used to uniquely identify a particular instance
                of a receiver. This will usually be a string, though it may be
                anything hashable.

            delivery
                When the receiver is called: ``"now"`` (during send, as in
                Django), ``"on_commit"`` or ``"task"``; see
                ``signals_app.delivery``.
        """
        self._connect(
            receiver, sender, weak, dispatch_uid, _caller_location(), delivery
        )

    def _connect(
        self,
        receiver: Callable[..., Any],
        sender: Any,
        weak: bool,
        dispatch_uid: Hashable | None,
        connected_at: str | None,
        delivery: str = "now",
    ) -> None:
        _check_receiver(receiver)
        how = _delivery(delivery)
        key = (dispatch_uid or _make_id(receiver), _make_id(sender))
        conn = self._connection(key, receiver, sender, weak)
        conn.weak = weak
        conn.dispatch_uid = dispatch_uid
        conn.connected_at = connected_at
        conn.delivery = how
        if how is not None:
            how.connected(self, receiver, conn)
        with self.lock:
            purged = self._purge_dead()
            added = key not in self._connections
            if added:
                self._add(conn)
                self.sender_receivers_cache.clear()
        if added or purged:
            self._connections_changed()

    def disconnect(
        self,
        receiver: Callable[..., Any] | None = None,
        sender: Any = None,
        dispatch_uid: Hashable | None = None,
    ) -> bool:
        """
        Disconnect receiver from sender for signal.

        If weak references are used, disconnect need not be called. The
        receiver will be removed from dispatch automatically.

        Arguments:

            receiver
                The registered receiver to disconnect. May be none if
                dispatch_uid is specified.

            sender
                The registered sender to disconnect

            dispatch_uid
                the unique identifier of the receiver to disconnect

        Return whether a receiver was disconnected.
        """
        key = (dispatch_uid or _make_id(receiver), _make_id(sender))
        with self.lock:
            purged = self._purge_dead()
            conn = self._connections.get(key)
            if conn is not None:
                self._remove(conn)
                self.sender_receivers_cache.clear()
        if conn is not None or purged:
            self._connections_changed()
        return conn is not None

    def has_listeners(self, sender: Any = None) -> bool:
        """Whether any live receiver would be called for ``sender``."""
        if not self._connections:
            return False
        sync_refs, async_refs, later = self._cached_plan(sender)
        for refs in (sync_refs, async_refs):
            for ref in refs:
                if ref() is not None:
                    return True
        return bool(later) and any(ref() is not None for ref, _ in later)

    def send(self, sender: Any, **named: Any) -> list[tuple[Callable[..., Any], Any]]:
        """
        Send signal from sender to all connected receivers.

        If any receiver raises an error, the error propagates back through
        send, terminating the dispatch loop. So it's possible that all
        receivers won't be called if an error is raised.

        If any receivers are asynchronous, they are called after all the
        synchronous receivers via a single call to async_to_sync(). They are
        also executed concurrently with asyncio.gather().

        Arguments:

            sender
                The sender of the signal. Either a specific object or None.

            named
                Named arguments which will be passed to receivers.

        Return a list of tuple pairs [(receiver, response), ... ].
        """
        if not self._connections:
            return []
        try:
            sync_refs, async_refs, later = self.sender_receivers_cache[id(sender)]
        except KeyError:
            sync_refs, async_refs, later = self._plan(sender)
        if "signal" in named and (sync_refs or async_refs or later):
            raise TypeError("send() got multiple values for argument 'signal'")
        # One dict for every receiver: a call with **kwargs alone costs less
        # than one that merges keyword arguments with **named each time.
        kwargs = {"signal": self, "sender": sender, **named}
        responses = []
        for ref in sync_refs:
            receiver = ref()
            if receiver is not None:
                responses.append((receiver, receiver(**kwargs)))
        if async_refs:
            responses.extend(
                async_to_sync(_gather)(_live(async_refs), self._caller(sender, named))
            )
        if later:
            responses.extend(self._deliver_later(later, sender, named))
        return responses

    def send_robust(
        self, sender: Any, **named: Any
    ) -> list[tuple[Callable[..., Any], Any]]:
        """
        Send signal from sender to all connected receivers catching errors.

        If any receivers are asynchronous, they are called after all the
        synchronous receivers via a single call to async_to_sync(). They are
        also executed concurrently with asyncio.gather().

        Arguments:

            sender
                The sender of the signal. Can be any Python object (normally one
                registered with a connect if you actually want something to
                occur).

            named
                Named arguments which will be passed to receivers.

        Return a list of tuple pairs [(receiver, response), ... ].

        If any receiver raises an error (specifically any subclass of
        Exception), return the error instance as the result for that receiver,
        and log it on the ``signals_app.dispatch`` logger.
        """
        if not self._connections:
            return []
        return self._send_calling(
            sender,
            named,
            self._robust_caller(sender, named),
            self._async_robust_caller(sender, named),
        )

    async def asend(
        self, sender: Any, **named: Any
    ) -> list[tuple[Callable[..., Any], Any]]:
        """
        Send signal from sender to all connected receivers in async mode.

        If any receiver raises an error, the error propagates back through
        send, terminating the dispatch loop. So it's possible that all
        receivers won't be called if an error is raised.

        If any receivers are synchronous, they are grouped and called behind a
        sync_to_async() adaption, concurrently with the asynchronous receivers,
        which are executed concurrently with asyncio.gather().

        Arguments:

            sender
                The sender of the signal. Either a specific object or None.

            named
                Named arguments which will be passed to receivers.

        Return a list of tuple pairs [(receiver, response), ...], the
        synchronous receivers' first.
        """
        if not self._connections:
            return []
        return await self._asend_calling(
            sender, named, self._caller(sender, named), self._caller(sender, named)
        )

    async def asend_robust(
        self, sender: Any, **named: Any
    ) -> list[tuple[Callable[..., Any], Any]]:
        """
        Send signal from sender to all connected receivers catching errors.

        If any receivers are synchronous, they are grouped and called behind a
        sync_to_async() adaption, concurrently with the asynchronous receivers,
        which are executed concurrently with asyncio.gather().

        Arguments:

            sender
                The sender of the signal. Can be any Python object (normally one
                registered with a connect if you actually want something to
                occur).

            named
                Named arguments which will be passed to receivers.

        Return a list of tuple pairs [(receiver, response), ... ], the
        synchronous receivers' first.

        If any receiver raises an error (specifically any subclass of
        Exception), return the error instance as the result for that receiver,
        and log it on the ``signals_app.dispatch`` logger.
        """
        if not self._connections:
            return []
        return await self._asend_calling(
            sender,
            named,
            self._robust_caller(sender, named),
            self._async_robust_caller(sender, named),
        )

    # send() inlines its own loop for speed; the other ways of sending share
    # these, each with its own way of calling a receiver.
    def _send_calling(
        self,
        sender: Any,
        named: dict[str, Any],
        call: Callable[[Callable[..., Any]], Any],
        async_call: Callable[[Callable[..., Any]], Awaitable[Any]],
    ) -> list[tuple[Callable[..., Any], Any]]:
        sync_receivers, async_receivers = self._live_receivers(sender)
        responses = [(receiver, call(receiver)) for receiver in sync_receivers]
        if async_receivers:
            responses.extend(async_to_sync(_gather)(async_receivers, async_call))
        later = self._cached_plan(sender)[2]
        return responses + self._deliver_later(later, sender, named)

    async def _asend_calling(
        self,
        sender: Any,
        named: dict[str, Any],
        call: Callable[[Callable[..., Any]], Any],
        async_call: Callable[[Callable[..., Any]], Awaitable[Any]],
    ) -> list[tuple[Callable[..., Any], Any]]:
        # The synchronous receivers run in order behind one sync_to_async():
        # before Django 6.1 concurrently with the asynchronous ones, since
        # then before them.
        sync_receivers, async_receivers = self._live_receivers(sender)

        def send_sync() -> list[tuple[Callable[..., Any], Any]]:
            return [(receiver, call(receiver)) for receiver in sync_receivers]

        async def nothing() -> list[tuple[Callable[..., Any], Any]]:
            return []

        sync_part = sync_to_async(send_sync)() if sync_receivers else nothing()
        if _SHARED_CONTEXT:
            sync_responses = await sync_part
            async_responses = await _gather(async_receivers, async_call)
        else:
            sync_responses, async_responses = await asyncio.gather(
                sync_part, _gather(async_receivers, async_call)
            )
        later = self._cached_plan(sender)[2]
        return (
            sync_responses + async_responses + self._deliver_later(later, sender, named)
        )

    def _deliver_later(
        self,
        later: tuple[tuple[Callable[[], Any], Any], ...],
        sender: Any,
        named: dict[str, Any],
    ) -> list[tuple[Callable[..., Any], Any]]:
        # Receivers delivered later come after those called now, in
        # registration order; what their delivery returns is their response.
        return [
            (receiver, how.schedule(self, receiver, sender, named))
            for ref, how in later
            if (receiver := ref()) is not None
        ]

    def _connections_changed(self) -> None:
        """
        Called, without the lock held, after connections were added or removed.

        Subclasses that mirror the connections somewhere else override it.
        """

    def _log_robust_failure(self, receiver: Any, err: Exception) -> None:
        logger.error(
            "Error calling %s in Signal.send_robust() (%s)",
            getattr(receiver, "__qualname__", repr(receiver)),
            err,
            exc_info=err,
        )

    def _caller(
        self, sender: Any, named: dict[str, Any]
    ) -> Callable[[Callable[..., Any]], Any]:
        def call(receiver: Callable[..., Any]) -> Any:
            return receiver(signal=self, sender=sender, **named)

        return call

    def _robust_caller(
        self, sender: Any, named: dict[str, Any]
    ) -> Callable[[Callable[..., Any]], Any]:
        def call(receiver: Callable[..., Any]) -> Any:
            try:
                return receiver(signal=self, sender=sender, **named)
            except Exception as err:
                self._log_robust_failure(receiver, err)
                return err

        return call

    def _async_robust_caller(
        self, sender: Any, named: dict[str, Any]
    ) -> Callable[[Callable[..., Awaitable[Any]]], Awaitable[Any]]:
        async def call(receiver: Callable[..., Awaitable[Any]]) -> Any:
            try:
                return await receiver(signal=self, sender=sender, **named)
            except Exception as err:
                self._log_robust_failure(receiver, err)
                return err

        return call

    def _connection(
        self, key: Hashable, receiver: Any, sender: Any, weak: bool
    ) -> _Connection:
        on_death = self._flag_dead
        if weak:
            receiver_ref = _weak_reference(receiver, lambda ref: on_death(key))
            deref = receiver_ref
        else:
            receiver_ref = receiver
            deref = repeat(receiver).__next__
        sender_weakref = sender_ref = None
        if sender is not None and not hasattr(sender, "__func__"):
            try:
                sender_weakref = sender_ref = weakref.ref(
                    sender, lambda ref: on_death(key)
                )
            except TypeError:
                sender_ref = repeat(sender).__next__
        return _new_connection(
            self,
            key,
            receiver_ref,
            deref,
            sender_weakref,
            sender_ref,
            iscoroutinefunction(receiver),
        )

    def _adopt(self, entry: tuple) -> _Connection | None:
        """
        A connection of this signal for an entry assigned to ``receivers``.

        Usually the entry is ours, handed back by a tool that took it earlier
        (factory-boy's mute_signals). One from another signal of ours is made
        anew, so that its receiver's and sender's deaths are heard here; any
        other is read the way Django reads its entries. None for an entry
        whose receiver or sender has died.
        """
        if isinstance(entry, _Connection) and entry.owner is self:
            return entry if entry.alive() else None
        if isinstance(entry, _Connection) and (
            entry.sender_ref is not None or entry.sender_id == _NONE_ID
        ):
            receiver = entry.deref()
            sender = entry.sender_ref() if entry.sender_ref is not None else None
            if receiver is None or (entry.sender_ref is not None and sender is None):
                return None
            conn = self._connection(entry.key, receiver, sender, bool(entry.weak))
            conn.weak = entry.weak
            conn.dispatch_uid = entry.dispatch_uid
            conn.connected_at = entry.connected_at
            conn.delivery = entry.delivery
            return conn
        key, receiver_ref, *rest = entry
        sender_weakref = rest[0] if len(rest) == 2 else None
        if sender_weakref is not None:
            sender = sender_weakref()
            if sender is None:
                return None
            weakref.finalize(sender, self._flag_dead, key)
        if isinstance(receiver_ref, weakref.ReferenceType):
            deref = receiver_ref
            receiver = receiver_ref()
            if receiver is None:
                return None
            # A WeakMethod dies with its instance: the bound method itself is
            # a temporary.
            if isinstance(receiver_ref, weakref.WeakMethod):
                receiver = receiver.__self__
            weakref.finalize(receiver, self._flag_dead, key)
        else:
            deref = repeat(receiver_ref).__next__
        conn = _new_connection(
            self, key, receiver_ref, deref, sender_weakref, sender_weakref, rest[-1]
        )
        conn.weak = deref is receiver_ref
        conn.dispatch_uid = conn.connected_at = conn.delivery = None
        return conn if conn.alive() else None

    def _flag_dead(self, key: Hashable) -> None:
        self._dead.append(key)
        self.sender_receivers_cache.clear()

    def _add(self, conn: _Connection) -> None:
        conn.order = next(self._order)
        self._connections[conn.key] = conn
        self._by_sender.setdefault(conn.sender_id, {})[conn.key] = conn
        if isinstance(conn.sender_id, tuple):
            self._method_senders += 1
            self._update_caching()

    def _remove(self, conn: _Connection) -> None:
        del self._connections[conn.key]
        bucket = self._by_sender[conn.sender_id]
        del bucket[conn.key]
        if not bucket:
            del self._by_sender[conn.sender_id]
        if isinstance(conn.sender_id, tuple):
            self._method_senders -= 1
            self._update_caching()

    def _update_caching(self) -> None:
        # Plans are found again by id(sender). A bound method is a new object
        # on every access and may land where another sender lived, so while
        # any connection is for a bound method no plan is kept.
        for_methods = self._method_senders > 0
        if for_methods is not isinstance(self.sender_receivers_cache, _Uncached):
            self.sender_receivers_cache = _Uncached() if for_methods else {}

    def _purge_dead(self) -> bool:
        # Caller holds self.lock.
        purged = False
        while self._dead:
            conn = self._connections.get(self._dead.pop())
            # The key may since have been connected again, to a live receiver.
            if conn is not None and not conn.alive():
                self._remove(conn)
                purged = True
        return purged

    def _plan(self, sender: Any) -> _Plan:
        sender_id = _make_id(sender)
        with self.lock:
            purged = self._purge_dead()
            connections = self._reaching(sender, sender_id)
            now = [c for c in connections if c.delivery is None]
            plan = (
                (
                    tuple(c.deref for c in now if not c.is_async),
                    tuple(c.deref for c in now if c.is_async),
                    tuple((c.deref, c.delivery) for c in connections if c.delivery),
                )
                if connections
                else _EMPTY_PLAN
            )
            # A bound method's id() changes with every attribute access, so a
            # plan for one cannot be found again by id.
            if sender_id == id(sender):
                if len(self.sender_receivers_cache) >= _MAX_CACHED_PLANS:
                    self.sender_receivers_cache.clear()
                self.sender_receivers_cache[sender_id] = plan
        if purged:
            self._connections_changed()
        return plan

    def _reaching(self, sender: Any, sender_id: Hashable) -> list[_Connection]:
        # Caller holds self.lock.
        for_any = self._by_sender.get(_NONE_ID, {})
        if sender_id == _NONE_ID:
            return list(for_any.values())
        for_this = [
            c for c in self._by_sender.get(sender_id, {}).values() if c.reaches(sender)
        ]
        if not for_this:
            return list(for_any.values())
        if not for_any:
            return for_this
        return sorted([*for_any.values(), *for_this], key=_by_order)

    def _clear_dead_receivers(self) -> None:
        # Django's name for dropping collected receivers; tools call it with
        # the lock held, as Django's own tests do.
        self._purge_dead()

    def _cached_plan(self, sender: Any) -> _Plan:
        try:
            return self.sender_receivers_cache[id(sender)]
        except KeyError:
            return self._plan(sender)

    def _live_receivers(
        self, sender: Any
    ) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]]:
        sync_refs, async_refs, _ = self._cached_plan(sender)
        return _live(sync_refs), _live(async_refs)


def _by_order(conn: _Connection) -> int:
    return conn.order


def _live(refs: Iterable[Callable[[], Any]]) -> list[Callable[..., Any]]:
    return [receiver for ref in refs if (receiver := ref()) is not None]


async def _gather(
    receivers: list[Callable[..., Any]], call: Callable[[Callable[..., Any]], Any]
) -> list[tuple[Callable[..., Any], Any]]:
    awaitables = [call(receiver) for receiver in receivers]
    if _SHARED_CONTEXT:
        responses = await _run_in_one_context(awaitables)
    else:
        responses = await asyncio.gather(*awaitables)
    return list(zip(receivers, responses, strict=True))


async def _run_in_one_context(awaitables: list[Awaitable[Any]]) -> list[Any]:
    # Django 6.1's rules: the receivers run concurrently in one copy of the
    # caller's context, so a context variable one sets is seen by those that
    # read it later, and by the caller afterwards; the first error cancels
    # the others and is raised as it is.
    context = contextvars.copy_context()
    responses: list[Any] = [None] * len(awaitables)

    async def run(index: int, awaitable: Awaitable[Any]) -> None:
        responses[index] = await awaitable

    try:
        async with asyncio.TaskGroup() as group:
            for index, awaitable in enumerate(awaitables):
                group.create_task(run(index, awaitable), context=context)
    except BaseExceptionGroup as errors:
        if len(errors.exceptions) == 1:
            raise errors.exceptions[0] from None
        raise
    finally:
        for variable, value in context.items():
            if variable.get(_UNSET) is not value:
                variable.set(value)
    return responses


def receiver(
    signal: Signal | list[Signal] | tuple[Signal, ...], **kwargs: Any
) -> Callable[[_ReceiverT], _ReceiverT]:
    """
    A decorator for connecting receivers to signals. Used by passing in the
    signal (or list of signals) and keyword arguments to connect::

        @receiver(post_save, sender=MyModel)
        def signal_receiver(sender, **kwargs):
            ...

        @receiver([post_save, post_delete], sender=MyModel)
        def signals_receiver(sender, **kwargs):
            ...

    The decorated function is returned unchanged.
    """

    def _decorator(func: _ReceiverT) -> _ReceiverT:
        signals = signal if isinstance(signal, (list, tuple)) else [signal]
        for each in signals:
            each.connect(func, **kwargs)
        return func

    return _decorator
