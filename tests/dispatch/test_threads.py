"""Many threads connecting, disconnecting and sending on one signal at once."""

import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import collect, live_receivers
from tests.recorder import Recorder

THREADS = 8
ROUNDS = 150


class Sender:
    pass


SENDERS = [None, Sender, Sender(), "app_label.model"]


class ThreadRecorder(Recorder):
    """A Recorder that also notes which thread called it."""

    def __init__(self, name="recorder"):
        super().__init__(name=name)
        self.threads = []

    def __call__(self, **kwargs):
        self.threads.append(threading.get_ident())
        return super().__call__(**kwargs)

    def calls_from_this_thread(self):
        return self.threads.count(threading.get_ident())


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    # Threads switch every 5ms by default: far fewer interleavings than a
    # busy server sees. Switching often makes races show up in a short run.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def in_threads(work):
    """Run ``work(index)`` in THREADS threads started together; return results."""
    barrier = threading.Barrier(THREADS)

    def start(index):
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(THREADS) as pool:
        # list() re-raises the first error from any thread.
        return list(pool.map(start, range(THREADS)))


def test_concurrent_connects_keep_every_receiver_exactly_once(signal):
    per_thread = [
        [Recorder(name=f"{thread}-{n}") for n in range(ROUNDS)]
        for thread in range(THREADS)
    ]

    def work(index):
        rng = random.Random(index)
        for recorder in per_thread[index]:
            sender = rng.choice(SENDERS)
            signal.connect(recorder, sender=sender)
            signal.connect(recorder, sender=sender)  # a no-op
            signal.send(rng.choice(SENDERS))
            signal.has_listeners(sender)

    in_threads(work)

    everyone = [recorder for recorders in per_thread for recorder in recorders]
    assert len(signal.receivers) == len(everyone)
    assert set(live_receivers(signal)) == set(everyone)


def test_the_same_receivers_connected_from_every_thread_are_kept_once(signal):
    shared = [Recorder(name=str(n)) for n in range(50)]

    def work(index):
        order = list(shared)
        random.Random(index).shuffle(order)
        for recorder in order:
            signal.connect(recorder)
            signal.connect(recorder, dispatch_uid=recorder.name)
            signal.send(None)

    in_threads(work)

    assert len(signal.receivers) == 2 * len(shared)
    assert set(live_receivers(signal)) == set(shared)


def test_concurrent_connects_and_disconnects_keep_exactly_the_survivors(signal):
    per_thread = [
        [Recorder(name=f"{thread}-{n}") for n in range(ROUNDS)]
        for thread in range(THREADS)
    ]

    def work(index):
        rng = random.Random(index)
        outcomes = []
        for number, recorder in enumerate(per_thread[index]):
            sender = rng.choice(SENDERS)
            signal.connect(recorder, sender=sender, weak=rng.random() < 0.5)
            signal.send_robust(rng.choice(SENDERS))
            if number % 2:
                outcomes.append(signal.disconnect(recorder, sender=sender))
                outcomes.append(not signal.disconnect(recorder, sender=sender))
            signal.receivers  # noqa: B018  (reading purges, racing the others)
        return outcomes

    outcomes = in_threads(work)

    assert all(all(each) for each in outcomes)
    survivors = [r for recorders in per_thread for r in recorders[::2]]
    assert len(signal.receivers) == len(survivors)
    assert set(live_receivers(signal)) == set(survivors)


def test_receivers_dying_during_concurrent_sends_leave_exactly_the_survivors(
    signal,
):
    keepers = [Recorder(name=f"keeper-{n}") for n in range(THREADS)]

    def work(index):
        signal.connect(keepers[index])
        rng = random.Random(index)
        for _ in range(ROUNDS):
            doomed = Recorder(name="doomed")
            signal.connect(doomed, sender=rng.choice(SENDERS))
            signal.send(rng.choice(SENDERS))
            del doomed  # gone at once: nothing else refers to it

    in_threads(work)
    collect()

    assert len(signal.receivers) == len(keepers)
    assert set(live_receivers(signal)) == set(keepers)


@pytest.mark.parametrize("sender", [None, Sender], ids=["any sender", "a sender"])
def test_a_send_started_after_disconnect_returned_never_calls_the_receiver(
    signal, sender
):
    def work(index):
        for _ in range(ROUNDS):
            recorder = ThreadRecorder()
            signal.connect(recorder, sender=sender, weak=False)
            signal.send(sender)
            assert recorder.calls_from_this_thread() == 1

            assert signal.disconnect(recorder, sender=sender)
            signal.send(sender)
            signal.send_robust(sender)

            # Sends from other threads may have begun before the disconnect;
            # every send this thread started came after it.
            assert recorder.calls_from_this_thread() == 1

    in_threads(work)

    assert signal.receivers == []


def test_tools_reassigning_receivers_under_the_lock_lose_no_delivery(signal):
    # Apps that mute signals take the lock and assign receivers back; other
    # threads connect, disconnect and send meanwhile. A receiver connected
    # throughout gets every send exactly once.
    stayed = ThreadRecorder("stayed")
    signal.connect(stayed)

    def work(index):
        sent = 0
        for _ in range(ROUNDS):
            if index % 3 == 0:
                signal.send(None)
                sent += 1
            elif index % 3 == 1:
                with signal.lock:
                    signal.receivers = signal.receivers
                    signal.sender_receivers_cache.clear()
            else:
                passing = Recorder("passing")
                signal.connect(passing)
                signal.disconnect(passing)
        return sent

    sends = sum(in_threads(work))

    assert len(stayed.calls) == sends
    assert live_receivers(signal) == [stayed]
