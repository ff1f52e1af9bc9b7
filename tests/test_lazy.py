"""
Lazy senders (signals_app.lazy): ``"app_label.ModelName"`` strings resolve
through an app registry, whenever the model gets there.
"""

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps as project_apps
from django.contrib.auth.models import User
from django.db import models
from django.db.models import signals as django_model_signals
from django.test.utils import isolate_apps

from signals_app import lazy, signals
from signals_app.dispatch import receiver
from testproject.shop.models import Customer, Order, PriorityOrder
from tests.factories import OrderFactory, TagFactory
from tests.recorder import (
    Record,
    Recorder,
    recording,
)

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("signals_left_clean")


@pytest.fixture
def record() -> Iterator[Record]:
    with recording() as record:
        yield record


@pytest.fixture
def registry() -> Iterator[object]:
    """An app registry with the shop app and none of its models, yet."""
    with isolate_apps("testproject.shop") as isolated:
        yield isolated


def _define_coupon():
    class Coupon(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "shop"

    return Coupon


def _swallow(**kwargs):
    pass


# --- Resolution ----------------------------------------------------------------


@pytest.mark.django_db
def test_lazy_sender_is_the_model_it_names(record):
    saved = record(signals.post_save, sender="shop.Order")

    order = OrderFactory()

    assert saved.senders == [Order]
    assert saved.values("instance") == [order]


@pytest.mark.parametrize("reference", ["shop.order", "shop.ORDER"])
def test_model_name_is_case_insensitive(record, reference):
    built = record(signals.pre_init, sender=reference)

    Order(number="N-1")
    Customer(name="not this one")

    assert built.senders == [Order]


def test_proxy_and_third_party_models(record):
    built = record(signals.post_init, sender="shop.PriorityOrder")
    users = record(signals.post_init, sender="auth.User")

    PriorityOrder(number="P-1")
    Order(number="O-1")
    User(username="una")

    assert built.senders == [PriorityOrder]
    assert users.senders == [User]


@pytest.mark.django_db
def test_auto_created_through_model(record):
    changed = record(signals.m2m_changed, sender="shop.Order_tags")
    order, tag = OrderFactory(), TagFactory()

    order.tags.add(tag)

    assert changed.senders == [Order.tags.through] * 2
    assert changed.values("action") == ["pre_add", "post_add"]


def test_connected_before_its_model_exists(record, registry):
    built = record(signals.pre_init, sender="shop.Coupon", apps=registry)
    waiting = [pending.model for pending in lazy.pending(registry)]

    Coupon = _define_coupon()
    Coupon()

    assert waiting == ["shop.Coupon"]
    assert lazy.pending(registry) == []
    assert built.senders == [Coupon]


def test_connected_after_its_model_exists(record, registry):
    Coupon = _define_coupon()

    built = record(signals.pre_init, sender="shop.Coupon", apps=registry)
    Coupon()

    assert lazy.pending(registry) == []
    assert built.senders == [Coupon]


def test_resolves_in_the_registry_given_only(record, registry):
    record(signals.pre_init, sender="shop.Order", apps=registry)

    Order(number="O-1")

    assert not signals.pre_init.has_listeners(Order)
    assert [pending.model for pending in lazy.pending(registry)] == ["shop.Order"]
    assert lazy.pending(project_apps) == []


_CONNECT_BEFORE_SETUP = """
import json, os, sys

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
from signals_app import lazy
from signals_app.signals import post_save


def receiver(**kwargs):
    pass


post_save.connect(receiver, sender="shop.Order")
waiting = [pending.model for pending in lazy.pending()]

import django

django.setup()
from testproject.shop.models import Customer, Order

print(json.dumps({
    "waiting before setup": waiting,
    "waiting after setup": [pending.model for pending in lazy.pending()],
    "listening for Order": post_save.has_listeners(Order),
    "listening for Customer": post_save.has_listeners(Customer),
}))
"""


def test_connected_before_django_is_set_up():
    # Before Django loads the app the signal is still Django's, and so is
    # the wait for the model; the app takes the connection over as it loads
    # (a timeout: Django's own connect() run on our object used to hang).
    result = subprocess.run(
        [sys.executable, "-c", _CONNECT_BEFORE_SETUP],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert json.loads(result.stdout) == {
        "waiting before setup": [],
        "waiting after setup": [],
        "listening for Order": True,
        "listening for Customer": False,
    }


def test_receiver_decorator_takes_a_lazy_sender():
    recorder = Recorder()

    decorated = receiver(signals.pre_init, sender="shop.Order")(recorder.receive)
    Order(number="O-1")
    disconnected = signals.pre_init.disconnect(recorder.receive, sender=Order)

    assert decorated == recorder.receive
    assert recorder.senders == [Order]
    assert disconnected is True


def test_receiver_is_held_weakly_once_resolved(registry):
    def built(**kwargs):
        pass

    signals.pre_init.connect(built, sender="shop.Coupon", apps=registry)
    Coupon = _define_coupon()
    connected = signals.pre_init.has_listeners(Coupon)
    del built
    gc.collect()

    assert connected
    assert not signals.pre_init.has_listeners(Coupon)


# --- Disconnection --------------------------------------------------------------


def test_disconnect_with_a_lazy_sender_returns_none(record):
    built = record(signals.pre_init, sender=Order)

    result = signals.pre_init.disconnect(built.receive, sender="shop.Order")
    Order(number="O-1")

    assert result is None
    assert built.calls == []
    assert not signals.pre_init.has_listeners(Order)


def test_disconnect_before_the_model_exists(registry):
    recorder = Recorder()
    signals.pre_init.connect(recorder.receive, sender="shop.Coupon", apps=registry)

    result = signals.pre_init.disconnect(
        recorder.receive, sender="shop.Coupon", apps=registry
    )
    Coupon = _define_coupon()
    Coupon()

    assert result is None
    assert recorder.calls == []
    assert not signals.pre_init.has_listeners(Coupon)


def _waiting_disconnects(signal, registry, connect_uid, disconnect_uid):
    """Whether disconnect() undid a lazy connection made before its model existed."""
    recorder = Recorder()
    signal.connect(
        recorder.receive, sender="shop.Coupon", apps=registry, dispatch_uid=connect_uid
    )
    signal.disconnect(
        recorder.receive,
        sender="shop.Coupon",
        apps=registry,
        dispatch_uid=disconnect_uid,
    )
    Coupon = _define_coupon()
    connected = signal.has_listeners(Coupon)
    signal.disconnect(recorder.receive, sender=Coupon, dispatch_uid=connect_uid)
    return not connected


@pytest.mark.parametrize(
    ("connect_uid", "disconnect_uid"),
    [(None, None), ("uid", "uid"), ("uid", None), (None, "uid"), ("uid", "other")],
)
def test_waiting_connections_are_disconnected_by_djangos_keys(
    connect_uid, disconnect_uid
):
    with isolate_apps("testproject.shop") as theirs:
        djangos = _waiting_disconnects(
            django_model_signals.ModelSignal(), theirs, connect_uid, disconnect_uid
        )
    with isolate_apps("testproject.shop") as ours:
        assert (
            _waiting_disconnects(
                signals.ModelSignal(), ours, connect_uid, disconnect_uid
            )
            is djangos
        )


def test_unhashable_dispatch_uid_of_a_waiting_connection_fails_at_connect(registry):
    with pytest.raises(TypeError, match="unhashable"):
        signals.post_save.connect(
            _swallow, sender="shop.Coupon", apps=registry, dispatch_uid=["a", "list"]
        )

    assert lazy.pending(registry) == []


# --- Mistakes fail at connect time -----------------------------------------------


MALFORMED = ["Order", "a.b.c", "a.", ".Order", "shop.Order.extra"]


@pytest.mark.parametrize("reference", MALFORMED)
def test_malformed_reference_is_refused_at_connect(reference):
    with pytest.raises(ValueError, match=r"app_label\.ModelName") as raised:
        signals.post_save.connect(_swallow, sender=reference)

    assert f"'{reference}'" in str(raised.value)
    assert lazy.pending() == []
    assert signals.post_save.receivers == []


@pytest.mark.parametrize("reference", MALFORMED)
def test_malformed_reference_is_refused_at_disconnect(reference):
    with pytest.raises(ValueError, match=r"app_label\.ModelName"):
        signals.post_save.disconnect(_swallow, sender=reference)


def test_receiver_that_is_not_callable_is_refused_at_connect(registry):
    with pytest.raises(TypeError, match="callable"):
        signals.pre_init.connect("not a function", sender="shop.Coupon", apps=registry)

    assert lazy.pending(registry) == []


def test_receiver_without_kwargs_is_refused_at_connect(registry):
    def no_kwargs(sender):
        pass

    with pytest.raises(ValueError, match=r"\*\*kwargs"):
        signals.pre_init.connect(no_kwargs, sender="shop.Coupon", apps=registry)

    assert lazy.pending(registry) == []


class _Unreferenceable:
    """A callable that cannot be weakly referenced (no __weakref__ slot)."""

    __slots__ = ()

    def __call__(self, **kwargs):
        pass


def test_weak_receiver_that_cannot_be_weakly_referenced_is_refused_at_connect(
    registry,
):
    with pytest.raises(TypeError, match="weak"):
        signals.pre_init.connect(
            _Unreferenceable(), sender="shop.Coupon", apps=registry
        )

    assert lazy.pending(registry) == []
    # Nor does defining the model fail, later and far from the mistake.
    _define_coupon()


def test_unknown_delivery_with_a_lazy_sender_fails_at_connect():
    def on_save(**kwargs):
        pass

    with pytest.raises(ValueError, match="Unknown delivery 'later'"):
        signals.post_save.connect(on_save, sender="shop.Nope", delivery="later")

    assert lazy.pending() == []
