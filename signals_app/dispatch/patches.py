"""
Tools that patch ``django.dispatch.Signal`` keep working on our signals.

APM agents time receivers by replacing a method of Django's class: Sentry's
Django integration replaces ``Signal._live_receivers``, which Django's sends
ask for the receivers to call, and wraps each receiver it returns in a span.
Our signals override that method and never call it while sending, so such a
patch would see none of their receivers, and a project's traces would lose
them.

So each send checks whether ``django.dispatch.Signal._live_receivers`` is
still Django's own (one identity test, the only cost while nothing is
patched). When it is not, the send hands the receivers it is about to call
to the replacement and calls what the replacement returns in their place.
The replacement gets our signal as ``self``, so a tool that looks at the
signal (Sentry's deny-list) sees the one it knows. Whatever Django code it
wraps is led to return exactly those receivers (``handing_over()``), so
the tool sees the receivers our dispatcher chose for this send: those whose
condition holds, and not those delivered later.
"""

import contextvars
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial, wraps
from typing import Any

import django.dispatch.dispatcher
from django.dispatch import Signal as DjangoSignal

__all__ = [
    "DJANGOS_LIVE_RECEIVERS",
    "DJANGOS_OWN",
    "DJANGOS_SEND",
    "athrough_sending_patch",
    "handed_over",
    "handing_over",
    "listening_through_patch",
    "live_receivers_patched",
    "patched",
    "run_operation",
    "through_patch",
    "through_patched",
    "through_sending_patch",
]

logger = logging.getLogger("signals_app.dispatch")

_Calls = list[tuple[Callable[..., Any], Any]]


def _djangos_own(name: str) -> Any:
    # The method as Django defines it, or None when something replaced it
    # before we looked (a tool set up in settings, before the apps load):
    # a replacement is known by code that lives outside Django's module.
    method = DjangoSignal.__dict__.get(name)
    code = getattr(method, "__code__", None)
    if code is None or code.co_filename != django.dispatch.dispatcher.__file__:
        return None
    return method


#: Django's own methods that tools patch, by name; None for one that was
#: replaced before we looked.
DJANGOS_OWN = {
    name: _djangos_own(name)
    for name in (
        "_live_receivers",
        "send",
        "send_robust",
        "asend",
        "asend_robust",
        "connect",
        "disconnect",
        "has_listeners",
    )
}
DJANGOS_LIVE_RECEIVERS = DJANGOS_OWN["_live_receivers"]
DJANGOS_SEND = DJANGOS_OWN["send"]


def patched(name: str) -> bool:
    """Whether the method ``name`` of ``django.dispatch.Signal`` is not Django's own."""
    return getattr(DjangoSignal, name) is not DJANGOS_OWN[name]


def live_receivers_patched() -> bool:
    """Whether ``django.dispatch.Signal._live_receivers`` is not Django's own."""
    return DjangoSignal._live_receivers is not DJANGOS_LIVE_RECEIVERS


# While a send hands its receivers over: the plan cache of its signal, what
# that cache's get() gives Django's code ([(receiver, is_async), ...]), and
# a set noting what Django's code read ("use_caching", "cache_attribute",
# "cache": its get()).
_Handing = tuple[Any, list[tuple[Any, bool]], set[str]]
_handing: contextvars.ContextVar[_Handing | None] = contextvars.ContextVar(
    "signals_app_handing_over", default=None
)


@contextmanager
def handing_over(cache: Any, pairs: list[tuple[Any, bool]]) -> Iterator[set[str]]:
    """
    While open, ``handed_over(cache, ...)`` answers ``pairs``. Yields the set
    of what was read meanwhile.
    """
    read: set[str] = set()
    token = _handing.set((cache, pairs, read))
    try:
        yield read
    finally:
        _handing.reset(token)


def handed_over(cache: Any, reading: str) -> list[tuple[Any, bool]] | None:
    """
    What a send is handing over through ``cache``, if one is; notes that
    Django's code is ``reading`` it (``"use_caching"``, ``"cache_attribute"``
    or ``"cache"``).
    """
    handing = _handing.get()
    if handing is None or handing[0] is not cache:
        return None
    handing[2].add(reading)
    return handing[1]


def through_patch(
    signal: Any, sender: Any, sync_calls: _Calls, async_calls: _Calls
) -> tuple[_Calls, _Calls]:
    """
    ``(receiver, extra)`` calls of one send, as the patched
    ``_live_receivers`` makes them: each receiver replaced by what the patch
    returned for it, with the extra arguments its condition added.
    """
    pairs = [(receiver, False) for receiver, _ in sync_calls]
    pairs += [(receiver, True) for receiver, _ in async_calls]
    with handing_over(signal._plans, pairs) as read:
        # Looked up on each send: a tool may also undo its patch.
        sync, async_ = DjangoSignal._live_receivers(signal, sender)
    if "use_caching" in read and "cache" not in read:
        # Django's code ran under the patch but did not take our receivers
        # (a Django that reads them another way): say so, and call ours as
        # they are rather than receivers chosen by other rules. (Nothing
        # read: the patch replaced Django's code outright; its word stands.)
        logger.warning(
            "django.dispatch.Signal._live_receivers is patched, and the code "
            "it wraps did not take the receivers signals_app chose; they are "
            "called without the patch."
        )
        return sync_calls, async_calls
    return _matched(sync, sync_calls), _matched(async_, async_calls)


