"""The sends compiled per set of keyword names, and signals using them."""

import copy
import threading

import django.dispatch
import pytest

from signals_app.dispatch import Signal, callers, instrument
from signals_app.dispatch.callers import is_compiled_send, send_for
from signals_app.dispatch.conditions import Condition
from signals_app.dispatch.dispatcher import _send_elsewhere, _send_inline
from tests.recorder import Recorder

# The compiled send's own locals and arguments: as keyword names they must
# reach receivers untouched.
LOOP_LOCALS = ["_refs", "_named", "_responses", "_ref", "_receiver", "_rest", "v0"]


def received_arguments(recorder):
    return [dict(call.kwargs) for call in recorder.calls]


SAVE_NAMES = {"instance": 1, "created": True, "raw": False, "using": "default"}


def sent_twice(signal, **named):
    signal.send("sender", **named)
    signal.send("sender", **named)


@pytest.mark.parametrize(
    "name", ["a-b", "class", "None", "ﬁle", "2x", "signal", "self", "_rest"]
)
def test_no_compiled_send_for_a_name_that_cannot_be_spelled_out(name):
    assert send_for(("instance", name), _send_elsewhere, _send_inline) is None


def test_a_send_installs_the_send_compiled_for_its_names(signal):
    signal.connect(Recorder())

    signal.send("sender", **SAVE_NAMES)

    assert signal.__dict__["send"].__self__ is signal
    assert signal.__dict__["send"].__func__ is send_for(
        tuple(SAVE_NAMES), _send_elsewhere, _send_inline
    )


def test_signals_sent_with_the_same_names_share_one_compiled_send():
    first, second = Signal(), Signal()
    for signal in (first, second):
        signal.connect(Recorder())
        sent_twice(signal, **SAVE_NAMES)

    assert first.send.__func__ is second.send.__func__


def test_the_compiled_sends_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(callers, "_sends", {})
    first = send_for(("name_0",), _send_elsewhere, _send_inline)
    for i in range(1, callers._MAX_SENDS + 1):
        send_for((f"name_{i}",), _send_elsewhere, _send_inline)

    assert len(callers._sends) <= callers._MAX_SENDS
    assert send_for(("name_0",), _send_elsewhere, _send_inline) is not first


def test_a_subclass_with_its_own_send_gets_no_compiled_send():
    class Own(Signal):
        def send(self, sender, **named):
            return super().send(sender, **named)

    signal = Own()
    recorder = Recorder()
    signal.connect(recorder)

    sent_twice(signal, **SAVE_NAMES)

    assert "send" not in signal.__dict__
    assert received_arguments(recorder) == [SAVE_NAMES] * 2


def test_a_send_someone_set_on_the_signal_is_left_in_place(signal):
    signal.connect(Recorder())
    sends = []

    def their_send(sender, **named):
        sends.append(named)
        return Signal.send(signal, sender, **named)

    signal.send = their_send

    sent_twice(signal, **SAVE_NAMES)

    assert signal.send is their_send
    assert sends == [SAVE_NAMES] * 2


def test_an_instrument_reaches_a_signal_that_has_a_compiled_send(signal):
    class Counting:
        calls = 0

        def sync(self, signal, sender, named, call):
            def counted(receiver, extra=None):
                Counting.calls += 1
                return call(receiver, extra)

            return counted

        def async_(self, signal, sender, named, call):
            return call

    recorder = Recorder()
    signal.connect(recorder)
    sent_twice(signal, **SAVE_NAMES)
    instrument(Counting())
    try:
        signal.send("sender", **SAVE_NAMES)
    finally:
        instrument(None)

    assert Counting.calls == 1
    assert received_arguments(recorder) == [SAVE_NAMES] * 3


@pytest.mark.parametrize(
    "arguments",
    [((), {}), (("sender", 1), {}), (("sender", 1), SAVE_NAMES)],
    ids=["no sender", "a positional extra", "a positional extra and names"],
)
def test_a_compiled_send_fails_like_djangos_on_wrong_positionals(signal, arguments):
    args, kwargs = arguments
    djangos = django.dispatch.Signal()
    signal.connect(Recorder())
    sent_twice(signal, **SAVE_NAMES)

    with pytest.raises(TypeError) as theirs:
        djangos.send(*args, **kwargs)
    with pytest.raises(TypeError) as ours:
        signal.send(*args, **kwargs)

    assert str(ours.value) == str(theirs.value)


def test_a_compiled_send_takes_sender_as_a_keyword(signal):
    recorder = Recorder()
    signal.connect(recorder)
    sent_twice(signal, **SAVE_NAMES)

    signal.send(sender="other", **SAVE_NAMES)

    assert recorder.calls[-1].sender == "other"


def test_a_copy_of_a_signal_with_a_compiled_send_sends_as_itself(signal):
    received = []
    signal.connect(lambda signal, **kwargs: received.append(signal), weak=False)
    sent_twice(signal, **SAVE_NAMES)

    duplicate = copy.copy(signal)
    duplicate.send("sender", **SAVE_NAMES)

    assert received[-1] is duplicate


