"""Weak references to receivers and senders, and senders that allow none."""

import weakref

import pytest

from signals_app.dispatch import Signal
from tests.helpers import allocate_at, assert_no_receivers, collect, live_receivers
from tests.recorder import Recorder


class Sender:
    pass


class Handler:
    def handle(self, **kwargs):
        return "handled"


class Unweakrefable:
    __slots__ = ("value",)


@pytest.fixture(params=[False, True], ids=["use_caching=False", "use_caching=True"])
def any_signal(request):
    return Signal(use_caching=request.param)


# Weakly connected receivers


def test_a_weakly_connected_function_goes_when_collected(signal):
    def handler(**kwargs):
        return "handled"

    signal.connect(handler)
    assert signal.has_listeners()

    del handler
    collect()

    assert signal.send(None) == []
    assert_no_receivers(signal)


def test_a_weakly_connected_bound_method_goes_with_its_instance(signal):
    handler = Handler()
    signal.connect(handler.handle)
    assert signal.send(None) == [(handler.handle, "handled")]

    del handler
    collect()

    assert signal.send(None) == []
    assert_no_receivers(signal)


def test_a_weakly_connected_callable_object_goes_when_collected(signal):
    recorder = Recorder()
    signal.connect(recorder, sender=Sender)

    del recorder
    collect()

    assert signal.send(Sender) == []
    assert signal.has_listeners(Sender) is False
    assert signal.receivers == []


def test_a_dead_receiver_goes_even_after_a_send_cached_its_plan(signal):
    recorder = Recorder()
    survivor = Recorder(name="survivor")
    signal.connect(recorder)
    signal.connect(survivor)
    signal.send(None)

    del recorder
    collect()

    assert signal.send(None) == [(survivor, None)]
    assert live_receivers(signal) == [survivor]
    assert len(signal.receivers) == 1


def test_weak_false_keeps_the_receiver_alive(signal):
    def handler(**kwargs):
        return "handled"

    alive = weakref.ref(handler)
    signal.connect(handler, weak=False)

    del handler
    collect()

    assert alive() is not None
    assert signal.send(None) == [(alive(), "handled")]


def test_weak_false_keeps_a_bound_methods_instance_alive(signal):
    handler = Handler()
    alive = weakref.ref(handler)
    signal.connect(handler.handle, weak=False)

    del handler
    collect()

    assert alive() is not None
    assert signal.send(None) == [(alive().handle, "handled")]


def test_disconnecting_a_receiver_releases_it(signal):
    recorder = Recorder()
    alive = weakref.ref(recorder)
    signal.connect(recorder, weak=False)

    signal.disconnect(recorder)
    del recorder
    collect()

    assert alive() is None


def test_a_weak_connection_does_not_keep_the_receiver_alive(signal):
    recorder = Recorder()
    alive = weakref.ref(recorder)
    signal.connect(recorder)
    signal.send(None)
    recorder.calls.clear()

    del recorder
    collect()

    assert alive() is None


def test_the_dispatch_uid_is_free_again_once_its_receiver_is_gone(signal):
    recorder = Recorder(name="first")
    signal.connect(recorder, dispatch_uid="uid")
    del recorder
    collect()
    replacement = Recorder(name="replacement")

    signal.connect(replacement, dispatch_uid="uid")

    assert signal.send(None) == [(replacement, None)]


def test_disconnecting_by_dispatch_uid_after_the_receiver_died_is_false(signal):
    recorder = Recorder()
    signal.connect(recorder, dispatch_uid="uid")
    del recorder
    collect()

    assert signal.disconnect(dispatch_uid="uid") is False


# Senders that die


@pytest.mark.parametrize("weak", [True, False], ids=["weak", "strong"])
def test_a_receiver_for_a_sender_goes_when_the_sender_is_collected(signal, weak):
    recorder = Recorder()
    sender = Sender()
    signal.connect(recorder, sender=sender, weak=weak)

    del sender
    collect()

    assert signal.receivers == []
    assert signal.has_listeners() is False


@pytest.mark.parametrize("send_first", [False, True], ids=["fresh", "cached plan"])
def test_a_new_object_reusing_a_dead_senders_id_does_not_reach_its_receivers(
    signal, send_first
):
    recorder = Recorder()
    sender = Sender()
    signal.connect(recorder, sender=sender)
    if send_first:
        assert signal.send(sender) == [(recorder, None)]
        recorder.calls.clear()
    address = id(sender)

    del sender
    collect()
    newcomer = allocate_at(address, Sender)

    assert signal.has_listeners(newcomer) is False
    assert signal.send(newcomer) == []
    assert signal.send_robust(newcomer) == []
    assert recorder.received() == []


