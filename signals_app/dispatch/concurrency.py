"""
How one send runs its asynchronous receivers, by the running Django's rules.

Up to Django 6.0 they run together under ``asyncio.gather()``, each in a copy
of the caller's context. Django 6.1 runs them in one shared copy, so that a
context variable set by one receiver is seen by the others and by the caller
afterwards, and under ``asend()`` calls the synchronous receivers before the
asynchronous ones instead of alongside them. Receivers written for one
Django behave the same here.
"""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import django

__all__ = ["SHARED_CONTEXT", "gather"]

SHARED_CONTEXT = django.VERSION >= (6, 1)

_UNSET = object()

Responses = list[tuple[Callable[..., Any], Any]]


async def gather(
    calls: list[tuple[Callable[..., Any], Any]], call: Callable[..., Any]
) -> Responses:
    """
    Await ``call(receiver, extra)`` for every ``(receiver, extra)`` of ``calls``
    at once; pair each receiver with its result.
    """
    awaitables = [call(receiver, extra) for receiver, extra in calls]
    if SHARED_CONTEXT:
        responses = await _in_one_context(awaitables)
    else:
        responses = await asyncio.gather(*awaitables)
    return [
        (receiver, response)
        for (receiver, _), response in zip(calls, responses, strict=True)
    ]


async def _in_one_context(awaitables: list[Awaitable[Any]]) -> list[Any]:
    # One copy of the context for all of them; what they set there is copied
    # back to the caller at the end. The first failure cancels the rest and
    # surfaces as itself, not wrapped in an exception group.
    context = contextvars.copy_context()
    results: list[Any] = [None] * len(awaitables)

    async def run(position: int, awaitable: Awaitable[Any]) -> None:
        results[position] = await awaitable

    try:
        async with asyncio.TaskGroup() as group:
            for position, awaitable in enumerate(awaitables):
                group.create_task(run(position, awaitable), context=context)
    except BaseExceptionGroup as failures:
        if len(failures.exceptions) == 1:
            raise failures.exceptions[0] from None
        raise
    finally:
        for variable, value in context.items():
            if variable.get(_UNSET) is not value:
                variable.set(value)
    return results
