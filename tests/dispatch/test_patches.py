"""
Tools that patch ``django.dispatch.Signal._live_receivers`` see our receivers.

First with the real sentry-sdk, in a process of its own (``sentry_probe``):
its receiver spans on our signals equal those on Django's. Then with a small
tool of the same kind, patched onto Django's class for one test, for what
Sentry does not show: conditions, deliveries later, filtering, undoing.
"""

import asyncio
import json
import logging
import subprocess
import sys
from functools import wraps

import django.dispatch
import pytest

from signals_app.dispatch.conditions import Condition
from tests.recorder import Recorder

# --- Sentry ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentry_report():
    probe = subprocess.run(
        [sys.executable, "-m", "tests.dispatch.sentry_probe"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(probe.stdout)


SCENARIOS = ["saving a model", "send", "send_robust", "asend", "asend_robust"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sentry_has_the_same_receiver_spans_on_our_signals_as_on_djangos(
    sentry_report, scenario
):
    spans = sentry_report["scenarios"][scenario]

    assert spans["ours"] == spans["django"]
    assert spans["ours"] == [
        "__main__.first",
        "__main__.second",
        "__main__.Handler.on_signal",
    ]


def test_sentry_was_set_up_before_the_app_loaded_as_projects_do(sentry_report):
    assert sentry_report["patched_before_the_app_loaded"] is True


# --- a tool of the same kind ---------------------------------------------------


class Tool:
    """Patches Django's class as Sentry does, noting each receiver it runs."""

    def __init__(self, monkeypatch, keep=lambda receiver: True):
        self.ran = []
        self.keep = keep
        self.original = django.dispatch.Signal._live_receivers
        monkeypatch.setattr(django.dispatch.Signal, "_live_receivers", self.patched)

    def patched(self, signal, sender):
        sync, async_ = self.original(signal, sender)
        return (
            [self.wrap(each) for each in sync if self.keep(each)],
            [self.awrap(each) for each in async_ if self.keep(each)],
        )

    def wrap(self, receiver):
        @wraps(receiver)
        def timed(*args, **kwargs):
            self.ran.append(receiver)
            return receiver(*args, **kwargs)

        return timed

    def awrap(self, receiver):
        @wraps(receiver)
        async def timed(*args, **kwargs):
            self.ran.append(receiver)
            return await receiver(*args, **kwargs)

        return timed


class AddsN(Condition):
    def __init__(self, holds):
        self.holds = holds

    def check(self, sender, named):
        return {"n": 2} if self.holds else None


class Fails(Condition):
    def __init__(self, error):
        self.error = error

    def check(self, sender, named):
        raise self.error


@pytest.fixture
def receivers(signal):
    first, second = Recorder("first"), Recorder("second")
    signal.connect(first)
    signal.connect(second, sender="only this sender")
    return first, second


@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_a_patch_runs_each_receiver_called_now(signal, receivers, monkeypatch, method):
    tool = Tool(monkeypatch)

    responses = getattr(signal, method)("only this sender", n=1)

    assert tool.ran == list(receivers)
    assert [receiver.__wrapped__ for receiver, _ in responses] == list(receivers)
    assert [r.values("n") for r in receivers] == [[1], [1]]


@pytest.mark.parametrize("method", ["asend", "asend_robust"])
def test_a_patch_runs_each_receiver_called_now_by_asend(
    signal, receivers, monkeypatch, method
):
    tool = Tool(monkeypatch)
    coroutine = Recorder("coroutine", is_async=True)
    signal.connect(coroutine.receiver)

    asyncio.run(getattr(signal, method)("only this sender", n=1))

    # Up to Django 6.0 the two kinds run at the same time: any order.
    assert len(tool.ran) == 3
    assert set(tool.ran) == {*receivers, coroutine.receiver}


def test_a_patch_runs_receivers_with_the_arguments_their_condition_adds(
    signal, monkeypatch
):
    met, unmet = Recorder("met"), Recorder("unmet")
    signal.connect(met, when=AddsN(True))
    signal.connect(unmet, when=AddsN(False))
    tool = Tool(monkeypatch)

    signal.send(None, n=1)

    assert tool.ran == [met]
    assert met.values("n") == [2]
    assert unmet.calls == []


@pytest.mark.django_db
def test_a_patch_is_not_given_receivers_delivered_later(signal, monkeypatch):
    now = Recorder("now")
    signal.connect(now)
    signal.connect(Recorder("later"), weak=False, delivery="on_commit")
    tool = Tool(monkeypatch)

    [_, (_, response)] = signal.send(None)

    assert tool.ran == [now]
    assert response.delivery == "on_commit"


def test_a_patch_that_leaves_a_receiver_out_stops_its_call(
    signal, receivers, monkeypatch
):
    first, second = receivers
    Tool(monkeypatch, keep=lambda receiver: receiver is not first)

    signal.send("only this sender")

    assert (first.calls, len(second.calls)) == ([], 1)


def test_a_patch_undone_at_run_time_no_longer_runs(signal, receivers, monkeypatch):
    tool = Tool(monkeypatch)
    signal.send(None)
    monkeypatch.undo()

    responses = signal.send("only this sender")

    assert tool.ran == [receivers[0]]
    assert [receiver for receiver, _ in responses] == list(receivers)


def test_a_patch_over_code_that_ignores_our_receivers_is_bypassed_loudly(
    signal, receivers, monkeypatch, caplog
):
    # A Django whose _live_receivers reads receivers another way than ours
    # hand them over: stood in for by code that reads use_caching and then
    # its own list.
    def elsewhere(self, sender):
        self.use_caching  # noqa: B018
        return [print], []

    monkeypatch.setattr(django.dispatch.Signal, "_live_receivers", elsewhere)

    with caplog.at_level(logging.WARNING, "signals_app.dispatch"):
        responses = signal.send("only this sender")

    assert [receiver for receiver, _ in responses] == list(receivers)
    [record] = caplog.records
    assert "did not take the receivers signals_app chose" in record.getMessage()


# --- a tool patching the sending methods -------------------------------------------


class SendTool:
    """Patches one of Django's sending methods to note each send it wraps."""

    def __init__(self, monkeypatch, name):
        self.sends = []
        original = getattr(django.dispatch.Signal, name)
        if name.startswith("a"):

            async def patched(signal, sender, **named):
                self.sends.append((signal, sender))
                return await original(signal, sender, **named)

        else:

            def patched(signal, sender, **named):
                self.sends.append((signal, sender))
                return original(signal, sender, **named)

        monkeypatch.setattr(django.dispatch.Signal, name, patched)


def sent_with(signal, method, sender, **named):
    sending = getattr(signal, method)
    if method.startswith("a"):
        return asyncio.run(sending(sender, **named))
    return sending(sender, **named)


SENDING = ["send", "send_robust", "asend", "asend_robust"]


@pytest.mark.parametrize("method", SENDING)
def test_a_patch_of_a_sending_method_wraps_each_of_our_sends(
    signal, receivers, monkeypatch, method
):
    tool = SendTool(monkeypatch, method)

    responses = sent_with(signal, method, "only this sender", n=1)

    assert tool.sends == [(signal, "only this sender")]
    assert responses == [(receiver, None) for receiver in receivers]
    assert [r.values("n") for r in receivers] == [[1], [1]]


@pytest.mark.parametrize("method", SENDING)
def test_a_patch_of_a_sending_method_keeps_conditions(signal, monkeypatch, method):
    met, unmet = Recorder("met"), Recorder("unmet")
    signal.connect(met, when=AddsN(True))
    signal.connect(unmet, when=AddsN(False))
    SendTool(monkeypatch, method)

    responses = sent_with(signal, method, None, n=1)

    assert responses == [(met, None)]
    assert met.values("n") == [2]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_a_patch_of_a_sending_method_keeps_deliveries_later(
    signal, monkeypatch, method
):
    now = Recorder("now")
    signal.connect(now)
    signal.connect(Recorder("later"), weak=False, delivery="on_commit")
    SendTool(monkeypatch, method)

    [(first, _), (_, scheduled)] = sent_with(signal, method, None)

    assert first is now
    assert scheduled.delivery == "on_commit"


@pytest.mark.parametrize("method", ["send_robust", "asend_robust"])
def test_a_patch_of_a_robust_sending_method_still_returns_errors(
    signal, monkeypatch, caplog, method
):
    error = ValueError("receiver failed")
    failing, after = Recorder("failing", raises=error), Recorder("after")
    signal.connect(failing)
    signal.connect(after)
    SendTool(monkeypatch, method)

    with caplog.at_level(logging.ERROR, "django.dispatch"):
        responses = sent_with(signal, method, None)

    assert responses == [(failing, error), (after, None)]
    [record] = caplog.records
    assert record.name == "django.dispatch"


@pytest.mark.parametrize("method", ["send_robust", "asend_robust"])
def test_a_patch_of_a_robust_sending_method_returns_a_conditions_error(
    signal, monkeypatch, method
):
    error = ValueError("condition failed")
    failing, after = Recorder("failing"), Recorder("after")
    signal.connect(failing, when=Fails(error))
    signal.connect(after)
    SendTool(monkeypatch, method)

    responses = sent_with(signal, method, None, n=1)

    assert responses == [(failing, error), (after, None)]
    assert failing.values("n") == []


def test_patches_of_live_receivers_and_send_both_apply(signal, receivers, monkeypatch):
    tool = Tool(monkeypatch)
    send_tool = SendTool(monkeypatch, "send")

    signal.send("only this sender")

    assert send_tool.sends == [(signal, "only this sender")]
    assert tool.ran == list(receivers)


# --- a tool patching connect, disconnect, has_listeners ------------------------------


class CallTool:
    """Patches one method of Django's class to note each call it wraps."""

    def __init__(self, monkeypatch, name, call_original=True):
        self.calls = []
        original = getattr(django.dispatch.Signal, name)

        def patched(signal, *args, **kwargs):
            self.calls.append((signal, *args))
            if call_original:
                return original(signal, *args, **kwargs)
            return None

        monkeypatch.setattr(django.dispatch.Signal, name, patched)


def test_a_patch_of_connect_sees_our_connections_which_keep_their_options(
    signal, monkeypatch
):
    tool = CallTool(monkeypatch, "connect")
    recorder = Recorder()

    signal.connect(recorder, sender="a sender", when=AddsN(True))

    assert tool.calls == [(signal, recorder, "a sender", True, None)]
    [connection] = signal.connections()
    assert (connection.receiver, connection.sender) == (recorder, "a sender")
    assert signal.send("a sender", n=1) == [(recorder, None)]
    assert recorder.values("n") == [2]


def test_a_patch_of_connect_lets_our_refusals_through(signal, monkeypatch):
    signal.later_delivery_refused = "not here"
    CallTool(monkeypatch, "connect")

    with pytest.raises(ValueError, match="not here"):
        signal.connect(Recorder(), delivery="on_commit")

    assert signal.receivers == []


def test_a_patch_of_connect_never_reaching_ours_connects_anyway_loudly(
    signal, monkeypatch, caplog
):
    CallTool(monkeypatch, "connect", call_original=False)
    recorder = Recorder()

    with caplog.at_level(logging.WARNING, "signals_app.dispatch"):
        signal.connect(recorder)

    assert signal.send(None) == [(recorder, None)]
    [record] = caplog.records
    assert "Signal.connect is patched" in record.getMessage()


def test_a_patch_of_disconnect_sees_our_disconnections(signal, monkeypatch):
    recorder = Recorder()
    signal.connect(recorder)
    tool = CallTool(monkeypatch, "disconnect")

    assert signal.disconnect(recorder) is True
    assert signal.disconnect(recorder) is False
    assert tool.calls == [(signal, recorder, None, None)] * 2
    assert signal.send(None) == []


@pytest.mark.parametrize("connected", [True, False])
def test_a_patch_of_has_listeners_sees_our_answer(signal, monkeypatch, connected):
    recorder = Recorder()
    if connected:
        signal.connect(recorder)
    tool = CallTool(monkeypatch, "has_listeners")

    assert signal.has_listeners(None) is connected
    assert tool.calls == [(signal, None)]


def test_a_patch_of_send_made_after_sends_compiled_one_is_honoured(
    signal, receivers, monkeypatch
):
    for _ in range(2):
        signal.send("only this sender", n=1)
    tool = SendTool(monkeypatch, "send")

    signal.send("only this sender", n=1)

    assert tool.sends == [(signal, "only this sender")]


def test_a_patch_of_live_receivers_made_after_sends_compiled_one_is_honoured(
    signal, receivers, monkeypatch
):
    for _ in range(2):
        signal.send("only this sender", n=1)
    tool = Tool(monkeypatch)

    signal.send("only this sender", n=1)

    assert tool.ran == list(receivers)
