"""
How our built-in signals hear Django's (signals_app.wiring): a forwarder per
Django signal and sender, there only while one of our receivers wants that
sender, so that what nobody listens to costs nothing.
"""

import gc
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from django.db import connection, models
from django.db.models import signals as django_model_signals
from django.test.utils import CaptureQueriesContext, isolate_apps
from factory.django import mute_signals

from signals_app import signals
from testproject.shop.models import (
    Customer,
    Note,
    Order,
    OrderLine,
    Product,
    Tag,
)
from tests.factories import (
    CustomerFactory,
    NoteFactory,
    OrderFactory,
    OrderLineFactory,
    TagFactory,
)
from tests.recorder import BUILT_INS, Record, receivers_cleaned_up, recording

REPO = Path(__file__).resolve().parent.parent

MODEL_SIGNALS = [
    "pre_init",
    "post_init",
    "pre_save",
    "post_save",
    "pre_delete",
    "post_delete",
    "m2m_changed",
]
OTHER_SIGNALS = sorted(set(BUILT_INS) - set(MODEL_SIGNALS))


@pytest.fixture(autouse=True)
def _all_receivers_cleaned_up() -> Iterator[None]:
    with receivers_cleaned_up():
        yield


@pytest.fixture
def record() -> Iterator[Record]:
    with recording() as record:
        yield record


def _keys(django_signal):
    # Compared as sets: Django drops its own dead weak receivers as it goes.
    return {entry[0] for entry in django_signal.receivers}


def _added(django_signal, before):
    return _keys(django_signal) - before


# --- Nothing is connected to Django's signals until one of ours is used. -------

_COUNT_RECEIVERS = """
import json, sys
import django
from django.conf import settings

installed = ["django.contrib.auth", "django.contrib.contenttypes", "testproject.shop"]
if sys.argv[1] == "installed":
    installed.append("signals_app")
settings.configure(
    INSTALLED_APPS=installed,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()
if sys.argv[1] == "installed":
    import signals_app.signals
from django.core import signals as core
from django.db.models import signals as models

names = [
    "class_prepared", "pre_init", "post_init", "pre_save", "post_save",
    "pre_delete", "post_delete", "m2m_changed", "pre_migrate", "post_migrate",
    "request_started", "request_finished", "got_request_exception",
    "setting_changed",
]
print(json.dumps({
    name: len((getattr(models, name, None) or getattr(core, name)).receivers)
    for name in names
}))
print("signals_app.signals" in sys.modules)
"""


