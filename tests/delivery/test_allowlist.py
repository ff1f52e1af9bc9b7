"""
Connecting receivers with delivery="task": the names workers know them by,
and the allow-list a worker runs them from.
"""

import json
from functools import partial
from typing import Any

import pytest
from django.core.management import call_command

from signals_app import signals
from signals_app.delivery import UnknownReceiver, allowed, queued_name
from signals_app.dispatch import Signal
from testproject.shop.models import Customer, Tag
from tests.delivery.worker import run_worker
from tests.factories import CustomerFactory
from tests.helpers import live_receivers
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

# Queued receivers need a signal a worker can find by name: a module-level one.
custom = Signal()


def index_order(**kwargs: Any) -> None:
    pass


class Indexer:
    def update(self, **kwargs: Any) -> None:
        pass


def test_a_builtin_signal_is_named_where_django_defines_it():
    assert queued_name(signals.post_save, index_order, "search.order") == (
        f"django.db.models.signals.post_save:{__name__}.index_order#search.order"
    )


def test_a_bound_method_is_named_by_its_function():
    assert queued_name(custom, Indexer().update, None) == (
        f"{__name__}.custom:{__name__}.Indexer.update"
    )


def test_a_dispatch_uid_that_is_not_a_string_is_named_by_its_repr():
    assert queued_name(custom, index_order, ("search", 1)).endswith(
        "index_order#('search', 1)"
    )


def test_a_queued_receiver_needs_a_signal_a_worker_can_find():
    with pytest.raises(ValueError, match="module-level name"):
        Signal().connect(Recorder(), delivery="task")


def test_two_queued_receivers_may_not_share_a_name(connect):
    first, second = Recorder(), Recorder()
    connect(custom, first, delivery="task")

    with pytest.raises(ValueError, match="distinct dispatch_uid"):
        custom.connect(second, delivery="task")

    connect(custom, second, delivery="task", dispatch_uid="second")
    custom.disconnect(first)
    # Once it is disconnected, its name is free again.
    third = connect(custom, Recorder(), delivery="task")
    assert live_receivers(custom) == [second, third]


def test_partials_of_one_function_are_told_apart_by_dispatch_uid(connect):
    connect(custom, partial(index_order), delivery="task", weak=False, dispatch_uid="a")
    connect(custom, partial(index_order), delivery="task", weak=False, dispatch_uid="b")

    assert [name.rsplit("#", 1)[1] for name in allowed.names()] == ["a", "b"]


def test_one_receiver_for_several_senders_is_one_name(connect):
    later = Recorder()
    connect(
        signals.post_save, later, sender=Customer, delivery="task", dispatch_uid="x"
    )
    connect(signals.post_save, later, sender=Tag, delivery="task", dispatch_uid="x")

    Tag.objects.create(name="t")
    CustomerFactory()
    run_worker()

    assert {call["sender"] for call in later.received()} == {Tag, Customer}
    assert len(later.calls) == 2


def test_the_worker_resolves_a_connected_name_to_its_signal_and_receiver(connect):
    later = connect(custom, Recorder(), delivery="task", dispatch_uid="t.resolve")

    assert allowed.resolve(f"{__name__}.custom:tests.recorder.Recorder#t.resolve") == (
        custom,
        later,
    )


def test_the_worker_finds_a_names_connections_with_its_receiver(connect):
    later = Recorder()
    connect(
        signals.post_save, later, sender=Customer, delivery="task", dispatch_uid="d"
    )
    connect(signals.post_save, later, sender=Tag, delivery="task", dispatch_uid="d")
    connect(signals.post_save, later, sender=Tag, delivery="task", dispatch_uid="e")
    name = "django.db.models.signals.post_save:tests.recorder.Recorder#d"

    signal, receiver, connections = allowed.deliverable(name)

    assert (signal, receiver) == (signals.post_save, later)
    assert [(conn.sender, conn.dispatch_uid) for conn in connections] == [
        (Customer, "d"),
        (Tag, "d"),
    ]


