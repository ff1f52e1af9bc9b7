"""signals_app.inspector: what collected() reports about the receivers connected."""

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import ANY

import pytest
from django.apps import apps
from django.contrib.auth.models import update_last_login
from django.core import signals as django_core_signals
from django.db.backends.signals import connection_created
from django.db.models import signals as django_model_signals

from signals_app import lazy, signals
from signals_app.dispatch import Signal
from signals_app.dispatch.names import signal_name
from signals_app.inspector import (
    ReceiverReport,
    SignalReport,
    UnknownSender,
    UnknownSignal,
    collect,
)
from testproject.shop import models as shop_models
from testproject.shop.models import Customer, Order
from tests.recorder import Recorder

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


def collected(**filters: Any) -> list[SignalReport]:
    """
    ``collect(**filters)``, keeping the receivers defined in the tests: the
    apps of the test project (django-tasks-db, signals_app) and, with
    ``django=True``, Django connect receivers of their own.
    """
    reports = [
        SignalReport(
            report.name,
            tuple(r for r in report.receivers if _in_tests(r)),
        )
        for report in collect(**filters)
    ]
    return [report for report in reports if report.receivers]


def _in_tests(receiver: ReceiverReport) -> bool:
    return (receiver.defined_at or "").startswith("tests/")


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """Every test starts, and ends, with nothing of the tests connected."""
    assert collected() == []
    yield
    assert collected() == []


@pytest.fixture
def never_resolved() -> Iterator[None]:
    """on_save connected to post_save for "shop.Ordr", a model that doesn't exist."""
    signals.post_save.connect(on_save, sender="shop.Ordr", dispatch_uid="typo")
    yield
    signals.post_save.disconnect(sender="shop.Ordr", dispatch_uid="typo")
    assert lazy.pending(apps) == []


def test_nothing_connected():
    assert collected() == []


