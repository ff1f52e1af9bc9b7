"""
The internals that tools written for Django's signals touch.

``receivers`` (read, and assigned by factory-boy's ``mute_signals``),
``lock``, ``sender_receivers_cache`` and ``use_caching`` behave on our
signals as they do on Django's.
"""

import threading
import weakref

import django
import django.dispatch
import pytest
from factory.django import mute_signals

from signals_app.dispatch import Signal
from tests.helpers import allocate_at, collect, deref, live_receivers
from tests.recorder import Recorder

DJANGO_6 = django.VERSION >= (6, 0)

# Senders match by identity: one object for every use.
STRING_SENDER = "app_label.model"


class Sender:
    pass


class Handler:
    def handle(self, **kwargs):
        return "handled"


async def async_handler(**kwargs):
    return "async"


def called(responses):
    return [receiver for receiver, _ in responses]


def connect_a_bit_of_everything(signal, recorder, handler, sender):
    signal.connect(recorder)
    signal.connect(handler.handle, sender=sender)
    signal.connect(async_handler, weak=False)
    signal.connect(recorder, sender=STRING_SENDER, dispatch_uid="uid")


# receivers, read


def test_receivers_entries_equal_djangos_for_the_same_connections():
    ours, djangos = Signal(), django.dispatch.Signal()
    recorder, handler, sender = Recorder(), Handler(), Sender()

    for each in (ours, djangos):
        connect_a_bit_of_everything(each, recorder, handler, sender)

    assert ours.receivers == djangos.receivers


def test_receivers_entries_are_shaped_like_the_running_djangos(signal):
    recorder = Recorder()
    signal.connect(recorder)

    [entry] = signal.receivers

    assert isinstance(entry, tuple)
    assert len(entry) == (4 if DJANGO_6 else 3)
    assert entry[-1] is False  # is_async


def test_receivers_entries_start_with_djangos_lookup_key(signal):
    recorder = Recorder()
    signal.connect(recorder, sender=Sender)
    signal.connect(recorder, dispatch_uid="uid")

    keys = [entry[0] for entry in signal.receivers]

    assert keys == [(id(recorder), id(Sender)), ("uid", id(None))]


def test_a_weak_entry_holds_a_weak_reference_to_the_receiver(signal):
    recorder = Recorder()
    signal.connect(recorder)

    [entry] = signal.receivers

    assert isinstance(entry[1], weakref.ReferenceType)
    assert entry[1]() is recorder


def test_a_weak_entry_for_a_bound_method_holds_a_weak_method(signal):
    handler = Handler()
    signal.connect(handler.handle)

    [entry] = signal.receivers

    assert isinstance(entry[1], weakref.WeakMethod)
    assert entry[1]() == handler.handle


def test_a_strong_entry_holds_the_receiver_itself(signal):
    recorder = Recorder()
    signal.connect(recorder, weak=False)

    [entry] = signal.receivers

    assert entry[1] is recorder