def _matched(returned: list[Any], calls: _Calls) -> _Calls:
    # Each returned callable with the extra arguments of the receiver it
    # stands for: by position when the patch kept them all, else by the
    # receiver it wraps (functools.wraps sets __wrapped__).
    if len(returned) == len(calls):
        return [(each, extra) for each, (_, extra) in zip(returned, calls, strict=True)]
    extras = {id(receiver): extra for receiver, extra in calls}
    return [(each, extras.get(id(inspect.unwrap(each)))) for each in returned]


def through_sending_patch(
    signal: Any,
    name: str,
    sender: Any,
    named: dict[str, Any],
    calls: tuple[_Calls, _Calls],
    call: Callable[..., Any],
    async_call: Callable[..., Any],
) -> list[tuple[Any, Any]]:
    """
    The responses of ``signal``'s send, run through the patched sending
    method ``name`` of Django's class (``send`` or ``send_robust``). The
    Django code it wraps calls stand-ins for the receivers of ``calls``,
    each calling one of ours through ``call`` (or ``async_call``) as our
    dispatcher would; each response is paired with the receiver again.
    """
    stand_ins, pairs = _stand_ins(calls, call, async_call)
    with handing_over(signal._plans, pairs):
        responses = getattr(DjangoSignal, name)(signal, sender, **named)
    return [(stand_ins.get(id(each), each), response) for each, response in responses]


async def athrough_sending_patch(
    signal: Any,
    name: str,
    sender: Any,
    named: dict[str, Any],
    calls: tuple[_Calls, _Calls],
    call: Callable[..., Any],
    async_call: Callable[..., Any],
) -> list[tuple[Any, Any]]:
    """``through_sending_patch()`` for ``asend`` and ``asend_robust``."""
    stand_ins, pairs = _stand_ins(calls, call, async_call)
    with handing_over(signal._plans, pairs):
        responses = await getattr(DjangoSignal, name)(signal, sender, **named)
    return [(stand_ins.get(id(each), each), response) for each, response in responses]


def _stand_ins(
    calls: tuple[_Calls, _Calls],
    call: Callable[..., Any],
    async_call: Callable[..., Any],
) -> tuple[dict[int, Any], list[tuple[Any, bool]]]:
    # Django's code calls receivers with the send's arguments alone; ours
    # may add some (conditions) and go through the instrument, so it is
    # handed stand-ins that know how. Named as the receiver (wraps), should
    # a tool look.
    stand_ins: dict[int, Any] = {}
    pairs: list[tuple[Any, bool]] = []
    sync_calls, async_calls = calls
    for is_async, how, through in [
        (False, _call_as_ours, call),
        (True, _acall_as_ours, async_call),
    ]:
        for receiver, extra in async_calls if is_async else sync_calls:
            stand_in = wraps(receiver)(partial(how, through, receiver, extra))
            if not hasattr(stand_in, "__qualname__"):
                # Django's send_robust() logs errors under this name.
                stand_in.__qualname__ = repr(receiver)
            stand_ins[id(stand_in)] = receiver
            pairs.append((stand_in, is_async))
    return stand_ins, pairs


def _call_as_ours(
    call: Callable[..., Any], receiver: Any, extra: Any, **ignored: Any
) -> Any:
    return call(receiver, extra)


async def _acall_as_ours(
    call: Callable[..., Any], receiver: Any, extra: Any, **ignored: Any
) -> Any:
    return await call(receiver, extra)


# A connect() or disconnect() under way through a tool's patch: the signal,
# the operation of ours, and a list that takes its result once it has run.
_operation: contextvars.ContextVar[tuple[Any, Callable[[], Any], list[Any]] | None] = (
    contextvars.ContextVar("signals_app_patched_operation", default=None)
)


def through_patched(
    signal: Any, name: str, operation: Callable[[], Any], *args: Any
) -> Any:
    """
    Run the patched method ``name`` of Django's class (``connect`` or
    ``disconnect``) on ``signal`` with ``args``; the Django code it wraps
    runs ``operation`` (see ``run_operation()``), whose result is returned.
    """
    done: list[Any] = []
    token = _operation.set((signal, operation, done))
    try:
        getattr(DjangoSignal, name)(signal, *args)
    finally:
        _operation.reset(token)
    if done:
        return done[0]
    # The patch, or the Django code it wraps, never reached ours: a
    # connection must not vanish (nor linger) silently.
    logger.warning(
        "django.dispatch.Signal.%s is patched, and the code it wraps did not "
        "reach signals_app's; it ran without the patch.",
        name,
    )
    return operation()


def run_operation(signal: Any) -> None:
    """
    Run the operation ``through_patched()`` is under way with for ``signal``,
    once. Django's ``connect()`` and ``disconnect()`` call
    ``_clear_dead_receivers()`` holding the lock, before they touch
    ``receivers``: our signals run the operation from there.
    """
    pending = _operation.get()
    if pending is not None and pending[0] is signal and not pending[2]:
        pending[2].append(pending[1]())


def listening_through_patch(signal: Any, sender: Any, listening: bool) -> Any:
    """
    What the patched ``has_listeners`` of Django's class answers on
    ``signal``, whose receivers for ``sender`` are ``listening`` or not.
    """
    pairs = [(_listener, False)] if listening else []
    with handing_over(signal._plans, pairs):
        return DjangoSignal.has_listeners(signal, sender)


def _listener(**kwargs: Any) -> None:
    # What Django's has_listeners() counts while ours hands over a yes.
    pass
