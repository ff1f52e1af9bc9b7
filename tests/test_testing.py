import asyncio
import uuid
from contextlib import ExitStack

import pytest
from django.db import transaction
from django.db.models import signals as django_model_signals
from django.dispatch import Signal as DjangoSignal
from django.test import TestCase
from django_tasks_db.models import DBTaskResult

from signals_app.delivery import NotSerializable, UnknownReceiver
from signals_app.dispatch import Signal
from signals_app.testing import (
    Call,
    capture_deliveries,
    connected,
    mute,
    record,
    run_deliveries,
)
from testproject.shop.models import Customer, Note, Order
from tests.factories import CustomerFactory, OrderFactory
from tests.helpers import collect
from tests.recorder import Recorder

# The model signals the tests below save and delete through.
MODEL_SIGNAL_NAMES = ["pre_save", "post_save", "pre_delete", "post_delete"]


class Shop:
    """A sender."""


class Warehouse:
    """Another sender."""


class Depot:
    """A third sender."""


@pytest.fixture(
    params=[
        (DjangoSignal, False),
        (DjangoSignal, True),
        (Signal, False),
        (Signal, True),
    ],
    ids=["django", "django-caching", "signals_app", "signals_app-caching"],
)
def signal(request: pytest.FixtureRequest) -> DjangoSignal | Signal:
    """A new signal of each dispatcher, with and without the per-sender cache."""
    signal_class, use_caching = request.param
    return signal_class(use_caching=use_caching)


# signals_app.signals joins Django's module here once its wiring is done: it
# declares the same names.
@pytest.fixture(params=[django_model_signals], ids=["django"])
def model_signals(request: pytest.FixtureRequest):
    """A module of built-in model signals, whose receivers each test leaves as found."""
    module = request.param
    before = _receivers_of(module)
    yield module
    assert _receivers_of(module) == before


def _receivers_of(module: object) -> dict[str, list[tuple]]:
    # A copy: Django's signals change their list in place.
    return {name: list(getattr(module, name).receivers) for name in MODEL_SIGNAL_NAMES}


# record()


def test_record_lists_the_sends_of_all_its_signals_in_order(signal):
    other = type(signal)()

    with record(signal, other) as calls:
        signal.send(Shop, number=1)
        other.send(Warehouse)
        signal.send(Shop, number=2)

    assert calls == [
        Call(signal, Shop, {"number": 1}),
        Call(other, Warehouse, {}),
        Call(signal, Shop, {"number": 2}),
    ]


def test_record_with_a_sender_leaves_out_other_senders(signal):
    with record(signal, sender=Shop) as calls:
        signal.send(Warehouse)
        signal.send(Shop)

    assert [call.sender for call in calls] == [Shop]


def test_record_disconnects_its_receiver_when_the_block_exits(signal):
    with record(signal) as calls:
        assert len(signal.receivers) == 1
    signal.send(Shop)

    assert signal.receivers == []
    assert calls == []


def test_record_disconnects_its_receiver_when_the_block_raises(signal):
    with pytest.raises(LookupError), record(signal):
        raise LookupError

    assert signal.receivers == []


def test_record_keeps_recording_through_garbage_collection(signal):
    with record(signal) as calls:
        collect()
        signal.send(Shop)

    assert len(calls) == 1


def test_record_sees_a_send_after_the_receivers_connected_before_it(signal):
    def fail(**kwargs: object) -> None:
        raise LookupError

    signal.connect(fail)

    with record(signal) as calls, pytest.raises(LookupError):
        signal.send(Shop)

    assert calls == []


def test_record_needs_signals():
    with (
        pytest.raises(TypeError, match=r"record\(\) needs at least one signal"),
        record(),
    ):
        pass
    with (
        pytest.raises(TypeError, match=r"record\(\) takes signals"),
        record("post_save"),
    ):
        pass


@pytest.mark.django_db
def test_record_post_save_of_a_model(model_signals):
    post_save = model_signals.post_save

    with record(post_save, sender=Order) as calls:
        order = OrderFactory()

    assert calls == [
        Call(
            post_save,
            Order,
            {
                "instance": order,
                "created": True,
                "update_fields": None,
                "raw": False,
                "using": "default",
            },
        )
    ]
    assert calls[0].kwargs["instance"] is order


