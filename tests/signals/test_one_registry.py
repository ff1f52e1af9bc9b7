"""
signals_app.signals: Django's 14 built-in signal objects are ours.

One object per signal, one list of receivers, one dispatch, whichever import
a receiver used; nothing connected, nothing changed.
"""

import gc
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core import signals as django_core_signals
from django.db import connection
from django.db.models import signals as django_model_signals
from django.dispatch import Signal as DjangoSignal
from django.test.utils import CaptureQueriesContext
from factory.django import mute_signals

from signals_app import signals
from signals_app.dispatch import Signal
from testproject.shop.models import Customer, Note, OrderLine, Product, Tag
from tests.factories import (
    CustomerFactory,
    NoteFactory,
    OrderFactory,
    OrderLineFactory,
    TagFactory,
)
from tests.recorder import BUILT_INS

REPO = Path(__file__).resolve().parents[2]
MODEL_SIGNALS = [
    "pre_init",
    "post_init",
    "pre_save",
    "post_save",
    "pre_delete",
    "post_delete",
    "m2m_changed",
]


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_each_builtin_is_djangos_own_object(name):
    ours, djangos = BUILT_INS[name]

    assert ours is djangos
    assert isinstance(ours, Signal)
    assert isinstance(ours, DjangoSignal)


@pytest.mark.parametrize("name", MODEL_SIGNALS)
def test_model_signals_stay_djangos_model_signals(name):
    assert isinstance(getattr(signals, name), django_model_signals.ModelSignal)
    assert isinstance(getattr(signals, name), signals.ModelSignal)


def test_there_are_fourteen_builtins():
    assert len(BUILT_INS) == 14


# --- Adoption, in a process of its own: what happens at import. ------------------

_ADOPTION = """
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
from django.db.models.signals import post_save

heard = []
def early(sender, **kwargs):
    heard.append("early")
post_save.connect(early, dispatch_uid="early")
django.setup()
def late(sender, **kwargs):
    heard.append("late")
post_save.connect(late)
post_save.send(sender=object)
from django.core import signals as core
from django.db.models import signals as models

names = [
    "class_prepared", "pre_init", "post_init", "pre_save", "post_save",
    "pre_delete", "post_delete", "m2m_changed", "pre_migrate", "post_migrate",
    "request_started", "request_finished", "got_request_exception",
    "setting_changed",
]
print(json.dumps({
    "counts": {
        name: len((getattr(models, name, None) or getattr(core, name)).receivers)
        for name in names
    },
    "class": type(post_save).__module__,
    "heard": heard,
}))
"""


