"""
The ways a signal calls its receivers, besides its compiled ``send()``.

A signal's compiled send (callers) calls the receivers itself when every
receiver a sender reaches is synchronous and called now, and the names are
the ones it was compiled for. Everything else comes here:

* ``send_now()``: the rest of ``send()``: asynchronous receivers and
  deliveries later, and conditions when the compiled send is not in use;
* ``send_with()`` and ``asend_with()``: the one body behind ``send_robust()``,
  ``asend()``, ``asend_robust()`` and a send made while an instrument is
  installed or a tool has patched Django's class;
* the callers they call each receiver through, plain or robust.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.dispatch import Signal as DjangoSignal

from .concurrency import SHARED_CONTEXT, gather
from .conditions import SKIP, Failed, admitted, gate
from .instrumentation import wrap
from .patches import (
    DJANGOS_LIVE_RECEIVERS,
    athrough_sending_patch,
    patched,
    through_patch,
    through_sending_patch,
)

__all__ = [
    "asend_with",
    "async_robust_caller",
    "deliver_later",
    "plain_caller",
    "robust_caller",
    "send_general",
    "send_now",
    "send_with",
]

# Where Django's send_robust() reports receiver errors, so a project's
# LOGGING (and Django's mail_admins default) keeps seeing them.
logger = logging.getLogger("django.dispatch")

Responses = list[tuple[Callable[..., Any], Any]]
_Call = Callable[..., Any]


def send_now(signal: Any, sender: Any, named: dict[str, Any], plan: Any) -> Responses:
    """
    ``signal.send(sender, **named)`` on the general path, with ``plan`` the
    sender's plan: names the signal has no compiled send for, receivers with
    conditions, asynchronous ones, deliveries later.
    """
    if "self" in named:
        raise TypeError("send() got multiple values for argument 'self'")
    _, sync_refs, async_refs, later, gates = plan
    if "signal" in named and (sync_refs or async_refs or later):
        raise TypeError("send() got multiple values for argument 'signal'")
    # One dict serves every receiver: calling with **kwargs alone is
    # cheaper than merging keyword arguments on each call.
    kwargs = {"signal": signal, "sender": sender, **named}
    responses = []
    if gates is None:
        for ref in sync_refs:
            receiver = ref()
            if receiver is not None:
                responses.append((receiver, receiver(**kwargs)))
    else:
        for receiver, extra in admitted(sync_refs, gates, sender, named):
            response = receiver(**{**kwargs, **extra}) if extra else receiver(**kwargs)
            responses.append((receiver, response))
    if async_refs:
        calls = admitted(async_refs, gates, sender, named)
        call = plain_caller(signal, sender, named)
        responses.extend(async_to_sync(gather)(calls, call))
    if later:
        responses.extend(deliver_later(signal, later, gates, sender, named))
    return responses


def send_general(signal: Any, /, sender: Any, **named: Any) -> Responses:
    """
    ``send()`` while an instrument is installed, or a tool has patched
    Django's class: the shared body, refusing ``self`` and ``signal``
    arguments as the quick path does.
    """
    if "self" in named:
        raise TypeError("send() got multiple values for argument 'self'")
    if "signal" in named and signal.has_listeners(sender):
        raise TypeError("send() got multiple values for argument 'signal'")
    call = plain_caller(signal, sender, named)
    return send_with(signal, sender, named, call, call)


def send_with(
    signal: Any,
    sender: Any,
    named: dict[str, Any],
    call: _Call,
    async_call: Callable[..., Awaitable[Any]],
    entry: str = "send",
) -> Responses:
    """
    A send calling each receiver through ``call`` (``async_call`` for the
    asynchronous ones), through the instrument and tools' patches if any.
    ``entry``: the method of Django's class a tool's patch of which this
    send goes through; a robust one's (``send_robust``) also makes an error
    raised by a receiver's condition that receiver's response.
    """
    if not signal._connections:
        return []
    robust = entry.endswith("_robust")
    _, sync_refs, async_refs, later, gates = signal._cached_plan(sender)
    sync_calls = admitted(sync_refs, gates, sender, named, robust)
    async_calls = None
    if DjangoSignal._live_receivers is not DJANGOS_LIVE_RECEIVERS:
        # A tool's patch gets every receiver at once, as from Django.
        sync_calls, async_calls = through_patch(
            signal,
            sender,
            sync_calls,
            admitted(async_refs, gates, sender, named, robust),
        )
    if patched(entry):
        # Django's code, under the patch, catches errors for send_robust.
        plain = plain_caller(signal, sender, named)
        responses = through_sending_patch(
            signal,
            entry,
            sender,
            named,
            (sync_calls, admitted(async_refs, gates, sender, named, robust))
            if async_calls is None
            else (sync_calls, async_calls),
            *wrap(signal, sender, named, plain, plain),
        )
        return responses + deliver_later(signal, later, gates, sender, named, robust)
    call, async_call = wrap(signal, sender, named, call, async_call)
    responses = [(receiver, call(receiver, extra)) for receiver, extra in sync_calls]
    if async_calls is None:
        async_calls = admitted(async_refs, gates, sender, named, robust)
    if async_calls:
        responses.extend(async_to_sync(gather)(async_calls, async_call))
    return responses + deliver_later(signal, later, gates, sender, named, robust)


async def asend_with(
    signal: Any,
    sender: Any,
    named: dict[str, Any],
    call: _Call,
    async_call: Callable[..., Awaitable[Any]],
    entry: str,
) -> Responses:
    """``send_with()`` for ``asend()`` and ``asend_robust()``."""
    robust = entry.endswith("_robust")
    _, sync_refs, async_refs, later, gates = signal._cached_plan(sender)
    sync_calls = admitted(sync_refs, gates, sender, named, robust)
    async_calls = admitted(async_refs, gates, sender, named, robust)
    if DjangoSignal._live_receivers is not DJANGOS_LIVE_RECEIVERS:
        sync_calls, async_calls = through_patch(signal, sender, sync_calls, async_calls)
    if patched(entry):
        plain = plain_caller(signal, sender, named)
        now_responses = await athrough_sending_patch(
            signal,
            entry,
            sender,
            named,
            (sync_calls, async_calls),
            *wrap(signal, sender, named, plain, plain),
        )
    else:
        call, async_call = wrap(signal, sender, named, call, async_call)
        now_responses = await _acall_now(sync_calls, async_calls, call, async_call)
    # Scheduled from the thread that asgiref gives thread-sensitive work:
    # connections are per thread, and on_commit() and the outbox need the
    # caller's. On the loop itself they would find no transaction, and
    # work left on a loop that async_to_sync() made dies with the call.
    later_responses = (
        await sync_to_async(deliver_later)(signal, later, gates, sender, named, robust)
        if later
        else []
    )
    return now_responses + later_responses


async def _acall_now(
    sync_calls: list[tuple[Any, Any]],
    async_calls: list[tuple[Any, Any]],
    call: _Call,
    async_call: Callable[..., Awaitable[Any]],
) -> Responses:
    def run_sync() -> Responses:
        return [(receiver, call(receiver, extra)) for receiver, extra in sync_calls]

    async def none() -> Responses:
        return []

    sync_part = sync_to_async(run_sync)() if sync_calls else none()
    if SHARED_CONTEXT:
        sync_responses = await sync_part
        async_responses = await gather(async_calls, async_call)
    else:
        sync_responses, async_responses = await _both(
            sync_part, gather(async_calls, async_call)
        )
    return sync_responses + async_responses


async def _both(first: Awaitable[Any], second: Awaitable[Any]) -> list[Any]:
    return list(await asyncio.gather(first, second))


def deliver_later(
    signal: Any,
    later: tuple[tuple[Callable[[], Any], Any], ...],
    gates: dict[int, Any] | None,
    sender: Any,
    named: dict[str, Any],
    robust: bool = False,
) -> Responses:
    """
    Schedule the receivers delivered later, in registration order, after
    those called now; a delivery's ``schedule()`` result stands as the
    receiver's response. What a condition adds travels with the other
    arguments. With ``robust``, a condition's error is logged and stands as
    the response of its receiver, which is not scheduled.
    """
    responses = []
    for ref, how in later:
        receiver = ref()
        if receiver is None:
            continue
        extra = gate(gates, ref, sender, named, robust)
        if extra is SKIP:
            continue
        if type(extra) is Failed:
            _log_receiver_error(receiver, extra.error)
            responses.append((receiver, extra.error))
            continue
        arguments = {**named, **extra} if extra else named
        responses.append((receiver, how.schedule(signal, receiver, sender, arguments)))
    return responses


def plain_caller(signal: Any, sender: Any, named: dict[str, Any]) -> _Call:
    """
    ``call(receiver, extra)`` for one send: the receiver called as Django
    does; for a ``Failed`` condition, its error raised instead.
    """

    def call(receiver: Callable[..., Any], extra: Any = None) -> Any:
        if extra:
            if type(extra) is Failed:
                raise extra.error
            return receiver(signal=signal, sender=sender, **{**named, **extra})
        return receiver(signal=signal, sender=sender, **named)

    return call


def robust_caller(signal: Any, sender: Any, named: dict[str, Any]) -> _Call:
    """``plain_caller()`` whose ``Exception`` is logged and returned."""
    plain = plain_caller(signal, sender, named)

    def call(receiver: Callable[..., Any], extra: Any = None) -> Any:
        try:
            return plain(receiver, extra)
        except Exception as err:
            _log_receiver_error(receiver, err)
            return err

    return call


def async_robust_caller(
    signal: Any, sender: Any, named: dict[str, Any]
) -> Callable[..., Awaitable[Any]]:
    """``robust_caller()`` for asynchronous receivers."""
    plain = plain_caller(signal, sender, named)

    async def call(receiver: Callable[..., Awaitable[Any]], extra: Any = None) -> Any:
        try:
            return await plain(receiver, extra)
        except Exception as err:
            _log_receiver_error(receiver, err)
            return err

    return call


def _log_receiver_error(receiver: Any, err: Exception) -> None:
    logger.error(
        "Error calling %s in Signal.send_robust() (%s)",
        getattr(receiver, "__qualname__", repr(receiver)),
        err,
        exc_info=err,
    )