def _django_receiver_counts(variant):
    result = subprocess.run(
        [sys.executable, "-c", _COUNT_RECEIVERS, variant],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    counts, imported = result.stdout.splitlines()
    return json.loads(counts), imported == "True"


def test_installing_signals_app_connects_nothing_to_djangos_signals():
    without, _ = _django_receiver_counts("without")
    installed, imported = _django_receiver_counts("installed")

    assert imported
    assert installed == without
    assert installed.keys() == BUILT_INS.keys()


@pytest.mark.parametrize("name", MODEL_SIGNALS)
def test_idle_signal_adds_no_listener_for_any_model(name):
    ours, theirs = BUILT_INS[name]

    assert not ours.receivers
    assert [model for model in (Note, Order, Tag) if theirs.has_listeners(model)] == []


# --- A forwarder per sender, for as long as one of our receivers wants it. -----


@pytest.mark.parametrize("name", MODEL_SIGNALS)
def test_receiver_for_a_model_adds_one_forwarder_for_that_model_only(record, name):
    ours, theirs = BUILT_INS[name]
    before = _keys(theirs)

    record(ours, sender=Note)

    assert len(_added(theirs, before)) == 1
    assert theirs.has_listeners(Note)
    assert not theirs.has_listeners(Order)
    assert not theirs.has_listeners(Customer)


@pytest.mark.parametrize("name", MODEL_SIGNALS)
def test_disconnecting_the_last_receiver_removes_the_forwarder(record, name):
    ours, theirs = BUILT_INS[name]
    before = _keys(theirs)
    recorder = record(ours, sender=Note)

    recorder.disconnect()

    assert _added(theirs, before) == set()
    assert not theirs.has_listeners(Note)


def test_receivers_for_the_same_model_share_one_forwarder(record):
    theirs = django_model_signals.post_save
    before = _keys(theirs)

    first = record(signals.post_save, sender=Note)
    record(signals.post_save, sender=Note)
    first.disconnect()

    assert len(_added(theirs, before)) == 1
    assert theirs.has_listeners(Note)


def test_each_model_gets_its_own_forwarder(record):
    theirs = django_model_signals.post_save
    before = _keys(theirs)

    for_note = record(signals.post_save, sender=Note)
    record(signals.post_save, sender=Tag)
    with_both = len(_added(theirs, before))
    for_note.disconnect()

    assert with_both == 2
    assert len(_added(theirs, before)) == 1
    assert (theirs.has_listeners(Note), theirs.has_listeners(Tag)) == (False, True)


def test_asynchronous_receivers_get_a_forwarder_of_their_own(record):
    theirs = django_model_signals.post_save
    before = _keys(theirs)

    record(signals.post_save, sender=Note)
    record(signals.post_save, sender=Note, is_async=True)
    record(signals.post_save, sender=Note, is_async=True)

    assert len(_added(theirs, before)) == 2


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_any_sender_receiver_uses_one_forwarder(record, name):
    ours, theirs = BUILT_INS[name]
    before = _keys(theirs)

    any_sender = record(ours)
    record(ours)
    connected = len(_added(theirs, before))
    any_sender.disconnect()

    assert connected == 1
    assert len(_added(theirs, before)) == 1


def test_any_sender_forwarder_covers_every_model(record):
    theirs = django_model_signals.pre_save
    before = _keys(theirs)

    record(signals.pre_save, sender=Note)
    record(signals.pre_save)
    record(signals.pre_save, sender=Tag)

    assert len(_added(theirs, before)) == 1
    assert all(theirs.has_listeners(model) for model in (Note, Tag, Order, Customer))


def test_forwarders_per_model_come_back_when_the_any_sender_receiver_goes(record):
    theirs = django_model_signals.pre_save
    before = _keys(theirs)
    record(signals.pre_save, sender=Note)
    any_sender = record(signals.pre_save)

    any_sender.disconnect()

    assert len(_added(theirs, before)) == 1
    assert (theirs.has_listeners(Note), theirs.has_listeners(Order)) == (True, False)


@pytest.mark.parametrize(
    "use",
    [
        "django sends",
        "our receivers read",
        "our has_listeners",
        "another receiver connected",
    ],
)
def test_forwarder_goes_with_a_garbage_collected_receiver(record, use):
    theirs = django_model_signals.pre_init
    before = _keys(theirs)

    def receiver(**kwargs):
        pass

    signals.pre_init.connect(receiver, sender=Note)
    del receiver
    gc.collect()
    if use == "django sends":
        Note(text="built")
    elif use == "our receivers read":
        assert signals.pre_init.receivers == []
    elif use == "our has_listeners":
        assert not signals.pre_init.has_listeners(Note)
    else:
        record(signals.pre_init, sender=Tag).disconnect()

    assert _added(theirs, before) == set()
    assert not theirs.has_listeners(Note)


def _count_calls(calls, **kwargs):
    calls.append(kwargs["sender"].__name__)


def test_forwarder_goes_with_a_garbage_collected_model():
    theirs = django_model_signals.pre_init
    before = _keys(theirs)
    calls = []
    receiver = partial(_count_calls, calls)
    with isolate_apps("testproject.shop"):

        class Coupon(models.Model):  # noqa: DJ008
            class Meta:
                app_label = "shop"

        # Nothing but the model's own registry holds on to it: no recorder.
        signals.pre_init.connect(receiver, sender=Coupon)
        Coupon()
        with_model = len(_added(theirs, before))

    del Coupon
    gc.collect()

    assert calls == ["Coupon"]
    assert with_model == 1
    assert signals.pre_init.receivers == []
    assert _added(theirs, before) == set()


# --- What a cascade costs depends only on who listens, as with Django's. -------


def _customer_with_orders(count=3):
    customer = CustomerFactory()
    for _ in range(count):
        order = OrderFactory(customer=customer, tags=[TagFactory()])
        OrderLineFactory(order=order)
        NoteFactory(order=order)
    return customer


def _normalized(queries):
    # The same statements for other rows: ids differ from run to run.
    return [re.sub(r"\d+", "N", query["sql"]) for query in queries]


@pytest.fixture
def cascade_sql_with_no_receivers(db):
    customer = _customer_with_orders()
    with CaptureQueriesContext(connection) as captured:
        customer.delete()
    return _normalized(captured.captured_queries)


@pytest.mark.parametrize("unrelated", [Tag, Product])
def test_receiver_on_an_unrelated_model_leaves_a_cascade_unchanged(
    record, cascade_sql_with_no_receivers, django_assert_num_queries, unrelated
):
    record([signals.pre_delete, signals.post_delete], sender=unrelated)
    customer = _customer_with_orders()

    with django_assert_num_queries(len(cascade_sql_with_no_receivers)) as captured:
        customer.delete()

    assert _normalized(captured.captured_queries) == cascade_sql_with_no_receivers


def test_receiver_on_a_fast_deleted_model_makes_the_cascade_fetch_it(
    record, cascade_sql_with_no_receivers, django_assert_num_queries
):
    record(signals.pre_delete, sender=OrderLine)
    customer = _customer_with_orders()

    with django_assert_num_queries(len(cascade_sql_with_no_receivers) + 1) as captured:
        customer.delete()

    selects = [sql for sql in _normalized(captured.captured_queries) if "SELECT" in sql]
    assert any('FROM "shop_orderline"' in sql for sql in selects)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sender",
    [Order, OrderLine, Note, Tag, None],
    ids=lambda sender: getattr(sender, "__name__", "any sender"),
)
def test_receiver_of_ours_costs_what_one_on_djangos_signal_costs(
    record, django_assert_num_queries, sender
):
    on_djangos = record(django_model_signals.pre_delete, sender=sender)
    customer = _customer_with_orders()
    with CaptureQueriesContext(connection) as captured:
        customer.delete()
    djangos_sql = _normalized(captured.captured_queries)
    on_djangos.disconnect()
    record(signals.pre_delete, sender=sender)
    customer = _customer_with_orders()

    with django_assert_num_queries(len(djangos_sql)) as captured:
        customer.delete()

    assert _normalized(captured.captured_queries) == djangos_sql