@pytest.mark.django_db
def test_record_follows_saves_across_models_and_signals(model_signals):
    pre_save, post_save = model_signals.pre_save, model_signals.post_save

    with record(pre_save, post_save) as calls:
        OrderFactory()

    assert [(call.signal, call.sender) for call in calls] == [
        (pre_save, Customer),
        (post_save, Customer),
        (pre_save, Order),
        (post_save, Order),
    ]


# mute()


def test_mute_silences_receivers_for_the_block(signal):
    receiver = Recorder()
    signal.connect(receiver)

    with mute(signal):
        signal.send(Shop)
        assert not signal.has_listeners(Shop)
    signal.send(Warehouse)

    assert receiver.senders == [Warehouse]


def test_mute_empties_the_per_sender_cache(signal):
    receiver = Recorder()
    signal.connect(receiver, sender=Shop)
    signal.send(Shop)  # fills the cache of a signal that has one

    with mute(signal):
        assert not signal.has_listeners(Shop)
        assert signal.send(Shop) == []

    assert signal.has_listeners(Shop)


def test_mute_restores_receivers_when_the_block_raises(signal):
    receiver = Recorder()
    signal.connect(receiver)

    with pytest.raises(LookupError), mute(signal):
        raise LookupError
    signal.send(Shop)

    assert receiver.senders == [Shop]