def test_receiver_for_a_model(connect):
    connect(signals.post_save, on_save, sender=Order, dispatch_uid="test.saved")

    assert collected() == [
        SignalReport(
            "django.db.models.signals.post_save",
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

    reports = collected()

    assert [r.name for r in reports] == [
        "django.db.models.signals.pre_save",
        "django.db.models.signals.post_save",
        "django.db.models.signals.post_delete",
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

    [[receiver]] = [r.receivers for r in collected()]

    assert receiver.connected_at == f"{HERE}:{line}"


def test_how_it_is_held_and_called(connect):
    connect(signals.post_save, on_save, weak=False, dispatch_uid=("test", 1))
    connect(signals.post_save, on_save_async, sender=Order)

    [[strong, asynchronous]] = [r.receivers for r in collected()]

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

    [receivers] = [r.receivers for r in collected()]

    assert [(r.receiver, r.defined_at) for r in receivers] == [
        ("tests.test_inspector.Auditor.on_save", defined(Auditor.on_save)),
        # A callable object: its class, and the __call__ that runs.
        ("tests.recorder.Recorder", defined(Recorder.__call__, "tests/recorder.py")),
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

    assert [(r.name, r.receivers) for r in collected()] == [
        (
            "django.db.models.signals.m2m_changed",
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

    post_save, pre_delete, post_delete = collected()

    [warning] = pre_delete.receivers[0].warnings
    assert warning.startswith(
        "tests.test_inspector.on_save receives django.db.models.signals.pre_delete "
        "from any sender, which turns off Django's fast delete for every model"
    )
    assert post_save.receivers[0].warnings == ()
    assert post_delete.receivers[0].warnings == ()


def test_pending_lazy_sender(never_resolved):
    assert collected() == [
        SignalReport(
            "django.db.models.signals.post_save",
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
    [[pending]] = [r.receivers for r in collected()]
    assert pending.connected_at.startswith(f"{HERE}:")


def test_filter_by_signal(connect):
    connect(signals.post_save, on_save)
    connect(signals.pre_save, on_save)
    connect(signals.request_started, on_save)

    def names(**filters: Any) -> list[str]:
        return [r.name for r in collected(**filters)]

    assert names(signals=["post_save"]) == ["django.db.models.signals.post_save"]
    assert names(signals=["django.core.signals.request_started", "pre_save"]) == [
        "django.db.models.signals.pre_save",
        "django.core.signals.request_started",
    ]
    # Known, but nothing is connected to it.
    assert names(signals=["post_delete"]) == []


def test_a_signal_is_found_by_any_module_that_holds_it(connect):
    connect(signals.post_save, on_save)

    assert [r.name for r in collected(signals=["signals_app.signals.post_save"])] == [
        "django.db.models.signals.post_save"
    ]


def test_filter_by_sender(connect, never_resolved):
    connect(signals.post_save, on_save_async, sender=Order)
    connect(signals.post_save, on_save, sender=Customer)
    connect(signals.post_delete, on_save, sender=Order)
    connect(signals.post_delete, on_save)

    def found(*senders: str) -> list[tuple[str, str]]:
        return [
            (r.name.rpartition(".")[2], receiver.sender)
            for r in collected(senders=senders)
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
    mine = (
        "tests.test_inspector.on_save",
        "django.contrib.auth.models.update_last_login",
    )

    def found(*labels: str, django: bool = False) -> list[tuple[str, str, str]]:
        return [
            (r.name.rpartition(".")[2], receiver.receiver, receiver.sender)
            for r in collect(app_labels=labels, django=django)
            for receiver in r.receivers
            if receiver.receiver in mine
        ]

    assert found("shop") == [
        ("post_save", "tests.test_inspector.on_save", "shop.Order")
    ]
    # Defined in Django: listed with django=True, then also where auth's own
    # ready() connects it.
    assert found("auth") == [
        ("post_delete", "tests.test_inspector.on_save", "auth.User")
    ]
    assert found("auth", django=True) == [
        ("post_delete", "tests.test_inspector.on_save", "auth.User"),
        ("pre_migrate", "django.contrib.auth.models.update_last_login", "any"),
        ("user_logged_in", "django.contrib.auth.models.update_last_login", "any"),
    ]
    assert found("contenttypes") == []
    # Filters combine.
    assert collected(app_labels=["auth"], senders=["shop.Order"]) == []


def test_unknown_names_are_errors():
    with pytest.raises(UnknownSignal, match="No signal named 'post_sve'"):
        collect(signals=["post_sve"])
    with pytest.raises(LookupError, match="nosuchapp"):
        collect(app_labels=["nosuchapp"])


def test_unknown_senders_are_errors(never_resolved):
    with pytest.raises(
        UnknownSender, match=r"^Sender 'shop\.Typo': app 'shop' has no model 'Typo'\.$"
    ):
        collect(senders=["shop.Typo"])
    with pytest.raises(
        UnknownSender,
        match=r"^Sender 'nope\.Order': no installed app has the label 'nope'\.$",
    ):
        collect(senders=["nope.Order"])
    with pytest.raises(UnknownSender, match=r"not of the form app_label\.ModelName"):
        collect(senders=["Order"])
    # Known: a model nobody listens to, an auto-created one, a pending sender.
    assert collected(senders=["shop.Tag", "shop.order_tags"]) == []
    [[pending]] = [r.receivers for r in collected(senders=["SHOP.ORDR"])]
    assert pending.sender == "shop.Ordr"


def test_receivers_connected_through_djangos_modules_and_ours_are_one_list(connect):
    auditor = Auditor()
    connect(signals.post_save, on_save, sender=Order)
    connect(django_model_signals.post_save, on_save_async)
    connect(signals.post_save, auditor.on_save, sender=Customer)
    connect(django_core_signals.request_finished, on_save)
    connect(signals.request_finished, on_save_async)

    reports = collected()

    assert [
        (r.name, [(receiver.receiver, receiver.sender) for receiver in r.receivers])
        for r in reports
    ] == [
        (
            "django.db.models.signals.post_save",
            [
                ("tests.test_inspector.on_save", "shop.Order"),
                ("tests.test_inspector.on_save_async", "any"),
                ("tests.test_inspector.Auditor.on_save", "shop.Customer"),
            ],
        ),
        (
            "django.core.signals.request_finished",
            [
                ("tests.test_inspector.on_save", "any"),
                ("tests.test_inspector.on_save_async", "any"),
            ],
        ),
    ]
    # One dispatcher: where each was connected is known whichever import it used.
    assert {
        receiver.connected_at.partition(":")[0]
        for r in reports
        for receiver in r.receivers
    } == {"tests/conftest.py"}


def test_delete_receivers_connected_through_djangos_module_are_warned_about(connect):
    connect(django_model_signals.post_delete, on_save)

    [[receiver]] = [r.receivers for r in collected(signals=["post_delete"])]

    [warning] = receiver.warnings
    assert warning.startswith(
        "tests.test_inspector.on_save receives django.db.models.signals.post_delete "
        "from any sender, which turns off Django's fast delete"
    )


def test_third_party_receivers_are_listed():
    # django-tasks-db keeps its task rows' run_after filled in from pre_save.
    [pre_save] = collect(signals=["pre_save"])

    assert (
        "django_tasks_db.signal_handlers.set_run_after",
        "django_tasks_database.DBTaskResult",
    ) in [(receiver.receiver, receiver.sender) for receiver in pre_save.receivers]


def test_receivers_defined_in_django_are_listed_with_django(connect):
    connect(signals.post_migrate, on_save)

    def receivers(**filters: Any) -> list[str]:
        [post_migrate] = collect(signals=["post_migrate"], **filters)
        return [receiver.receiver for receiver in post_migrate.receivers]

    with_django = receivers(django=True)

    assert receivers() == ["tests.test_inspector.on_save"]
    # Django's apps connected theirs first, in their ready().
    assert "django.contrib.auth.management.create_permissions" in with_django
    assert with_django[-1] == "tests.test_inspector.on_save"
    assert [name for name in with_django if not name.startswith("django.")] == [
        "tests.test_inspector.on_save"
    ]


def test_signals_on_djangos_own_dispatcher_are_listed_with_django(connect):
    sender = object()
    connect(connection_created, on_save, sender=sender)
    connect(connection_created, on_save, sender=apps.get_app_config("shop"))
    connect(
        connection_created,
        on_save_async,
        sender=Order,
        weak=False,
        dispatch_uid="test.created",
    )
    # Named by the one naming rule; found by the module that defines it too.
    name = signal_name(connection_created)
    defining_module = "django.db.backends.signals.connection_created"

    with pytest.raises(UnknownSignal, match="connection_created"):
        collect(signals=["connection_created"])
    assert collected() == []
    assert collected(django=True, signals=["connection_created"]) == [
        SignalReport(
            name,
            (
                # Django records no connect() location, and a sender that
                # cannot be weakly referenced by its id alone.
                report(
                    sender=f"<id {id(sender):#x}>",
                    sender_kind="object",
                    connected_at=None,
                ),
                report(
                    sender="<ShopConfig: shop>", sender_kind="object", connected_at=None
                ),
                report(
                    receiver="tests.test_inspector.on_save_async",
                    defined_at=defined(on_save_async),
                    sender="shop.Order",
                    sender_kind="model",
                    weak=False,
                    dispatch_uid="test.created",
                    is_async=True,
                    connected_at=None,
                ),
            ),
        )
    ]
    assert [r.name for r in collected(django=True, signals=[defining_module])] == [name]