def test_threads_sending_while_compiled_sends_change_lose_no_delivery(signal):
    recorder = Recorder()
    signal.connect(recorder)
    name_sets = [{"instance": 1}, {"created": 2}, SAVE_NAMES]

    def send_each():
        for _ in range(200):
            for named in name_sets:
                signal.send("sender", **named)

    threads = [threading.Thread(target=send_each) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(recorder.calls) == 4 * 200 * 3


@pytest.mark.parametrize("name", LOOP_LOCALS)
def test_send_passes_a_name_the_loop_uses_itself(signal, name):
    recorder = Recorder()
    signal.connect(recorder)

    signal.send("sender", **{name: "value", "other": 1})

    assert received_arguments(recorder) == [{name: "value", "other": 1}]


@pytest.mark.parametrize("name", ["a-b", "class", "ﬁle"])
def test_send_passes_a_name_that_cannot_be_spelled_out(signal, name):
    recorder = Recorder()
    signal.connect(recorder)

    signal.send("sender", **{name: 1})

    assert received_arguments(recorder) == [{name: 1}]


def test_sends_alternating_between_two_sets_of_names_each_get_their_own(signal):
    recorder = Recorder()
    signal.connect(recorder)

    for _ in range(2):
        signal.send("sender", instance=1, created=True)
        signal.send("sender", instance=2, using="default", raw=False)

    assert (
        received_arguments(recorder)
        == [
            {"instance": 1, "created": True},
            {"instance": 2, "using": "default", "raw": False},
        ]
        * 2
    )


def test_a_send_with_fewer_names_after_more_gets_only_its_own(signal):
    recorder = Recorder()
    signal.connect(recorder)

    signal.send("sender", instance=1, created=True)
    signal.send("sender", instance=2)

    assert received_arguments(recorder)[1] == {"instance": 2}


def test_the_same_names_in_another_order_reach_receivers_alike(signal):
    recorder = Recorder()
    signal.connect(recorder)

    signal.send("sender", instance=1, created=True)
    signal.send("sender", created=False, instance=2)

    assert received_arguments(recorder) == [
        {"instance": 1, "created": True},
        {"instance": 2, "created": False},
    ]


def test_send_returns_each_receivers_response_in_order(signal):
    def first(**kwargs):
        return ("first", kwargs["instance"])

    def second(**kwargs):
        return ("second", kwargs["instance"])

    signal.connect(first)
    signal.connect(second)

    assert signal.send("sender", instance=7) == [
        (first, ("first", 7)),
        (second, ("second", 7)),
    ]


@pytest.mark.parametrize("connected", [False, True])
@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_a_self_argument_is_a_type_error_as_with_djangos_signal(
    signal, connected, method
):
    djangos = django.dispatch.Signal()
    recorder = Recorder()
    if connected:
        signal.connect(recorder)
        djangos.connect(recorder)

    with pytest.raises(TypeError, match="self"):
        getattr(djangos, method)("sender", self=1)
    with pytest.raises(TypeError, match="self"):
        getattr(signal, method)("sender", self=1)
    assert recorder.received() == []


@pytest.mark.parametrize("make", [Signal, django.dispatch.Signal])
def test_a_receiver_that_disconnects_itself_is_called_by_that_send_alone(make):
    signal = make()
    calls = []

    def once(sender, **kwargs):
        calls.append(kwargs["instance"])
        signal.disconnect(once)

    signal.connect(once)

    signal.send("sender", instance=1)
    signal.send("sender", instance=2)

    assert calls == [1]


def test_a_compiled_send_documents_itself_as_the_class_send(signal):
    signal.connect(Recorder())
    sent_twice(signal, **SAVE_NAMES)

    assert signal.send.__doc__ == Signal.send.__doc__


@pytest.mark.parametrize("name", ["self", "signal"])
def test_a_compiled_send_refuses_a_clashing_name_as_djangos_does(signal, name):
    djangos = django.dispatch.Signal()
    recorder = Recorder()
    signal.connect(recorder)
    djangos.connect(recorder)
    sent_twice(signal, **SAVE_NAMES)
    calls = len(recorder.calls)

    with pytest.raises(TypeError, match=name):
        djangos.send("sender", **SAVE_NAMES, **{name: 1})
    with pytest.raises(TypeError, match=name):
        signal.send("sender", **SAVE_NAMES, **{name: 1})
    assert len(recorder.calls) == calls


class _WhenCreated(Condition):
    """Holds when the send's ``created`` is true; adds ``seen=True``."""

    def check(self, sender, named):
        return {"seen": True} if named.get("created") else None


def test_a_compiled_send_honours_a_condition_on_another_sender(signal):
    plain, gated = Recorder("plain"), Recorder("gated")
    plain.connect(signal, sender="plain")
    gated.connect(signal, sender="gated", when=_WhenCreated())
    signal.send("plain", **SAVE_NAMES)  # the compiled send is now in place

    signal.send("gated", **{**SAVE_NAMES, "created": False})
    responses = signal.send("gated", **SAVE_NAMES)

    assert is_compiled_send(signal.__dict__["send"])
    assert gated.received() == [
        {"signal": signal, "sender": "gated", **SAVE_NAMES, "seen": True}
    ]
    assert responses == [(gated.receiver, None)]


def test_an_error_raised_on_a_new_senders_first_send_carries_no_context(signal):
    known = Recorder().connect(signal, sender="known")
    failing = Recorder(raises=ValueError("boom")).connect(signal, sender="new")
    signal.send("known", **SAVE_NAMES)  # the compiled send is now in place

    with pytest.raises(ValueError, match="boom") as raised:
        signal.send("new", **SAVE_NAMES)

    assert raised.value.__context__ is None
    assert (len(known.calls), len(failing.calls)) == (1, 1)
