"""signals_app.inspector: what collect() reports about the receivers connected."""

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import ANY

import pytest
from django.apps import apps
from django.contrib.auth.models import update_last_login
from django.core import signals as django_core_signals
from django.db.models import signals as django_model_signals

from signals_app import lazy, signals
from signals_app.dispatch import Signal
from signals_app.inspector import ReceiverReport, SignalReport, UnknownSignal, collect
from testproject.shop import models as shop_models
from testproject.shop.models import Customer, Order
from tests.helpers import Recorder

HERE = "tests/test_inspector.py"


def on_save(sender: Any, **kwargs: Any) -> None:
    pass


async def on_save_async(sender: Any, **kwargs: Any) -> None:
    pass


class Auditor:
    def on_save(self, sender: Any, **kwargs: Any) -> None:
        pass


def logged(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> Any:
        return function(**kwargs)

    return wrapper


@logged
def on_save_logged(sender: Any, **kwargs: Any) -> None:
    pass


def defined(function: Any, path: str = HERE) -> str:
    """Where Python says ``function`` starts: its first decorator, else its def."""
    return f"{path}:{function.__code__.co_firstlineno}"


def report(**fields: Any) -> ReceiverReport:
    """A ReceiverReport with the values most tests share as defaults."""
    defaults: dict[str, Any] = {
        "receiver": "tests.test_inspector.on_save",
        "defined_at": defined(on_save),
        "sender": "any",
        "sender_kind": "any",
        "weak": True,
        "dispatch_uid": None,
        "is_async": False,
        "delivery": "now",
        "connected_at": ANY,
    }
    return ReceiverReport(**{**defaults, **fields})


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """Every test starts, and ends, with nothing connected to our signals."""
    assert collect() == []
    yield
    assert collect() == []
    forwarders = [
        receiver
        for signal in collect(django=True)
        for receiver in signal.receivers
        if receiver.forwards_to
    ]
    assert forwarders == []


@pytest.fixture
def never_resolved() -> Iterator[None]:
    """on_save connected to post_save for "shop.Ordr", a model that doesn't exist."""
    signals.post_save.connect(on_save, sender="shop.Ordr", dispatch_uid="typo")
    yield
    signals.post_save.disconnect(sender="shop.Ordr", dispatch_uid="typo")
    assert lazy.pending(apps) == []


def test_nothing_connected():
    assert collect() == []


def test_receiver_for_a_model(connect):
    connect(signals.post_save, on_save, sender=Order, dispatch_uid="test.saved")

    assert collect() == [
        SignalReport(
            "signals_app.signals.post_save",
            (
                report(
                    sender="shop.Order", sender_kind="model", dispatch_uid="test.saved"
                ),
            ),
        )
    ]


def test_signals_in_declaration_order_receivers_in_registration_order(connect):
    connect(signals.post_delete, on_save, sender=Order)
    connect(signals.post_save, on_save, sender=Order)
    connect(signals.post_save, on_save_async, sender=Customer)
    connect(signals.pre_save, on_save, sender="shop.Customer")

    reports = collect()

    assert [r.name for r in reports] == [
        "signals_app.signals.pre_save",
        "signals_app.signals.post_save",
        "signals_app.signals.post_delete",
    ]
    assert [(r.receiver, r.sender) for r in reports[1].receivers] == [
        ("tests.test_inspector.on_save", "shop.Order"),
        ("tests.test_inspector.on_save_async", "shop.Customer"),
    ]
    assert reports[0].receivers == (
        report(sender="shop.Customer", sender_kind="model"),
    )


def test_where_it_was_connected(request):
    line = inspect.currentframe().f_lineno + 1
    signals.post_save.connect(on_save, sender="shop.Order")
    request.addfinalizer(lambda: signals.post_save.disconnect(on_save, sender=Order))

    [[receiver]] = [r.receivers for r in collect()]

    assert receiver.connected_at == f"{HERE}:{line}"


def test_how_it_is_held_and_called(connect):
    connect(signals.post_save, on_save, weak=False, dispatch_uid=("test", 1))
    connect(signals.post_save, on_save_async, sender=Order)

    [[strong, asynchronous]] = [r.receivers for r in collect()]

    assert strong == report(weak=False, dispatch_uid="('test', 1)")
    assert asynchronous == report(
        receiver="tests.test_inspector.on_save_async",
        defined_at=defined(on_save_async),
        sender="shop.Order",
        sender_kind="model",
        is_async=True,
    )


def test_where_it_is_defined(connect):
    auditor = Auditor()
    recorder = Recorder()
    connect(signals.post_save, auditor.on_save)
    connect(signals.post_save, recorder)
    connect(signals.post_save, on_save_logged)
    connect(signals.post_save, functools.partial(on_save), weak=False)

    [receivers] = [r.receivers for r in collect()]

    assert [(r.receiver, r.defined_at) for r in receivers] == [
        ("tests.test_inspector.Auditor.on_save", defined(Auditor.on_save)),
        # A callable object: its class, and the __call__ that runs.
        ("tests.helpers.Recorder", defined(Recorder.__call__, "tests/helpers.py")),
        # Behind functools.wraps: the decorated function, not the wrapper.
        ("tests.test_inspector.on_save_logged", defined(on_save_logged.__wrapped__)),
        ("functools.partial(tests.test_inspector.on_save)", defined(on_save)),
    ]


def test_senders(connect, monkeypatch):
    # A signal declared at module level in an installed app is found too.
    order_paid = Signal()
    monkeypatch.setattr(shop_models, "order_paid", order_paid, raising=False)
    connect(signals.m2m_changed, on_save, sender=Order.tags.through)
    connect(order_paid, on_save, sender="web")
    connect(order_paid, on_save, sender=Auditor)

    assert [(r.name, r.receivers) for r in collect()] == [
        (
            "signals_app.signals.m2m_changed",
            (report(sender="shop.Order_tags", sender_kind="model"),),
        ),
        (
            "testproject.shop.models.order_paid",
            (
                report(sender="'web'", sender_kind="object"),
                report(sender="Auditor", sender_kind="object"),
            ),
        ),
    ]


def test_any_sender_on_a_delete_signal_is_warned_about(connect):
    connect(signals.pre_delete, on_save)
    connect(signals.post_delete, on_save, sender=Order)
    connect(signals.post_save, on_save)

    post_save, pre_delete, post_delete = collect()

    [warning] = pre_delete.receivers[0].warnings
    assert warning.startswith(
        "tests.test_inspector.on_save receives signals_app.signals.pre_delete "
        "from any sender, which turns off Django's fast delete for every model"
    )
    assert post_save.receivers[0].warnings == ()
    assert post_delete.receivers[0].warnings == ()


def test_pending_lazy_sender(never_resolved):
    assert collect() == [
        SignalReport(
            "signals_app.signals.post_save",
            (
                report(
                    sender="shop.Ordr",
                    sender_kind="pending",
                    weak=True,
                    dispatch_uid="typo",
                ),
            ),
        )
    ]
    [[pending]] = [r.receivers for r in collect()]
    assert pending.connected_at.startswith(f"{HERE}:")


def test_filter_by_signal(connect):
    connect(signals.post_save, on_save)
    connect(signals.pre_save, on_save)
    connect(signals.request_started, on_save)

    def names(**filters: Any) -> list[str]:
        return [r.name for r in collect(**filters)]

    assert names(signals=["post_save"]) == ["signals_app.signals.post_save"]
    assert names(signals=["signals_app.signals.request_started", "pre_save"]) == [
        "signals_app.signals.pre_save",
        "signals_app.signals.request_started",
    ]
    # Known, but nothing is connected to it.
    assert names(signals=["post_delete"]) == []


def test_filter_by_sender(connect, never_resolved):
    connect(signals.post_save, on_save_async, sender=Order)
    connect(signals.post_save, on_save, sender=Customer)
    connect(signals.post_delete, on_save, sender=Order)
    connect(signals.post_delete, on_save)

    def found(*senders: str) -> list[tuple[str, str]]:
        return [
            (r.name.rpartition(".")[2], receiver.sender)
            for r in collect(senders=senders)
            for receiver in r.receivers
        ]

    assert found("SHOP.order") == [
        ("post_save", "shop.Order"),
        ("post_delete", "shop.Order"),
    ]
    assert found("shop.Ordr", "shop.Customer") == [
        ("post_save", "shop.Customer"),
        ("post_save", "shop.Ordr"),
    ]


def test_filter_by_app(connect):
    connect(signals.post_save, on_save, sender=Order)
    connect(signals.post_delete, on_save, sender="auth.User")
    # Defined in django.contrib.auth, for any sender.
    connect(signals.pre_migrate, update_last_login)

    def found(*labels: str) -> list[tuple[str, str]]:
        return [
            (receiver.receiver, receiver.sender)
            for r in collect(app_labels=labels)
            for receiver in r.receivers
        ]

    assert found("shop") == [("tests.test_inspector.on_save", "shop.Order")]
    assert found("auth") == [
        ("tests.test_inspector.on_save", "auth.User"),
        ("django.contrib.auth.models.update_last_login", "any"),
    ]
    assert found("contenttypes") == []
    # Filters combine.
    assert collect(app_labels=["auth"], senders=["shop.Order"]) == []


def test_unknown_names_are_errors():
    with pytest.raises(UnknownSignal, match="No signal named 'post_sve'"):
        collect(signals=["post_sve"])
    with pytest.raises(UnknownSignal):
        collect(signals=["django.db.models.signals.post_save"])
    assert collect(signals=["django.db.models.signals.post_save"], django=True) == []
    with pytest.raises(LookupError, match="nosuchapp"):
        collect(app_labels=["nosuchapp"])


def test_django_signals(connect):
    sender = object()
    connect(signals.post_save, on_save, sender=Order)
    connect(django_model_signals.post_save, on_save, dispatch_uid="test.django")
    connect(django_model_signals.pre_save, on_save, sender=sender)
    connect(
        django_model_signals.pre_migrate, on_save, sender=apps.get_app_config("shop")
    )

    by_name = {r.name: r.receivers for r in collect(django=True)}

    forwarder, django_receiver = by_name["django.db.models.signals.post_save"]
    assert forwarder == report(
        receiver=ANY,
        defined_at=ANY,
        sender="shop.Order",
        sender_kind="model",
        weak=False,
        connected_at=None,
        forwards_to="signals_app.signals.post_save",
    )
    assert forwarder.receiver.startswith("signals_app.wiring.")
    assert forwarder.defined_at.startswith("signals_app/wiring.py:")
    assert django_receiver == report(dispatch_uid="test.django", connected_at=None)
    # After django_tasks_db's own pre_save receiver.
    assert by_name["django.db.models.signals.pre_save"][-1] == report(
        sender=f"<id {id(sender):#x}>", sender_kind="object", connected_at=None
    )
    assert by_name["django.db.models.signals.pre_migrate"][-1] == report(
        sender="<ShopConfig: shop>", sender_kind="object", connected_at=None
    )
    # Django's own receivers are there too.
    assert "django.db.close_old_connections" in [
        r.receiver for r in by_name["django.core.signals.request_started"]
    ]
    assert by_name["signals_app.signals.post_save"] == (
        report(sender="shop.Order", sender_kind="model"),
    )


def test_django_delete_signals_for_any_sender_are_warned_about(connect):
    connect(signals.post_delete, on_save)
    connect(django_model_signals.pre_delete, on_save)

    by_name = {
        r.name: r.receivers
        for r in collect(django=True, signals=["pre_delete", "post_delete"])
    }

    [[ours]] = [r.warnings for r in by_name["signals_app.signals.post_delete"]]
    [[django]] = [r.warnings for r in by_name["django.db.models.signals.pre_delete"]]
    [[forwarder]] = [
        r.warnings for r in by_name["django.db.models.signals.post_delete"]
    ]
    assert ours.startswith("tests.test_inspector.on_save receives signals_app.")
    assert django.startswith(
        "tests.test_inspector.on_save receives django.db.models.signals.pre_delete "
        "from any sender"
    )
    assert forwarder.startswith(
        "The signals_app forwarder to signals_app.signals.post_delete receives "
        "django.db.models.signals.post_delete from any sender"
    )
    assert forwarder.endswith(
        "It is there because a receiver of signals_app.signals.post_delete has "
        "no sender."
    )


def test_request_signals_from_django_core(connect):
    connect(django_core_signals.request_finished, on_save_async)

    [[*_, receiver]] = [
        r.receivers
        for r in collect(django=True, signals=["django.core.signals.request_finished"])
    ]

    assert receiver == report(
        receiver="tests.test_inspector.on_save_async",
        defined_at=defined(on_save_async),
        is_async=True,
        connected_at=None,
    )