def test_receivers_connected_during_a_mute_run_and_stay_after_it(signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    signal.connect(first)

    with mute(signal):
        signal.connect(second)
        during = signal.send(Shop)
    after = signal.send(Warehouse)

    assert [receiver for receiver, _ in during] == [second]
    assert [receiver for receiver, _ in after] == [first, second]


def test_a_receiver_connected_again_during_a_mute_is_called_once_after_it(signal):
    receiver = Recorder()
    signal.connect(receiver)

    with mute(signal):
        signal.connect(receiver)
    signal.send(Shop)

    assert receiver.senders == [Shop]


def test_record_inside_a_mute_sees_what_the_muted_receivers_miss(signal):
    receiver = Recorder()
    signal.connect(receiver)

    with mute(signal), record(signal) as calls:
        signal.send(Shop)

    assert receiver.senders == []
    assert [call.sender for call in calls] == [Shop]


def test_an_inner_mute_leaves_the_outer_one_in_force(signal):
    first, second = Recorder(name="first"), Recorder(name="second")
    signal.connect(first)

    with mute(signal):
        signal.connect(second)
        with mute(signal):
            inner = signal.send(Shop)
        outer = signal.send(Warehouse)
    after = signal.send(Depot)

    assert inner == []
    assert [receiver for receiver, _ in outer] == [second]
    assert [receiver for receiver, _ in after] == [first, second]


def test_a_mute_can_be_entered_again_while_in_use(signal):
    receiver = Recorder()
    signal.connect(receiver)
    muted = mute(signal)

    with muted:
        with muted:
            signal.send(Shop)
        signal.send(Warehouse)
    signal.send(Depot)

    assert receiver.senders == [Depot]


def test_mute_takes_several_signals(signal):
    other = type(signal)()
    receiver = Recorder()
    signal.connect(receiver)
    other.connect(receiver)

    with mute(signal, other):
        signal.send(Shop)
        other.send(Shop)
    other.send(Warehouse)

    assert receiver.senders == [Warehouse]


def test_mute_decorates_a_function(signal):
    receiver = Recorder()
    signal.connect(receiver)

    @mute(signal)
    def countdown(n: int) -> int:
        signal.send(Shop)
        return countdown(n - 1) if n else n

    assert countdown(2) == 0
    assert countdown(1) == 0
    signal.send(Warehouse)

    assert receiver.senders == [Warehouse]


def test_mute_decorates_a_coroutine_function(signal):
    receiver = Recorder()
    signal.connect(receiver)

    @mute(signal)
    async def send() -> str:
        await asyncio.sleep(0)
        signal.send(Shop)
        return "sent"

    assert asyncio.run(send()) == "sent"
    signal.send(Warehouse)

    assert receiver.senders == [Warehouse]


def test_mute_refuses_to_decorate_a_class(signal):
    with pytest.raises(TypeError, match="not classes"):

        @mute(signal)
        class Tests:
            pass


def test_mute_needs_signals():
    with pytest.raises(TypeError, match=r"mute\(\) needs at least one signal"):
        mute()
    with pytest.raises(TypeError, match=r"mute\(\) takes signals"):
        mute("post_save")


def test_helpers_that_exit_during_a_mute_stay_disconnected_after_it(signal):
    # The helpers' blocks started before the mute and end inside it, as when
    # fixtures are torn down in the reverse order of the test's own blocks.
    with ExitStack() as helpers:
        helpers.enter_context(connected(signal, Recorder()))
        calls = helpers.enter_context(record(signal))
        muted = mute(signal)
        muted.__enter__()
    muted.__exit__(None, None, None)
    signal.send(Shop)

    assert signal.receivers == []
    assert calls == []


@pytest.mark.django_db
def test_mute_silences_a_model_signal(model_signals):
    post_save = model_signals.post_save
    receiver = Recorder()

    with connected(post_save, receiver, sender=Order):
        with mute(post_save):
            OrderFactory()
        order = OrderFactory()

    assert receiver.senders == [Order]
    assert order.pk is not None


# connected()


def test_connected_connects_for_the_block_and_yields_the_receiver(signal):
    seen = []

    with connected(signal, lambda sender, **kwargs: seen.append(sender)) as receiver:
        collect()  # the lambda is held strongly
        signal.send(Shop)
        assert signal.send(Warehouse) == [(receiver, None)]
    signal.send(Depot)

    assert seen == [Shop, Warehouse]
    assert signal.receivers == []


def test_connected_disconnects_when_the_block_raises(signal):
    with pytest.raises(LookupError), connected(signal, Recorder()):
        raise LookupError

    assert signal.receivers == []


def test_connected_passes_sender_and_dispatch_uid_on(signal):
    first, second = Recorder(name="first"), Recorder(name="second")

    with (
        connected(signal, first, sender=Shop, dispatch_uid="uid"),
        connected(signal, second, sender=Shop, dispatch_uid="uid"),
    ):
        signal.send(Warehouse)
        signal.send(Shop)

    assert first.senders == [Shop]
    assert second.senders == []
    assert signal.receivers == []


# --- run_deliveries() and capture_deliveries() -------------------------------------
# In a django_db test, whose transaction is rolled back, never committed: the
# case these helpers are for.

# Queued receivers need a signal a worker can find by name: a module-level one.
queued_signal = Signal()


class Boom(Exception):
    pass


def test_on_commit_receivers_never_run_in_a_django_db_test_on_their_own(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save, later, sender=Customer, delivery="on_commit"
    )

    CustomerFactory()

    assert later.received() == []


def test_run_deliveries_runs_on_commit_receivers_when_the_block_ends(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save, later, sender=Customer, delivery="on_commit"
    )

    with run_deliveries():
        customer = CustomerFactory()
        assert later.received() == []

    assert [call["instance"] for call in later.received()] == [customer]


def test_run_deliveries_runs_queued_receivers_through_the_task(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save,
        later,
        sender=Customer,
        delivery="task",
        dispatch_uid="testing.queued",
    )

    with run_deliveries():
        customer = CustomerFactory()

    [call] = later.received()
    # Loaded again by the task, as a worker would, with an event id.
    assert call["instance"] == customer
    assert call["instance"] is not customer
    assert isinstance(call["event_id"], uuid.UUID)


def test_run_deliveries_enqueues_nothing_with_the_backend(db, connect):
    connect(
        django_model_signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="testing.nothing",
    )

    with run_deliveries():
        CustomerFactory()

    assert not DBTaskResult.objects.exists()


def test_run_deliveries_shows_an_argument_that_cannot_travel(db, connect):
    connect(queued_signal, Recorder(), delivery="task", dispatch_uid="testing.json")

    with pytest.raises(NotSerializable, match="argument 'what'"), run_deliveries():
        queued_signal.send(sender=None, what=object())


def test_run_deliveries_shows_a_row_gone_before_the_task_runs(db, connect):
    connect(
        django_model_signals.post_save,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="testing.gone",
    )

    with capture_deliveries() as deliveries:
        CustomerFactory().delete()
        with pytest.raises(Customer.DoesNotExist):
            deliveries.run()


def test_run_deliveries_shows_a_receiver_the_worker_does_not_know(db, connect):
    later = Recorder()
    connect(queued_signal, later, delivery="task", dispatch_uid="testing.unknown")

    with capture_deliveries() as deliveries:
        queued_signal.send(sender=None)
        queued_signal.disconnect(dispatch_uid="testing.unknown")
        with pytest.raises(UnknownReceiver):
            deliveries.run()


def test_run_deliveries_propagates_a_receivers_error(db, connect):
    def explode(**kwargs: object) -> None:
        raise Boom

    connect(queued_signal, explode, delivery="task", dispatch_uid="testing.boom")

    with pytest.raises(Boom), run_deliveries():
        queued_signal.send(sender=None)


def test_run_deliveries_runs_what_the_receivers_deliver_in_turn(db, connect):
    # A queued receiver that saves: its save's own queued receivers run too.
    notes = Recorder()

    def order_saved(instance: Order, **kwargs: object) -> None:
        Note.objects.create(order=instance, text="saved")

    connect(
        django_model_signals.post_save,
        order_saved,
        sender=Order,
        delivery="task",
        dispatch_uid="testing.chain",
    )
    connect(
        django_model_signals.post_save,
        notes,
        sender=Note,
        delivery="on_commit",
    )

    with run_deliveries():
        OrderFactory()

    assert [call["instance"].text for call in notes.received()] == ["saved"]


def test_run_deliveries_runs_nothing_when_the_block_raises(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save, later, sender=Customer, delivery="on_commit"
    )

    def save_then_fail() -> None:
        with run_deliveries():
            CustomerFactory()
            raise Boom

    with pytest.raises(Boom):
        save_then_fail()

    assert later.received() == []


def test_run_deliveries_drops_what_a_rolled_back_savepoint_scheduled(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save, later, sender=Customer, delivery="on_commit"
    )

    with run_deliveries():
        kept = CustomerFactory()
        with transaction.atomic():
            CustomerFactory()
            transaction.set_rollback(True)

    assert [call["instance"] for call in later.received()] == [kept]


def test_capture_deliveries_runs_them_when_asked_and_once(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save, later, sender=Customer, delivery="on_commit"
    )

    with capture_deliveries() as deliveries:
        CustomerFactory()
        assert later.received() == []
        assert deliveries.run() == 1
        assert len(later.calls) == 1
        assert deliveries.run() == 0

    assert len(later.calls) == 1


def test_capture_deliveries_keeps_to_the_databases_named(db, connect):
    later = Recorder()
    connect(
        django_model_signals.post_save, later, sender=Customer, delivery="on_commit"
    )

    with capture_deliveries(using="other") as deliveries:
        CustomerFactory()
        assert deliveries.run() == 0

    assert later.received() == []


def test_capture_deliveries_logs_the_error_of_a_robust_callback(db, caplog):
    def explode() -> None:
        raise Boom("robust")

    with capture_deliveries() as deliveries:
        transaction.on_commit(explode, robust=True)
        transaction.on_commit(lambda: None)
        assert deliveries.run() == 2

    [record] = caplog.records
    assert record.name == "django.db.backends.base"
    assert "robust" in record.getMessage()


def test_run_deliveries_matches_django_for_on_commit_receivers(db, connect):
    # Side by side with TestCase.captureOnCommitCallbacks(execute=True).
    ours, djangos = Recorder(), Recorder()
    connect(django_model_signals.post_save, ours, sender=Customer, delivery="on_commit")

    with run_deliveries():
        CustomerFactory(name="ours")
    django_model_signals.post_save.disconnect(ours, sender=Customer)
    connect(
        django_model_signals.post_save, djangos, sender=Customer, delivery="on_commit"
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        CustomerFactory(name="django")

    assert [c["instance"].name for c in ours.received()] == ["ours"]
    assert [c["instance"].name for c in djangos.received()] == ["django"]


def test_djangos_capture_leaves_queued_receivers_to_the_backend(db, connect):
    # What run_deliveries() adds: with Django's capture, the task is written
    # to the backend's table and nothing runs it.
    later = Recorder()
    connect(
        django_model_signals.post_save,
        later,
        sender=Customer,
        delivery="task",
        dispatch_uid="testing.django",
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        CustomerFactory()

    assert later.received() == []
    assert DBTaskResult.objects.count() == 1