def _run_adoption(variant):
    result = subprocess.run(
        [sys.executable, "-c", _ADOPTION, variant],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_installing_the_app_switches_the_builtins_without_adding_receivers():
    without = _run_adoption("without")
    installed = _run_adoption("installed")

    assert without["class"] == "django.db.models.signals"
    assert installed["class"] == "signals_app.signals"
    assert installed["counts"] == without["counts"]


def test_receivers_connected_before_the_switch_keep_their_order():
    installed = _run_adoption("installed")

    assert installed["heard"] == ["early", "late"]


# --- One registration order, whichever import connected. -----------------------


def test_receivers_of_either_import_run_in_registration_order(connect):
    heard = []
    connect(django_model_signals.post_save, lambda **kw: heard.append(1), weak=False)
    connect(signals.post_save, lambda **kw: heard.append(2), weak=False)
    connect(django_model_signals.post_save, lambda **kw: heard.append(3), weak=False)

    signals.post_save.send(sender=None)

    assert heard == [1, 2, 3]


def test_a_uid_connected_through_one_import_is_not_added_again_through_the_other(
    connect,
):
    heard = []
    connect(
        django_model_signals.pre_save,
        lambda **kw: heard.append("a"),
        weak=False,
        dispatch_uid="one",
    )
    connect(
        signals.pre_save, lambda **kw: heard.append("b"), weak=False, dispatch_uid="one"
    )

    signals.pre_save.send(sender=None)

    assert heard == ["a"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "muted", [signals.post_save, django_model_signals.post_save], ids=["ours", "django"]
)
def test_muting_either_name_mutes_the_one_signal(connect, muted):
    saved = []
    connect(
        signals.post_save,
        lambda instance, **kw: saved.append(instance),
        sender=Customer,
        weak=False,
    )

    with mute_signals(muted):
        CustomerFactory()
    restored = CustomerFactory()

    assert saved == [restored]


@pytest.mark.django_db
def test_a_muted_receiver_stays_muted_when_another_connects_during_the_mute(connect):
    first, during = [], []
    connect(
        signals.post_save,
        lambda instance, **kw: first.append(instance),
        sender=Customer,
        weak=False,
    )

    with mute_signals(django_model_signals.post_save):
        connect(
            signals.post_save,
            lambda instance, **kw: during.append(instance),
            sender=Customer,
            weak=False,
        )
        muted = CustomerFactory()
    after = CustomerFactory()

    # As on a signal of Django's: the mute takes away the receivers it found,
    # and factory-boy puts them back before those connected meanwhile.
    assert first == [after]
    assert during == [muted, after]


def test_send_robust_on_djangos_name_calls_every_receiver(connect):
    def broken(**kwargs):
        raise RuntimeError("broken")

    heard = []
    connect(signals.setting_changed, broken, weak=False)
    connect(signals.setting_changed, lambda **kw: heard.append("a"), weak=False)
    connect(signals.setting_changed, broken, weak=False, dispatch_uid="again")
    connect(signals.setting_changed, lambda **kw: heard.append("b"), weak=False)

    responses = django_core_signals.setting_changed.send_robust(
        sender=None, setting="X", value=1, enter=True
    )

    assert heard == ["a", "b"]
    assert [type(r).__name__ for _, r in responses[-4:]] == [
        "RuntimeError",
        "NoneType",
        "RuntimeError",
        "NoneType",
    ]


# --- has_listeners is exact, so Django's fast delete follows the receivers. ------


def _customer_with_orders():
    customer = CustomerFactory()
    for _ in range(2):
        order = OrderFactory(customer=customer, tags=[TagFactory()])
        OrderLineFactory(order=order)
        NoteFactory(order=order)
    return customer


def _normalized(queries):
    return [re.sub(r"\d+", "N", query["sql"]) for query in queries]


def _cascade_sql():
    customer = _customer_with_orders()
    with CaptureQueriesContext(connection) as captured:
        customer.delete()
    return _normalized(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("unrelated", [Tag, Product])
def test_a_receiver_for_an_unrelated_model_leaves_a_cascade_unchanged(
    connect, unrelated
):
    idle = _cascade_sql()
    connect(signals.pre_delete, lambda **kw: None, sender=unrelated, weak=False)

    assert _cascade_sql() == idle


@pytest.mark.django_db
def test_fast_delete_comes_back_when_a_weak_delete_receiver_is_collected():
    idle = _cascade_sql()

    def on_delete(**kwargs):
        pass

    signals.pre_delete.connect(on_delete, sender=OrderLine)
    listened = _cascade_sql()
    del on_delete
    gc.collect()

    assert len(listened) == len(idle) + 1
    assert not signals.pre_delete.has_listeners(OrderLine)
    assert _cascade_sql() == idle


# --- Threads connecting and disconnecting never cost a steady receiver a send. ---


@pytest.mark.django_db
def test_steady_receiver_hears_every_init_while_other_threads_churn():
    heard = []
    lock = threading.Lock()

    def steady(**kwargs):
        with lock:
            heard.append(1)

    signals.post_init.connect(steady, sender=Note)
    stop = threading.Event()

    def churn(sender):
        def other(**kwargs):
            pass

        while not stop.is_set():
            signals.post_init.connect(other, sender=sender)
            signals.post_init.disconnect(other, sender=sender)
            signals.post_init.connect(other)
            signals.post_init.disconnect(other)

    def build(count):
        for _ in range(count):
            Note(text="x")

    churners = [threading.Thread(target=churn, args=(m,)) for m in (Note, Tag, None)]
    builders = [threading.Thread(target=build, args=(1500,)) for _ in range(4)]
    try:
        for thread in churners + builders:
            thread.start()
        for thread in builders:
            thread.join()
    finally:
        stop.set()
        for thread in churners:
            thread.join()
        signals.post_init.disconnect(steady, sender=Note)

    assert len(heard) == 4 * 1500
