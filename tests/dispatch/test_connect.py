"""connect, disconnect, has_listeners and the receiver decorator."""

import functools
import re

import pytest

from signals_app.dispatch import Signal, receiver
from tests.helpers import assert_no_receivers, live_receivers
from tests.recorder import Recorder


class Sender:
    pass


class AlwaysEqual:
    """Equal to everything and hashed alike: senders still differ by identity."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


def names(responses):
    return [receiver.name for receiver, _ in responses]


# Registration order


def test_send_returns_receiver_response_pairs_in_registration_order(signal):
    first, second, third = (Recorder(result=n, name=n) for n in ("a", "b", "c"))
    for each in (second, first, third):
        signal.connect(each)

    assert signal.send(sender=None) == [(second, "b"), (first, "a"), (third, "c")]


def test_any_sender_and_sender_specific_receivers_run_in_registration_order(signal):
    sender = Sender()
    recorders = [Recorder(name=str(n)) for n in range(4)]
    signal.connect(recorders[0], sender=sender)
    signal.connect(recorders[1])
    signal.connect(recorders[2], sender=sender)
    signal.connect(recorders[3])

    assert names(signal.send(sender)) == ["0", "1", "2", "3"]
    assert names(signal.send(Sender())) == ["1", "3"]


def test_reconnecting_after_disconnect_moves_the_receiver_last(signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    signal.connect(first)
    signal.connect(second)

    signal.disconnect(first)
    signal.connect(first)

    assert names(signal.send(None)) == ["second", "first"]


# Sender filtering


def test_receivers_get_signal_sender_and_named_arguments(signal):
    recorder = Recorder()
    signal.connect(recorder)

    signal.send(sender=Sender, colour="red", size=3)

    assert recorder.received() == [
        {"signal": signal, "sender": Sender, "colour": "red", "size": 3}
    ]


def test_a_receiver_for_one_sender_is_not_called_for_another(signal):
    mine, other = Sender(), Sender()
    recorder = Recorder()
    signal.connect(recorder, sender=mine)

    assert signal.send(other) == []
    assert signal.send(None) == []
    assert recorder.received() == []
    assert signal.send(mine) == [(recorder, None)]


def test_senders_are_matched_by_identity_not_equality(signal):
    mine, equal = AlwaysEqual(), AlwaysEqual()
    recorder = Recorder()
    signal.connect(recorder, sender=mine)

    signal.send(equal)
    signal.send(mine)

    assert recorder.senders == [mine]
    assert recorder.senders[0] is mine


def test_an_any_sender_receiver_is_called_for_every_sender(signal):
    recorder = Recorder()
    signal.connect(recorder)
    sender = Sender()

    for each in (None, "a string", 7, Sender, sender):
        signal.send(each)

    assert recorder.senders == [None, "a string", 7, Sender, sender]


def test_send_without_receivers_returns_an_empty_list(signal):
    assert signal.send(None) == []
    assert signal.send_robust(None) == []


# Duplicates and dispatch_uid


def test_connecting_the_same_receiver_twice_is_a_no_op(signal):
    recorder = Recorder()
    signal.connect(recorder)
    signal.connect(recorder)
    signal.connect(recorder, weak=False)

    assert len(signal.receivers) == 1
    assert signal.send(None) == [(recorder, None)]


def test_one_receiver_connected_for_two_senders_is_two_connections(signal):
    first, second = Sender(), Sender()
    recorder = Recorder()
    signal.connect(recorder, sender=first)
    signal.connect(recorder, sender=second)

    signal.send(first)
    signal.send(second)

    assert len(signal.receivers) == 2
    assert recorder.senders == [first, second]


def test_a_second_connect_with_the_same_dispatch_uid_is_a_no_op(signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    signal.connect(first, dispatch_uid="uid")
    signal.connect(second, dispatch_uid="uid")

    assert names(signal.send(None)) == ["first"]


def test_the_same_dispatch_uid_for_different_senders_connects_each(signal):
    sender = Sender()
    first, second = Recorder(name="first"), Recorder(name="second")
    signal.connect(first, dispatch_uid="uid")
    signal.connect(second, sender=sender, dispatch_uid="uid")

    assert names(signal.send(sender)) == ["first", "second"]
    assert names(signal.send(None)) == ["first"]


def test_disconnect_by_dispatch_uid(signal):
    recorder = Recorder()
    signal.connect(recorder, dispatch_uid="uid")

    assert signal.disconnect(dispatch_uid="uid") is True
    assert_no_receivers(signal)


def test_disconnect_by_dispatch_uid_needs_the_sender_it_was_connected_for(signal):
    sender = Sender()
    recorder = Recorder()
    signal.connect(recorder, sender=sender, dispatch_uid="uid")

    assert signal.disconnect(dispatch_uid="uid") is False
    assert signal.disconnect(sender=sender, dispatch_uid="uid") is True
    assert signal.receivers == []


def test_a_receiver_connected_with_a_dispatch_uid_is_not_found_by_itself(signal):
    recorder = Recorder()
    signal.connect(recorder, dispatch_uid="uid")

    assert signal.disconnect(recorder) is False
    assert live_receivers(signal) == [recorder]


# disconnect


def test_disconnect_returns_true_when_it_removed_a_receiver(signal):
    recorder = Recorder()
    signal.connect(recorder)

    assert signal.disconnect(recorder) is True
    assert signal.send(None) == []
    assert_no_receivers(signal)


def test_disconnect_returns_false_when_nothing_was_connected(signal):
    recorder = Recorder()

    assert signal.disconnect(recorder) is False


def test_disconnect_returns_false_the_second_time(signal):
    recorder = Recorder()
    signal.connect(recorder)
    signal.disconnect(recorder)

    assert signal.disconnect(recorder) is False


def test_disconnect_needs_the_sender_the_receiver_was_connected_for(signal):
    sender = Sender()
    recorder = Recorder()
    signal.connect(recorder, sender=sender)

    assert signal.disconnect(recorder) is False
    assert signal.disconnect(recorder, sender=Sender()) is False
    assert signal.disconnect(recorder, sender=sender) is True
    assert signal.receivers == []


def test_disconnect_for_one_sender_keeps_the_others(signal):
    first, second = Sender(), Sender()
    recorder = Recorder()
    signal.connect(recorder, sender=first)
    signal.connect(recorder, sender=second)

    signal.disconnect(recorder, sender=first)

    assert signal.send(first) == []
    assert signal.send(second) == [(recorder, None)]


def test_bound_methods_disconnect_through_a_fresh_bound_method(signal):
    class Handler:
        def handle(self, **kwargs):
            return "handled"

    handler = Handler()
    signal.connect(handler.handle)

    assert signal.send(None) == [(handler.handle, "handled")]
    assert signal.disconnect(handler.handle) is True
    assert signal.receivers == []


def test_disconnect_leaves_other_signals_alone(signal):
    other = Signal()
    recorder = Recorder()
    signal.connect(recorder)
    other.connect(recorder)

    signal.disconnect(recorder)

    assert other.send(None) == [(recorder, None)]


# has_listeners


def test_has_listeners_is_false_without_receivers(signal):
    assert signal.has_listeners() is False
    assert signal.has_listeners(Sender) is False


def test_has_listeners_without_a_sender_counts_only_any_sender_receivers(signal):
    recorder = Recorder()
    signal.connect(recorder, sender=Sender)

    assert signal.has_listeners() is False
    assert signal.has_listeners(Sender) is True

    signal.connect(recorder)

    assert signal.has_listeners() is True
    assert signal.has_listeners(object()) is True


def test_has_listeners_is_false_after_the_last_disconnect(signal):
    recorder = Recorder()
    signal.connect(recorder, sender=Sender)
    signal.disconnect(recorder, sender=Sender)

    assert signal.has_listeners(Sender) is False


# The receiver decorator


def test_receiver_decorator_connects_the_function(signal):
    @receiver(signal)
    def handler(**kwargs):
        return "handled"

    assert signal.send(None) == [(handler, "handled")]


def test_receiver_decorator_passes_connect_arguments_on(signal):
    sender = Sender()

    @receiver(signal, sender=sender, dispatch_uid="uid", weak=False)
    def handler(**kwargs):
        return "handled"

    assert signal.send(None) == []
    assert signal.send(sender) == [(handler, "handled")]
    assert signal.disconnect(sender=sender, dispatch_uid="uid") is True


@pytest.mark.parametrize("container", [list, tuple])
def test_receiver_decorator_connects_to_each_signal_given(container):
    signals = [Signal(), Signal(), Signal()]

    @receiver(container(signals))
    def handler(**kwargs):
        return "handled"

    for each in signals:
        assert each.send(None) == [(handler, "handled")]


def test_receiver_decorator_returns_the_function_unchanged(signal):
    def handler(**kwargs):
        return "handled"

    assert receiver(signal)(handler) is handler
    assert receiver([signal, Signal()], sender=Sender)(handler) is handler


# Receivers that cannot be connected


def takes_no_kwargs(sender):
    return sender


def takes_kwargs(sender, **kwargs):
    return sender


class NoKwargsMethod:
    def handle(self, sender):
        return sender


class NoKwargsCallable:
    def __call__(self, sender):
        return sender


@functools.wraps(takes_no_kwargs)
def wraps_no_kwargs(*args, **kwargs):
    return takes_no_kwargs(*args, **kwargs)


@functools.wraps(takes_kwargs)
def wraps_kwargs(*args, **kwargs):
    return takes_kwargs(*args, **kwargs)


class Unweakrefable:
    __slots__ = ()

    def __call__(self, **kwargs):
        return "called"

    def handle(self, **kwargs):
        return "handled"


NO_KWARGS = {
    "function": takes_no_kwargs,
    "bound method": NoKwargsMethod().handle,
    "callable object": NoKwargsCallable(),
    "partial": functools.partial(takes_no_kwargs),
    "wrapped function": wraps_no_kwargs,
    "lambda": lambda sender: sender,
}

WITH_KWARGS = {
    "function": takes_kwargs,
    "callable object": Recorder(),
    "partial": functools.partial(takes_kwargs, extra="fixed"),
    "wrapped function": wraps_kwargs,
    "lambda": lambda **kwargs: None,
}

KWARGS_MESSAGE = "Signal receivers must accept keyword arguments (**kwargs)."
CALLABLE_MESSAGE = "Signal receivers must be callable."


@pytest.fixture(params=[False, True], ids=["DEBUG=False", "DEBUG=True"])
def debug(request, settings):
    # Django checks receivers only under DEBUG; we check them always.
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize("bad", [3, "receiver", None, object()], ids=repr)
def test_a_receiver_that_is_not_callable_is_a_type_error(signal, debug, bad):
    with pytest.raises(TypeError, match=re.escape(CALLABLE_MESSAGE)):
        signal.connect(bad)


@pytest.mark.parametrize("bad", NO_KWARGS.values(), ids=NO_KWARGS.keys())
def test_a_receiver_without_kwargs_is_a_value_error(signal, debug, bad):
    with pytest.raises(ValueError, match=re.escape(KWARGS_MESSAGE)):
        signal.connect(bad, weak=False)


@pytest.mark.parametrize("bad", [3, *NO_KWARGS.values()])
def test_a_failed_connect_leaves_the_signal_as_it_was(signal, bad):
    recorder = Recorder()
    signal.connect(recorder, sender=Sender)
    before = signal.receivers

    with pytest.raises((TypeError, ValueError)):
        signal.connect(bad, sender=Sender, weak=False)

    assert signal.receivers == before
    assert signal.send(Sender) == [(recorder, None)]
    assert signal.has_listeners() is False


def test_the_receiver_decorator_rejects_a_receiver_without_kwargs(signal):
    with pytest.raises(ValueError, match=re.escape(KWARGS_MESSAGE)):
        receiver(signal)(takes_no_kwargs)

    assert signal.receivers == []


@pytest.mark.parametrize("good", WITH_KWARGS.values(), ids=WITH_KWARGS.keys())
def test_callables_that_accept_kwargs_are_accepted(signal, debug, good):
    signal.connect(good, weak=False)

    assert [called for called, _ in signal.send("sender")] == [good]


@pytest.mark.parametrize(
    "unweakrefable",
    [Unweakrefable(), Unweakrefable().handle],
    ids=["callable object", "bound method"],
)
def test_a_weak_receiver_that_cannot_be_weakly_referenced_says_use_weak_false(
    signal, unweakrefable
):
    with pytest.raises(TypeError, match="weak=False"):
        signal.connect(unweakrefable)

    assert signal.receivers == []


def test_a_receiver_that_cannot_be_weakly_referenced_connects_with_weak_false(signal):
    unweakrefable = Unweakrefable()

    signal.connect(unweakrefable, weak=False)

    assert signal.send(None) == [(unweakrefable, "called")]
