"""The receiver loops compiled per set of keyword names, and send() using them."""

import django.dispatch
import pytest

from signals_app.dispatch import Signal, callers
from signals_app.dispatch.callers import caller_for
from tests.recorder import Recorder

# The generated loop's own locals and arguments: as keyword names they must
# reach receivers untouched.
LOOP_LOCALS = ["refs", "named", "responses", "ref", "receiver", "response", "v0"]


def received_arguments(recorder):
    return [dict(call.kwargs) for call in recorder.calls]


@pytest.mark.parametrize(
    "name", ["a-b", "class", "None", "ﬁle", "2x", "signal", "self", ""]
)
def test_no_loop_for_a_name_that_cannot_be_spelled_out(name):
    assert caller_for(("instance", name)) is None


def test_one_loop_serves_every_send_with_the_same_names():
    assert caller_for(("alpha", "beta")) is caller_for(("alpha", "beta"))


def test_the_names_order_makes_another_loop():
    assert caller_for(("alpha", "beta")) is not caller_for(("beta", "alpha"))


def test_the_loops_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(callers, "_callers", {})
    first = caller_for(("name_0",))
    for i in range(1, callers._MAX_CALLERS + 1):
        caller_for((f"name_{i}",))

    assert len(callers._callers) <= callers._MAX_CALLERS
    assert caller_for(("name_0",)) is not first


def test_a_loop_declines_a_send_missing_one_of_its_names(signal):
    loop = caller_for(("alpha", "beta"))

    assert loop(signal, None, {"alpha": 1}, ()) is None


def test_a_loop_declines_a_send_with_a_name_it_lacks(signal):
    loop = caller_for(("alpha", "beta"))

    assert loop(signal, None, {"alpha": 1, "beta": 2, "gamma": 3}, ()) is None


def test_a_loop_declines_a_send_with_other_names_of_the_same_count(signal):
    loop = caller_for(("alpha", "beta"))

    assert loop(signal, None, {"alpha": 1, "gamma": 3}, ()) is None


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
