"""send and send_robust: responses, named arguments and errors."""

import logging
from types import TracebackType

import pytest

from signals_app.dispatch import Signal
from tests.recorder import Recorder


class Boom(Exception):
    pass


class Fatal(BaseException):
    """Not an Exception: send_robust must let it through."""


def explode(**kwargs):
    raise Boom("receiver failed")


def fatal(**kwargs):
    raise Fatal


def test_send_passes_named_arguments_to_every_receiver(signal):
    first, second = Recorder(), Recorder()
    signal.connect(first)
    signal.connect(second)

    signal.send("sender", answer=42)

    expected = {"signal": signal, "sender": "sender", "answer": 42}
    assert first.received() == [expected]
    assert second.received() == [expected]


def test_send_passes_our_signal_object_as_signal(signal):
    other = Signal()
    recorder = Recorder()
    signal.connect(recorder)
    other.connect(recorder)

    signal.send(None)
    other.send(None)

    assert [call["signal"] for call in recorder.received()] == [signal, other]


def test_send_with_a_signal_argument_is_a_type_error(signal):
    recorder = Recorder()
    signal.connect(recorder)

    with pytest.raises(TypeError, match="signal"):
        signal.send(None, signal="mine")

    assert recorder.received() == []


def test_send_with_a_signal_argument_and_no_receiver_for_the_sender_is_empty(signal):
    # As Django: the clash only shows when a receiver would be called.
    signal.connect(Recorder(), sender="someone else", weak=False)

    assert signal.send(None, signal="mine") == []


def test_send_robust_with_a_signal_argument_returns_the_type_error(signal):
    recorder = Recorder()
    signal.connect(recorder)

    [(called, response)] = signal.send_robust(None, signal="mine")

    assert called is recorder
    assert isinstance(response, TypeError)
    assert recorder.received() == []


def test_an_error_in_a_receiver_propagates_from_send(signal):
    after = Recorder()
    signal.connect(explode)
    signal.connect(after)

    with pytest.raises(Boom, match="receiver failed"):
        signal.send(None)

    assert after.received() == []


def test_receivers_before_a_failing_one_have_run_when_send_raises(signal):
    before = Recorder()
    signal.connect(before)
    signal.connect(explode)

    with pytest.raises(Boom):
        signal.send(None)

    assert len(before.calls) == 1


def test_send_robust_returns_the_error_as_the_response(signal):
    signal.connect(explode)

    [(called, response)] = signal.send_robust(None)

    assert called is explode
    assert isinstance(response, Boom)
    assert str(response) == "receiver failed"


def test_send_robust_returns_errors_with_their_traceback(signal):
    signal.connect(explode)

    [(_, error)] = signal.send_robust(None)

    assert isinstance(error.__traceback__, TracebackType)


def test_send_robust_runs_the_other_receivers(signal):
    before, after = Recorder(result="before"), Recorder(result="after")
    signal.connect(before)
    signal.connect(explode)
    signal.connect(after)

    responses = signal.send_robust("sender")

    assert [called for called, _ in responses] == [before, explode, after]
    assert responses[0][1] == "before"
    assert isinstance(responses[1][1], Boom)
    assert responses[2][1] == "after"


def test_send_robust_returns_what_send_returns_when_nothing_fails(signal):
    first, second = Recorder(result=1), Recorder(result=2)
    signal.connect(first)
    signal.connect(second, sender="sender")

    assert signal.send_robust("sender") == signal.send("sender")


def test_send_robust_logs_errors_where_django_does(signal, caplog):
    signal.connect(explode)

    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        [(_, error)] = signal.send_robust(None)

    [record] = caplog.records
    assert record.name == "django.dispatch"
    assert record.levelno == logging.ERROR
    assert "explode" in record.getMessage()
    assert "receiver failed" in record.getMessage()
    assert record.exc_info[1] is error


def test_send_robust_logs_errors_of_callable_objects(signal, caplog):
    class Exploding:
        def __call__(self, **kwargs):
            raise Boom("object failed")

    exploding = Exploding()
    signal.connect(exploding)

    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        [(_, error)] = signal.send_robust(None)

    assert isinstance(error, Boom)
    assert [r.exc_info[1] for r in caplog.records] == [error]


def test_send_robust_does_not_log_when_nothing_fails(signal, caplog):
    signal.connect(Recorder())

    with caplog.at_level(logging.DEBUG, logger="django.dispatch"):
        signal.send_robust(None)

    assert caplog.records == []


def test_send_robust_lets_base_exceptions_through(signal):
    after = Recorder()
    signal.connect(fatal)
    signal.connect(after)

    with pytest.raises(Fatal):
        signal.send_robust(None)

    assert after.received() == []


def test_a_receiver_connected_during_a_send_is_not_called_by_that_send(signal):
    late = Recorder(name="late")

    def connect_another(**kwargs):
        signal.connect(late)

    signal.connect(connect_another)

    assert signal.send(None) == [(connect_another, None)]
    assert [called for called, _ in signal.send(None)] == [connect_another, late]


def test_a_receiver_disconnected_during_a_send_is_still_called_by_that_send(signal):
    second = Recorder(name="second")

    def disconnect_the_next(**kwargs):
        signal.disconnect(second)

    signal.connect(disconnect_the_next)
    signal.connect(second)

    assert [called for called, _ in signal.send(None)] == [disconnect_the_next, second]
    assert signal.send(None) == [(disconnect_the_next, None)]
