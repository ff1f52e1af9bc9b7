import logging
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import AsyncRequestFactory, RequestFactory, override_settings

from signals_app import tracing
from signals_app.conf import app_settings
from signals_app.dispatch import Signal
from signals_app.signals import post_save
from testproject.shop.models import Customer
from tests.factories import CustomerFactory
from tests.recorder import Recorder

SENT_METHODS = ["send", "send_robust", "asend", "asend_robust"]


class Boom(Exception):
    pass


def failing(**kwargs):
    raise Boom("receiver failed")


async def async_answer(**kwargs):
    return "async answer"


# Module level, so describe_signal() has a name to find.
order_placed = Signal()


@pytest.fixture
def installed() -> Iterator[None]:
    tracing.install()
    yield
    tracing.uninstall()


def send(signal: Signal, method: str, sender: object, **named: object) -> list:
    """Call any of the four send methods synchronously."""
    if not method.startswith("a"):
        return getattr(signal, method)(sender=sender, **named)

    async def asend() -> list:
        return await getattr(signal, method)(sender=sender, **named)

    return async_to_sync(asend)()


def test_settings_default_and_are_read_lazily():
    assert app_settings.TRACE is False
    assert app_settings.SLOW_RECEIVER_MS == 100.0

    with override_settings(SIGNALS_APP_TRACE=True, SIGNALS_APP_SLOW_RECEIVER_MS=5):
        assert app_settings.TRACE is True
        assert app_settings.SLOW_RECEIVER_MS == 5.0


def test_trace_records_receivers_in_order(installed):
    first, second = Recorder("first", result=1), Recorder("second", result=2)
    order_placed.connect(first)
    order_placed.connect(second, sender="shop")

    with tracing.trace() as t:
        order_placed.send(sender="shop", number="A1")

    assert [call.receiver for call in t.calls] == [first, second]
    assert {call.signal for call in t.calls} == {order_placed}
    assert {call.sender for call in t.calls} == {"shop"}
    assert all(call.duration >= 0 for call in t.calls)
    assert t.total == sum(call.duration for call in t.calls)
    assert t.calls[0].signal_name == "tests.test_tracing.order_placed"
    assert t.calls[0].sender_name == "'shop'"
    assert t.calls[0].receiver_name == "tests.recorder.Recorder"


def test_nothing_is_recorded_outside_a_trace_or_after_it(installed):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)

    assert signal.send(sender=None) == [(recorder, None)]
    with tracing.trace() as t:
        pass
    signal.send(sender=None)

    assert t.calls == []


def test_nested_traces_both_record(installed):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)

    with tracing.trace() as outer:
        signal.send(sender=None)
        with tracing.trace() as inner:
            signal.send(sender=None)

    assert len(outer.calls) == 2
    assert inner.calls == outer.calls[1:]


def test_nothing_is_recorded_when_not_installed():
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)

    with tracing.trace() as t:
        signal.send(sender=None)

    assert recorder.calls
    assert t.calls == []


@pytest.mark.parametrize("method", SENT_METHODS)
def test_traced_send_returns_what_untraced_send_returns(method):
    signal = Signal()
    sync_receiver, other = Recorder("sync"), Recorder("other")
    signal.connect(sync_receiver)
    signal.connect(async_answer)
    signal.connect(other, sender="shop")
    signal.connect(sync_receiver.__call__, sender="elsewhere")

    untraced = send(signal, method, "shop", number="A1")
    tracing.install()
    try:
        with tracing.trace() as t:
            traced = send(signal, method, "shop", number="A1")
    finally:
        tracing.uninstall()

    assert traced == untraced
    assert [r for r, _ in traced] == [sync_receiver, other, async_answer]
    recorded = [call.receiver for call in t.calls]
    if method.startswith("a"):
        # asend runs the synchronous receivers concurrently with the others.
        assert sorted(recorded, key=id) == sorted([r for r, _ in traced], key=id)
    else:
        assert recorded == [sync_receiver, other, async_answer]
    assert sync_receiver.received()[0] == sync_receiver.received()[1]


@pytest.mark.parametrize("method", ["send_robust", "asend_robust"])
def test_robust_sends_still_catch_and_log_errors(installed, method, caplog):
    signal, after = Signal(), Recorder("after")
    signal.connect(failing)
    signal.connect(after)

    with tracing.trace() as t:
        responses = send(signal, method, None)

    assert [r for r, _ in responses] == [failing, after]
    assert isinstance(responses[0][1], Boom)
    assert [call.receiver for call in t.calls] == [failing, after]
    assert "Error calling failing" in caplog.text


@pytest.mark.parametrize("method", ["send", "asend"])
def test_errors_propagate_and_the_failed_call_is_recorded(installed, method):
    signal, never = Signal(), Recorder("never")
    signal.connect(failing)
    signal.connect(never)

    with tracing.trace() as t, pytest.raises(Boom, match="receiver failed"):
        send(signal, method, None)

    if method == "send":
        # asend runs synchronous receivers in one go: the second may not start.
        assert never.received() == []
        assert [call.receiver for call in t.calls] == [failing]
    assert t.calls[0].duration >= 0