def test_sending_does_not_keep_the_sender_alive(signal):
    recorder = Recorder()
    signal.connect(recorder)
    sender = Sender()
    alive = weakref.ref(sender)
    signal.send(sender)
    signal.has_listeners(sender)
    recorder.calls.clear()

    del sender
    collect()

    assert alive() is None


def test_a_cached_plan_does_not_keep_a_connected_sender_alive(signal):
    recorder = Recorder()
    sender = Sender()
    alive = weakref.ref(sender)
    signal.connect(recorder, sender=sender, weak=False)
    signal.send(sender)
    recorder.calls.clear()

    del sender
    collect()

    assert alive() is None
    assert signal.receivers == []


def test_a_sender_that_cannot_be_weakly_referenced_is_held_by_its_connection(signal):
    recorder = Recorder()
    sender = Unweakrefable()
    signal.connect(recorder, sender=sender)
    address = id(sender)

    del sender
    collect()
    # Were the sender freed, the first of these would land on its address.
    newcomers = [Unweakrefable() for _ in range(1000)]

    assert address not in {id(newcomer) for newcomer in newcomers}
    assert len(signal.receivers) == 1


# Senders that cannot be weakly referenced


UNWEAKREFABLE_SENDERS = {
    "None": None,
    "str": "app_label.model",
    "int": 12345,
    "object()": object(),
    "slots instance": Unweakrefable(),
}


@pytest.mark.parametrize(
    "sender", UNWEAKREFABLE_SENDERS.values(), ids=UNWEAKREFABLE_SENDERS.keys()
)
def test_senders_without_weak_references_work_with_any_use_caching(any_signal, sender):
    for_sender = Recorder(name="for sender")
    for_anyone = Recorder(name="for anyone")
    any_signal.connect(for_sender, sender=sender)
    any_signal.connect(for_anyone)

    for _ in range(2):  # the second time from the cached plan
        assert any_signal.send(sender) == [(for_sender, None), (for_anyone, None)]
        assert any_signal.send_robust(sender) == [
            (for_sender, None),
            (for_anyone, None),
        ]
        assert any_signal.has_listeners(sender) is True


@pytest.mark.parametrize(
    "sender", UNWEAKREFABLE_SENDERS.values(), ids=UNWEAKREFABLE_SENDERS.keys()
)
def test_sending_from_a_sender_without_receivers_works_with_any_use_caching(
    any_signal, sender
):
    any_signal.connect(Recorder(), sender=Sender, weak=False)

    assert any_signal.send(sender) == []
    assert any_signal.send_robust(sender) == []
    assert any_signal.has_listeners(sender) is False


def test_has_listeners_without_a_sender_works_with_any_use_caching(any_signal):
    recorder = Recorder()
    assert any_signal.has_listeners() is False

    any_signal.connect(recorder)

    assert any_signal.has_listeners() is True


def test_a_receiver_for_a_string_sender_is_not_reached_by_another_string(
    any_signal,
):
    recorder = Recorder()
    any_signal.connect(recorder, sender="one")

    assert any_signal.send("other") == []
    assert any_signal.send("one") == [(recorder, None)]


# Bound methods as senders


def test_a_bound_method_sender_matches_every_bound_method_of_that_pair(signal):
    handler = Handler()
    recorder = Recorder()
    signal.connect(recorder, sender=handler.handle)

    assert signal.send(handler.handle) == [(recorder, None)]
    assert signal.send(Handler().handle) == []
    assert signal.disconnect(recorder, sender=handler.handle) is True


SLOTTED_KINDS = [
    type(f"Slots{n}", (), {"__slots__": tuple(f"s{i}" for i in range(n))})
    for n in range(10)
]


def send_from_a_stranger_where_the_next_bound_method_lands(signal, owner):
    """
    Send from an unrelated, unconnected object that CPython then frees and
    reuses for a bound method of ``owner``; return that bound method.
    """
    for kind in SLOTTED_KINDS * 20:
        method = owner.handle
        address = id(method)
        del method
        stranger = kind()
        if id(stranger) != address:
            continue
        signal.send(stranger)
        del stranger
        method = owner.handle
        if id(method) == address:
            return method
    pytest.skip("no object landed where a bound method had been")


def test_a_bound_method_sender_is_not_mistaken_for_a_dead_sender_at_its_address(
    signal,
):
    # A bound method is a new object on every attribute access, so it can
    # land where an object that was sent before used to be.
    handler = Handler()
    recorder = Recorder()
    signal.connect(recorder, sender=handler.handle)

    method = send_from_a_stranger_where_the_next_bound_method_lands(signal, handler)

    assert signal.has_listeners(method) is True
    assert signal.send(method) == [(recorder, None)]
