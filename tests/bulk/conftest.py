"""Fixtures of the bulk-signal tests: receivers connected for one test, some rows."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import signals_app.bulk  # noqa: F401  (replaces QuerySet's bulk methods, once)
from testproject.shop.models import Customer, Order
from tests.recorder import Recorder

Listen = Callable[..., Recorder]


@pytest.fixture
def listen() -> Iterator[Listen]:
    """``listen(signal, **connect_options)``: a connected ``Recorder``, undone after."""
    made: list[tuple[Any, Any, dict[str, Any]]] = []

    def listen(signal: Any, receiver: Any = None, **options: Any) -> Any:
        receiver = receiver or Recorder()
        options.setdefault("weak", False)
        signal.connect(receiver, **options)
        made.append((signal, receiver, options))
        return receiver

    yield listen
    for signal, receiver, options in reversed(made):
        signal.disconnect(
            receiver,
            sender=options.get("sender"),
            dispatch_uid=options.get("dispatch_uid"),
        )


@pytest.fixture
def customer(db: None) -> Customer:
    return Customer.objects.create(name="Ada", email="ada@example.com")


def make_orders(customer: Customer, count: int, **fields: Any) -> list[Order]:
    """``count`` orders numbered 0.., totals 0.., saved with one bulk INSERT."""
    return Order.objects.bulk_create(
        [
            Order(customer=customer, number=f"n{index}", total=index, **fields)
            for index in range(count)
        ]
    )


@pytest.fixture
def orders(customer: Customer) -> list[Order]:
    """Five new orders, totals 0 to 4."""
    return make_orders(customer, 5)