# --- Muting with factory-boy: forwarders follow our receivers. -----------------


@pytest.mark.django_db
def test_mute_signals_mutes_ours_and_restores_them(record):
    saved = record(signals.post_save, sender=Customer)

    with mute_signals(signals.post_save):
        muted = CustomerFactory()
        listening_while_muted = django_model_signals.post_save.has_listeners(Customer)
    restored = CustomerFactory()

    assert not listening_while_muted
    assert django_model_signals.post_save.has_listeners(Customer)
    assert saved.values("instance") == [restored]
    assert muted.pk is not None


@pytest.mark.django_db
def test_muting_djangos_signal_mutes_ours_too(record):
    saved = record(signals.post_save, sender=Customer)

    with mute_signals(django_model_signals.post_save):
        CustomerFactory()
    restored = CustomerFactory()

    assert saved.values("instance") == [restored]


@pytest.fixture
def _post_save_forwarders_reconciled(record):
    # factory-boy's unmuting puts back a forwarder our signal no longer wants;
    # it goes when our signal's connections next change. Make that happen
    # before the check that nothing of ours is left on Django's signals.
    yield
    record(signals.post_save, sender=Note).disconnect()


@pytest.mark.django_db
@pytest.mark.usefixtures("_post_save_forwarders_reconciled")
def test_receiver_disconnected_while_djangos_signal_is_muted_is_not_called(record):
    gone = record(signals.post_save, sender=Note)
    with mute_signals(django_model_signals.post_save):
        gone.disconnect()

    NoteFactory()

    assert gone.calls == []


@pytest.mark.django_db
@pytest.mark.usefixtures("_post_save_forwarders_reconciled")
def test_forwarder_put_back_by_unmuting_djangos_signal_goes_once_called(record):
    gone = record(signals.post_save, sender=Note)
    with mute_signals(django_model_signals.post_save):
        gone.disconnect()

    NoteFactory()

    assert not django_model_signals.post_save.has_listeners(Note)


@pytest.mark.django_db
@pytest.mark.usefixtures("_post_save_forwarders_reconciled")
def test_receiver_reconnected_after_muting_djangos_signal_is_called_once(record):
    first = record(signals.post_save, sender=Note)
    with mute_signals(django_model_signals.post_save):
        first.disconnect()
    again = record(signals.post_save, sender=Note)

    note = NoteFactory()

    assert again.values("instance") == [note]