def test_receivers_is_a_list_in_registration_order(signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    signal.connect(second, sender=Sender)
    signal.connect(first)

    receivers = signal.receivers

    assert isinstance(receivers, list)
    assert [deref(entry[1]) for entry in receivers] == [second, first]


@pytest.mark.skipif(not DJANGO_6, reason="Django 6.0 added the sender to entries")
def test_entries_hold_a_weak_reference_to_the_sender_on_django_6(signal):
    recorder = Recorder()
    sender = Sender()
    signal.connect(recorder, sender=sender)
    signal.connect(recorder)

    for_sender, for_anyone = signal.receivers

    assert for_sender[2]() is sender
    assert for_anyone[2] is None


# receivers, assigned


def test_assigning_an_empty_list_to_receivers_mutes_the_signal(signal):
    recorder = Recorder()
    signal.connect(recorder)
    signal.send(None)

    signal.receivers = []

    assert signal.send(None) == []
    assert signal.has_listeners() is False
    assert len(recorder.calls) == 1


def test_assigning_the_old_receivers_back_restores_the_signal(signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    sender = Sender()
    signal.connect(first, sender=sender)
    signal.connect(second)
    before = signal.receivers
    responses = signal.send(sender)

    signal.receivers = []
    signal.receivers = before

    assert signal.receivers == before
    assert signal.send(sender) == responses
    assert signal.disconnect(first, sender=sender) is True


def test_receivers_assigned_back_can_be_disconnected_and_connected_again(signal):
    recorder = Recorder()
    signal.connect(recorder, dispatch_uid="uid")
    saved = signal.receivers
    signal.receivers = []
    signal.receivers = saved

    assert signal.disconnect(dispatch_uid="uid") is True
    signal.connect(recorder, dispatch_uid="uid")
    assert signal.send(None) == [(recorder, None)]


def test_djangos_entries_assigned_to_receivers_are_called(signal):
    djangos = django.dispatch.Signal()
    recorder, handler, sender = Recorder(), Handler(), Sender()
    connect_a_bit_of_everything(djangos, recorder, handler, sender)

    signal.receivers = djangos.receivers

    assert signal.receivers == djangos.receivers
    assert called(signal.send(sender)) == [recorder, handler.handle, async_handler]
    assert called(signal.send(STRING_SENDER)) == [recorder, recorder, async_handler]


def test_djangos_entries_assigned_to_receivers_go_when_their_receiver_dies(signal):
    djangos = django.dispatch.Signal()
    recorder, handler = Recorder(), Handler()
    djangos.connect(recorder)
    djangos.connect(handler.handle)
    signal.receivers = djangos.receivers
    del djangos
    assert called(signal.send(None)) == [recorder, handler.handle]

    del recorder, handler
    collect()

    assert signal.receivers == []
    assert signal.has_listeners() is False


def test_entries_from_another_signal_stop_at_a_dead_senders_id(signal):
    other = Signal()
    recorder = Recorder()
    sender = Sender()
    other.connect(recorder, sender=sender)
    signal.receivers = other.receivers
    signal.send(sender)
    recorder.calls.clear()
    address = id(sender)

    del sender
    collect()
    newcomer = allocate_at(address, Sender)

    assert signal.send(newcomer) == []
    assert recorder.received() == []


@pytest.mark.skipif(not DJANGO_6, reason="Django's entries hold the sender from 6.0")
def test_djangos_entries_stop_at_a_dead_senders_id(signal):
    djangos = django.dispatch.Signal()
    recorder = Recorder()
    sender = Sender()
    djangos.connect(recorder, sender=sender)
    signal.receivers = djangos.receivers
    assert signal.send(sender) == [(recorder, None)]
    recorder.calls.clear()
    address = id(sender)

    del sender
    collect()
    newcomer = allocate_at(address, Sender)

    assert signal.send(newcomer) == []
    assert recorder.received() == []
    assert signal.receivers == []


# lock, sender_receivers_cache, use_caching


def test_lock_is_a_context_manager_guarding_the_connections(signal):
    recorder = Recorder()

    with signal.lock:
        pass
    signal.connect(recorder)
    with signal.lock:
        # Tools take the lock and touch the cache, as factory-boy does.
        signal.sender_receivers_cache.clear()

    assert signal.send(None) == [(recorder, None)]


def test_lock_is_free_after_every_operation(signal):
    recorder = Recorder()
    signal.connect(recorder)
    signal.send(None)
    signal.has_listeners()
    signal.disconnect(recorder)
    signal.receivers = []

    assert signal.lock.acquire(blocking=False)
    signal.lock.release()


def finishes(work, timeout=5.0):
    """Whether ``work()`` returns within ``timeout`` seconds (run in a daemon
    thread, so that a deadlock fails the test instead of hanging the run)."""
    done = threading.Event()

    def run():
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(timeout)


@pytest.fixture(params=["made here", "adopted from Django"])
def locked_signal(request):
    # Both ways a signal of ours comes to be: built, or one of Django's made
    # ours in place (as the 14 built-ins are), keeping Django's lock.
    if request.param == "made here":
        return Signal()
    signal = django.dispatch.Signal()
    Signal.adopt(signal, __name__)
    return signal


def test_receivers_can_be_read_while_holding_the_lock(locked_signal):
    recorder = Recorder()
    locked_signal.connect(recorder)
    seen = []

    def read_under_lock():
        with locked_signal.lock:
            seen.extend(locked_signal.receivers)

    assert finishes(read_under_lock)
    assert [deref(entry[1]) for entry in seen] == [recorder]


def test_receivers_can_be_assigned_while_holding_the_lock(locked_signal):
    recorder = Recorder()
    locked_signal.connect(recorder)

    def mute_under_lock():
        # What apps that mute signals in admin views do.
        with locked_signal.lock:
            saved = locked_signal.receivers
            locked_signal.receivers = []
            locked_signal.sender_receivers_cache.clear()
        assert locked_signal.send(None) == []
        with locked_signal.lock:
            locked_signal.receivers = saved

    assert finishes(mute_under_lock)
    assert locked_signal.send(None) == [(recorder, None)]


def test_the_lock_held_by_a_tool_keeps_other_threads_from_connecting(signal):
    recorder = Recorder()
    connected = threading.Event()

    def connect():
        signal.connect(recorder)
        connected.set()

    with signal.lock:
        threading.Thread(target=connect, daemon=True).start()
        assert not connected.wait(0.2)
        assert signal.receivers == []

    assert connected.wait(5)
    assert live_receivers(signal) == [recorder]


def test_clearing_sender_receivers_cache_keeps_sends_right(signal):
    recorder = Recorder()
    signal.connect(recorder, sender=Sender)
    signal.send(Sender)

    signal.sender_receivers_cache.clear()

    assert signal.send(Sender) == [(recorder, None)]
    assert signal.send(None) == []


def test_use_caching_defaults_to_false():
    assert Signal().use_caching is False


def test_use_caching_is_kept():
    assert Signal(use_caching=True).use_caching is True


# factory-boy's mute_signals, on Django's signals and on ours alike


@pytest.fixture(params=[django.dispatch.Signal, Signal], ids=["django", "ours"])
def either_signal(request):
    return request.param()


def test_mute_signals_mutes_inside_the_block(either_signal):
    recorder = Recorder()
    either_signal.connect(recorder)

    with mute_signals(either_signal):
        responses = either_signal.send(None)

    assert responses == []
    assert recorder.received() == []


def test_mute_signals_restores_the_receivers_after_the_block(either_signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    either_signal.connect(first, sender=Sender)
    either_signal.connect(second)
    before = either_signal.receivers

    with mute_signals(either_signal):
        pass

    assert either_signal.receivers == before
    assert called(either_signal.send(Sender)) == [first, second]


def test_mute_signals_restores_the_receivers_after_an_error(either_signal):
    recorder = Recorder()
    either_signal.connect(recorder)

    with pytest.raises(RuntimeError), mute_signals(either_signal):
        raise RuntimeError

    assert either_signal.send(None) == [(recorder, None)]


def test_mute_signals_as_a_decorator(either_signal):
    recorder = Recorder()
    either_signal.connect(recorder)

    @mute_signals(either_signal)
    def send():
        return either_signal.send(None)

    assert send() == []
    assert send() == []
    assert either_signal.send(None) == [(recorder, None)]


def test_receivers_connected_while_muted_survive_the_mute(either_signal):
    old, new = Recorder(name="old"), Recorder(name="new")
    either_signal.connect(old)

    with mute_signals(either_signal):
        either_signal.connect(new)
        during = either_signal.send(None)

    assert during == [(new, None)]
    assert called(either_signal.send(None)) == [old, new]
    assert live_receivers(either_signal) == [old, new]


def test_a_receiver_that_died_while_muted_stays_gone(either_signal):
    survivor, doomed = Recorder(name="survivor"), Recorder(name="doomed")
    either_signal.connect(doomed)
    either_signal.connect(survivor)

    with mute_signals(either_signal):
        del doomed
        collect()

    assert either_signal.send(None) == [(survivor, None)]
    assert either_signal.has_listeners() is True


def test_mute_signals_mutes_only_the_signals_it_is_given(signal):
    other = Signal()
    recorder = Recorder()
    signal.connect(recorder)
    other.connect(recorder)

    with mute_signals(signal):
        assert signal.send(None) == []
        assert other.send(None) == [(recorder, None)]