def test_signal_argument_is_still_rejected(installed):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)

    with pytest.raises(TypeError, match="multiple values for argument 'signal'"):
        signal.send(sender=None, signal=signal)


@pytest.mark.parametrize("traced", [False, True])
def test_signal_argument_reaching_no_receiver_is_accepted_traced_or_not(traced):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder, sender="elsewhere")
    if traced:
        tracing.install()
    try:
        assert signal.send(sender=None, signal=signal) == []
    finally:
        tracing.uninstall()


def test_async_receivers_are_recorded_under_asend(installed):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)
    signal.connect(async_answer)

    with tracing.trace() as t:
        send(signal, "asend", None)

    assert {call.receiver for call in t.calls} == {recorder, async_answer}
    assert all(call.duration >= 0 for call in t.calls)


@override_settings(SIGNALS_APP_SLOW_RECEIVER_MS=0)
def test_slow_receivers_are_logged(installed, caplog):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)

    with caplog.at_level(logging.WARNING, logger="signals_app"):
        signal.send(sender="shop")

    # override_settings itself sends setting_changed, whose receivers are
    # timed too: only the Recorder's record counts here.
    [record] = [
        r
        for r in caplog.records
        if r.name == "signals_app" and "tests.recorder.Recorder" in r.getMessage()
    ]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("Slow signal receiver tests.recorder.Recorder took ")
    assert "ms (signal tests.test_tracing.signal" not in message  # a local
    assert "sender 'shop'" in message


def test_fast_receivers_are_not_logged(installed, caplog):
    signal = Signal()
    signal.connect(Recorder())

    with caplog.at_level(logging.WARNING, logger="signals_app"):
        signal.send(sender="shop")

    assert [r for r in caplog.records if r.name == "signals_app"] == []


def test_uninstall_restores_the_original_methods():
    originals = {name: Signal.__dict__[name] for name in SENT_METHODS}

    tracing.install()
    tracing.install()  # a second install changes nothing
    assert tracing.is_installed()
    assert Signal.__dict__["send"] is not originals["send"]
    tracing.uninstall()

    assert not tracing.is_installed()
    assert all(Signal.__dict__[name] is originals[name] for name in SENT_METHODS)


def test_ready_installs_tracing_only_when_the_setting_is_on():
    config = apps.get_app_config("signals_app")

    config.ready()
    assert not tracing.is_installed()
    try:
        with override_settings(SIGNALS_APP_TRACE=True):
            config.ready()
        assert tracing.is_installed()
    finally:
        tracing.uninstall()


def _view_sending(signal: Signal):
    def view(request: HttpRequest) -> HttpResponse:
        signal.send(sender="view")
        return HttpResponse("ok")

    return view


def test_middleware_keeps_the_requests_trace(installed):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)
    middleware = tracing.TracingMiddleware(_view_sending(signal))
    request = RequestFactory().get("/")

    middleware(request)

    assert [call.receiver for call in request.signals_app_trace.calls] == [recorder]


def test_middleware_works_in_async_mode(installed):
    signal, recorder = Signal(), Recorder()
    signal.connect(recorder)
    signal.connect(async_answer)

    async def view(request: HttpRequest) -> HttpResponse:
        await signal.asend(sender="view")
        return HttpResponse("ok")

    middleware = tracing.TracingMiddleware(view)
    request = AsyncRequestFactory().get("/")

    async_to_sync(middleware)(request)

    calls = request.signals_app_trace.calls
    assert {call.receiver for call in calls} == {recorder, async_answer}


@pytest.mark.django_db
def test_receivers_of_built_in_signals_are_traced(installed):
    recorder = Recorder()
    post_save.connect(recorder, sender=Customer)
    try:
        with tracing.trace() as recorded:
            CustomerFactory()
    finally:
        post_save.disconnect(recorder, sender=Customer)

    assert [(call.signal, call.sender, call.receiver) for call in recorded.calls] == [
        (post_save, Customer, recorder)
    ]


@pytest.mark.django_db(transaction=True)
def test_on_commit_receivers_are_traced_when_they_run_at_commit(installed, connect):
    now, later = Recorder("now"), Recorder("later")
    connect(post_save, now, sender=Customer)
    connect(post_save, later, sender=Customer, delivery="on_commit")

    with tracing.trace() as recorded, transaction.atomic():
        CustomerFactory()
        assert [call.receiver for call in recorded.calls] == [now]

    assert [call.receiver for call in recorded.calls] == [now, later]
    assert recorded.calls[1].duration is not None


@pytest.mark.django_db(transaction=True)
def test_on_commit_receivers_scheduled_by_asend_are_traced_when_they_run(installed):
    later = Recorder("later")
    order_placed.connect(later, delivery="on_commit")

    async def send() -> list:
        with tracing.trace() as recorded:
            # In autocommit the call runs as soon as asend() schedules it,
            # in the thread that holds the caller's connection.
            await order_placed.asend(sender="shop")
        return recorded.calls

    try:
        calls = async_to_sync(send)()
    finally:
        order_placed.disconnect(later)

    assert [call.receiver for call in calls] == [later]
