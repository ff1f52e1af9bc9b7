"""signals_app.dispatch.conditions: connect(..., when=condition)."""

import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from signals_app.dispatch import Delivery
from signals_app.dispatch.conditions import Condition


class Flag(Condition):
    """Holds when the send's ``flag`` argument is true; adds ``seen=name``."""

    def __init__(self, name: str = "flag") -> None:
        self.name = name
        self.connections: list[tuple[Any, Any]] = []

    def check(self, sender, named):
        return {"seen": self.name} if named.get(self.name) else None

    def connected(self, signal, sender):
        self.connections.append((signal, sender))

    def __repr__(self):
        return f"Flag({self.name!r})"


def recorder(log, name):
    def receive(**kwargs):
        log.append((name, kwargs.get("seen")))
        return name

    return receive


def test_receiver_is_called_only_when_its_condition_holds(signal):
    log = []
    signal.connect(recorder(log, "gated"), weak=False, when=Flag())

    signal.send(sender=None, flag=False)
    signal.send(sender=None, flag=True)

    assert log == [("gated", "flag")]


def test_what_the_condition_adds_reaches_the_receiver(signal):
    log = []
    signal.connect(recorder(log, "gated"), weak=False, when=Flag())

    [(_, response)] = signal.send(sender=None, flag=True)

    assert response == "gated"
    assert log == [("gated", "flag")]


def test_conditioned_receivers_keep_registration_order(signal):
    log = []
    signal.connect(recorder(log, "a"), weak=False)
    signal.connect(recorder(log, "b"), weak=False, when=Flag())
    signal.connect(recorder(log, "c"), weak=False)

    responses = signal.send(sender=None, flag=True)
    skipped = signal.send(sender=None, flag=False)

    assert [r for _, r in responses] == ["a", "b", "c"]
    assert [r for _, r in skipped] == ["a", "c"]
    assert log == [("a", None), ("b", "flag"), ("c", None), ("a", None), ("c", None)]


@pytest.mark.parametrize("method", ["send_robust", "asend", "asend_robust"])
def test_every_way_of_sending_honours_conditions(signal, method):
    log = []
    signal.connect(recorder(log, "gated"), weak=False, when=Flag())

    async def asend(**named):
        return await getattr(signal, method)(sender=None, **named)

    for flag in (False, True):
        if method.startswith("a"):
            async_to_sync(asend)(flag=flag)
        else:
            getattr(signal, method)(sender=None, flag=flag)

    assert log == [("gated", "flag")]


def test_what_the_condition_returns_replaces_a_sent_argument(signal):
    class Narrow(Condition):
        def check(self, sender, named):
            return {"rows": [row for row in named["rows"] if row > 1]}

    got = []
    signal.connect(lambda rows, **kw: got.append(rows), weak=False, when=Narrow())
    signal.connect(lambda rows, **kw: got.append(rows), weak=False)

    signal.send(sender=None, rows=[1, 2, 3])

    assert got == [[2, 3], [1, 2, 3]]


def test_async_receivers_get_the_added_arguments(signal):
    log = []

    async def receive(**kwargs):
        log.append(kwargs.get("seen"))

    signal.connect(receive, weak=False, when=Flag())

    signal.send(sender=None, flag=True)
    signal.send(sender=None, flag=False)

    assert log == ["flag"]


def test_conditions_compose(signal):
    log = []
    signal.connect(recorder(log, "and"), weak=False, when=Flag("x") & Flag("y"))
    signal.connect(recorder(log, "or"), weak=False, when=Flag("x") | Flag("y"))
    signal.connect(recorder(log, "not"), weak=False, when=~Flag("x"))

    for x, y in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        signal.send(sender=None, x=x, y=y)

    assert log == [
        ("not", None),
        ("or", "x"),
        ("or", "y"),
        ("not", None),
        ("and", "y"),
        ("or", "x"),
    ]


