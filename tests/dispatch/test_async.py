"""Asynchronous receivers, and asend / asend_robust."""

import asyncio
import contextvars
import logging

import django.dispatch
import pytest
from asgiref.sync import async_to_sync, markcoroutinefunction

from tests.recorder import Recorder


class Boom(Exception):
    pass


class AsyncRecorder(Recorder):
    """A Recorder whose calls are coroutines, marked so the signal awaits them."""

    def __init__(self, result=None, name="async recorder"):
        super().__init__(name, result=result)
        markcoroutinefunction(self)

    async def __call__(self, **kwargs):
        await asyncio.sleep(0)
        return super().__call__(**kwargs)


async def async_explode(**kwargs):
    await asyncio.sleep(0)
    raise Boom("async receiver failed")


def sync_explode(**kwargs):
    raise Boom("sync receiver failed")


def make_async_function(result):
    async def receive(**kwargs):
        await asyncio.sleep(0)
        return result

    return receive


def responses_of(responses):
    return [response for _, response in responses]


def test_a_coroutine_function_is_connected_as_async(signal):
    receive = make_async_function("async")
    signal.connect(receive)

    [entry] = signal.receivers

    assert entry[-1] is True


def test_a_plain_function_is_connected_as_sync(signal):
    signal.connect(sync_explode)

    [entry] = signal.receivers

    assert entry[-1] is False


def test_send_calls_async_receivers_after_the_sync_ones(signal):
    first_async = make_async_function("async 1")
    second_async = make_async_function("async 2")
    first_sync, second_sync = Recorder(result="sync 1"), Recorder(result="sync 2")
    signal.connect(first_async)
    signal.connect(first_sync)
    signal.connect(second_async)
    signal.connect(second_sync)

    responses = signal.send(None)

    assert responses_of(responses) == ["sync 1", "sync 2", "async 1", "async 2"]
    assert responses[2][0] is first_async


def test_send_gives_async_receivers_the_same_arguments(signal):
    recorder = AsyncRecorder()
    signal.connect(recorder)

    signal.send("sender", answer=42)

    assert recorder.received() == [{"signal": signal, "sender": "sender", "answer": 42}]


def test_send_propagates_an_error_from_an_async_receiver(signal):
    signal.connect(async_explode)

    with pytest.raises(Boom, match="async receiver failed"):
        signal.send(None)


def test_send_robust_returns_errors_from_async_receivers(signal, caplog):
    after = AsyncRecorder(result="after")
    signal.connect(async_explode)
    signal.connect(after)

    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        responses = signal.send_robust(None)

    assert [called for called, _ in responses] == [async_explode, after]
    assert isinstance(responses[0][1], Boom)
    assert responses[1][1] == "after"
    assert [record.exc_info[1] for record in caplog.records] == [responses[0][1]]


def test_asend_calls_sync_and_async_receivers_sync_responses_first(signal):
    receive = make_async_function("async")
    sync_recorder = Recorder(result="sync")
    signal.connect(receive)
    signal.connect(sync_recorder)

    responses = asyncio.run(signal.asend("sender", answer=42))

    assert responses == [(sync_recorder, "sync"), (receive, "async")]
    expected = [{"signal": signal, "sender": "sender", "answer": 42}]
    assert sync_recorder.received() == expected


def test_asend_keeps_registration_order_within_sync_and_async_receivers(signal):
    receivers = [
        make_async_function("async 1"),
        Recorder(result="sync 1"),
        make_async_function("async 2"),
        Recorder(result="sync 2"),
    ]
    for each in receivers:
        signal.connect(each)

    responses = asyncio.run(signal.asend(None))

    assert responses_of(responses) == ["sync 1", "sync 2", "async 1", "async 2"]


def test_asend_filters_by_sender(signal):
    mine = AsyncRecorder(result="mine")
    everyone = AsyncRecorder(result="everyone")
    signal.connect(mine, sender="mine")
    signal.connect(everyone)

    assert asyncio.run(signal.asend("other")) == [(everyone, "everyone")]
    assert responses_of(asyncio.run(signal.asend("mine"))) == ["mine", "everyone"]


def test_asend_without_receivers_returns_an_empty_list(signal):
    assert asyncio.run(signal.asend(None)) == []
    assert asyncio.run(signal.asend_robust(None)) == []


def test_asend_propagates_an_error_from_an_async_receiver(signal):
    signal.connect(async_explode)

    with pytest.raises(Boom, match="async receiver failed"):
        asyncio.run(signal.asend(None))


def test_asend_propagates_an_error_from_a_sync_receiver(signal):
    signal.connect(sync_explode)
    signal.connect(AsyncRecorder(), weak=False)

    with pytest.raises(Boom, match="sync receiver failed"):
        asyncio.run(signal.asend(None))


def test_asend_robust_returns_errors_from_sync_and_async_receivers(signal, caplog):
    signal.connect(async_explode)
    signal.connect(sync_explode)
    signal.connect(Recorder(result="sync"), weak=False)
    signal.connect(AsyncRecorder(result="async"), weak=False)

    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        responses = asyncio.run(signal.asend_robust(None))

    called = [receiver for receiver, _ in responses]
    assert called[0] is sync_explode
    assert called[2] is async_explode
    sync_error, sync_ok, async_error, async_ok = responses_of(responses)
    assert isinstance(sync_error, Boom)
    assert str(sync_error) == "sync receiver failed"
    assert sync_ok == "sync"
    assert isinstance(async_error, Boom)
    assert str(async_error) == "async receiver failed"
    assert async_ok == "async"
    logged = {record.exc_info[1] for record in caplog.records}
    assert logged == {sync_error, async_error}


def test_asend_robust_returns_errors_with_their_traceback(signal):
    signal.connect(async_explode)

    [(_, error)] = asyncio.run(signal.asend_robust(None))

    assert error.__traceback__ is not None


counter = contextvars.ContextVar("counter", default=0)


async def count_up(**kwargs):
    counter.set(counter.get() + 1)
    return counter.get()


def count_up_in_sync(**kwargs):
    counter.set(counter.get() + 1)
    return counter.get()


def _context_seen(signal, send):
    # What the receivers and the caller see of a context variable they set,
    # sent from a context of its own.
    def run():
        responses = send(signal)
        return [response for _, response in responses], counter.get()

    return contextvars.copy_context().run(run)


@pytest.mark.parametrize(
    "send",
    [
        lambda signal: signal.send(None),
        lambda signal: async_to_sync(signal.asend)(None),
    ],
    ids=["send", "asend"],
)
def test_receivers_share_context_variables_as_the_running_djangos_do(signal, send):
    djangos = django.dispatch.Signal()
    for each in (signal, djangos):
        each.connect(count_up_in_sync, weak=False)
        each.connect(count_up, weak=False)
        each.connect(count_up, weak=False, dispatch_uid="twice")

    assert _context_seen(signal, send) == _context_seen(djangos, send)