def test_a_sender_disconnected_between_two_tasks_leaves_the_names_connections(
    connect,
):
    # The same process asks twice: nothing found the first time may linger.
    later = Recorder()
    connect(
        signals.post_save, later, sender=Customer, delivery="task", dispatch_uid="d"
    )
    signals.post_save.connect(later, sender=Tag, delivery="task", dispatch_uid="d")
    name = "django.db.models.signals.post_save:tests.recorder.Recorder#d"
    assert len(allowed.deliverable(name)[2]) == 2

    signals.post_save.disconnect(sender=Tag, dispatch_uid="d")

    assert [conn.sender for conn in allowed.deliverable(name)[2]] == [Customer]


def test_a_sender_connected_between_two_tasks_joins_the_names_connections(connect):
    later = Recorder()
    connect(
        signals.post_save, later, sender=Customer, delivery="task", dispatch_uid="d"
    )
    name = "django.db.models.signals.post_save:tests.recorder.Recorder#d"
    assert len(allowed.deliverable(name)[2]) == 1

    connect(signals.post_save, later, sender=Tag, delivery="task", dispatch_uid="d")

    assert [conn.sender for conn in allowed.deliverable(name)[2]] == [Customer, Tag]


def test_dispatch_uids_equal_in_python_but_named_apart_keep_their_connections(
    connect,
):
    # 1 == True, but a worker knows them as #1 and #True.
    later = Recorder()
    connect(signals.post_save, later, sender=Customer, delivery="task", dispatch_uid=1)
    connect(signals.post_save, later, sender=Tag, delivery="task", dispatch_uid=True)
    prefix = "django.db.models.signals.post_save:tests.recorder.Recorder"

    by_one = allowed.deliverable(f"{prefix}#1")[2]
    by_true = allowed.deliverable(f"{prefix}#True")[2]

    assert [conn.sender for conn in by_one] == [Customer]
    assert [conn.sender for conn in by_true] == [Tag]


def test_a_receiver_replaced_under_its_name_between_two_tasks_is_the_one_found(
    connect,
):
    first, second = Recorder(), Recorder()
    signals.post_save.connect(first, sender=Customer, delivery="task", dispatch_uid="r")
    name = "django.db.models.signals.post_save:tests.recorder.Recorder#r"
    assert allowed.deliverable(name)[1] is first
    signals.post_save.disconnect(sender=Customer, dispatch_uid="r")

    connect(signals.post_save, second, sender=Tag, delivery="task", dispatch_uid="r")

    _, receiver, connections = allowed.deliverable(name)
    assert receiver is second
    assert [conn.sender for conn in connections] == [Tag]


def test_a_receiver_connected_now_is_not_on_the_allow_list(connect):
    connect(custom, index_order, dispatch_uid="t.now")

    with pytest.raises(UnknownReceiver, match="was connected with delivery='task'"):
        allowed.resolve(f"{__name__}.custom:{__name__}.index_order#t.now")


def test_a_disconnected_receiver_leaves_the_allow_list():
    later = Recorder()
    custom.connect(later, delivery="task", dispatch_uid="t.gone")
    name = f"{__name__}.custom:tests.recorder.Recorder#t.gone"
    assert name in allowed.names()

    custom.disconnect(dispatch_uid="t.gone")

    assert name not in allowed.names()
    with pytest.raises(UnknownReceiver, match="no longer connected"):
        allowed.resolve(name)


def test_unknown_receiver_is_recorded_under_its_public_path():
    # Task backends store a failed task's exception class by this path.
    assert f"{UnknownReceiver.__module__}.{UnknownReceiver.__qualname__}" == (
        "signals_app.delivery.UnknownReceiver"
    )


def test_manage_py_signals_shows_each_receivers_delivery(connect, capsys):
    connect(signals.post_save, Recorder(), sender=Customer)
    connect(signals.post_save, Recorder(), sender=Customer, delivery="on_commit")
    connect(signals.post_save, Recorder(), sender=Customer, delivery="task", weak=False)

    call_command("signals", "--signal", "post_save", "--format", "json")

    records = json.loads(capsys.readouterr().out)
    ours = [
        record for record in records if record["receiver"] == "tests.recorder.Recorder"
    ]
    assert [record["delivery"] for record in ours] == ["now", "on_commit", "task"]