def test_the_condition_hears_each_connection_with_its_sender(signal):
    condition = Flag()

    class Sender:
        pass

    signal.connect(recorder([], "a"), sender=Sender, weak=False, when=condition)

    assert condition.connections == [(signal, Sender)]


def test_a_conditioned_receiver_counts_as_a_listener(signal):
    signal.connect(recorder([], "a"), weak=False, when=Flag())

    assert signal.has_listeners()


def test_when_must_be_a_condition(signal):
    with pytest.raises(TypeError, match="when= takes a Condition"):
        signal.connect(recorder([], "a"), weak=False, when=lambda **kw: True)

    assert signal.receivers == []


def test_the_connection_reports_its_condition(signal):
    condition = Flag()
    signal.connect(recorder([], "a"), weak=False, when=condition)

    [connection] = signal.connections()

    assert connection.condition is condition


class Remember(Delivery):
    """A delivery that keeps what it was asked to schedule."""

    name = "remember"

    def __init__(self) -> None:
        self.scheduled: list[dict[str, Any]] = []

    def schedule(self, signal, receiver, sender, named):
        self.scheduled.append(named)
        return "later"


def test_receivers_delivered_later_are_gated_and_get_the_added_arguments(signal):
    later = Remember()
    signal.connect(recorder([], "a"), weak=False, when=Flag(), delivery=later)

    skipped = signal.send(sender=None, flag=False)
    [(_, response)] = signal.send(sender=None, flag=True)

    assert skipped == []
    assert response == "later"
    assert later.scheduled == [{"flag": True, "seen": "flag"}]


class Raising(Condition):
    """A condition whose check fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def check(self, sender, named):
        raise self.error


def sent_robustly(signal, method, **named):
    if method == "asend_robust":
        return async_to_sync(signal.asend_robust)(sender=None, **named)
    return signal.send_robust(sender=None, **named)


@pytest.mark.parametrize("method", ["send_robust", "asend_robust"])
def test_a_robust_send_returns_a_conditions_error_as_its_receivers_response(
    signal, method
):
    log = []
    error = ValueError("condition failed")
    failing = recorder(log, "failing")
    after = recorder(log, "after")
    signal.connect(failing, weak=False, when=Raising(error))
    signal.connect(after, weak=False, when=Flag())

    responses = sent_robustly(signal, method, flag=True)

    assert responses == [(failing, error), (after, "after")]
    assert log == [("after", "flag")]


@pytest.mark.parametrize("method", ["send_robust", "asend_robust"])
def test_a_robust_send_logs_a_conditions_error_where_django_logs_receivers(
    signal, caplog, method
):
    error = ValueError("condition failed")
    signal.connect(recorder([], "failing"), weak=False, when=Raising(error))

    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        sent_robustly(signal, method)

    [record] = caplog.records
    assert record.exc_info[1] is error


def test_a_robust_send_returns_an_async_receivers_condition_error(signal):
    error = ValueError("condition failed")
    called = []

    async def receive(**kwargs):
        called.append(kwargs)

    signal.connect(receive, weak=False, when=Raising(error))

    assert signal.send_robust(sender=None) == [(receive, error)]
    assert called == []


def test_a_robust_send_does_not_schedule_a_receiver_whose_condition_raised(
    signal, caplog
):
    later = Remember()
    error = ValueError("condition failed")
    failing = recorder([], "failing")
    signal.connect(failing, weak=False, when=Raising(error), delivery=later)

    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        responses = signal.send_robust(sender=None)

    assert responses == [(failing, error)]
    assert later.scheduled == []
    assert [r.exc_info[1] for r in caplog.records] == [error]


@pytest.mark.parametrize("method", ["send", "asend"])
def test_a_plain_send_lets_a_conditions_error_propagate(signal, method):
    error = ValueError("condition failed")
    signal.connect(recorder([], "failing"), weak=False, when=Raising(error))

    send = async_to_sync(signal.asend) if method == "asend" else signal.send

    with pytest.raises(ValueError, match="condition failed") as raised:
        send(sender=None)

    assert raised.value is error
