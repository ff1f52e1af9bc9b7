"""
Bulk writes run where Django's own run them: on the router's write database.

The router sends reads to "other" and writes to "default"; "other" holds the
same tables, empty, so a read that went there would find nothing.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from signals_app.bulk import (
    OldValues,
    post_bulk_create,
    post_bulk_update,
    post_update,
    pre_bulk_update,
)
from testproject.shop.models import Customer, Order
from tests.bulk.routers import PRIMARY_REPLICA

pytestmark = [
    pytest.mark.django_db(databases=["default", "other"]),
    pytest.mark.usefixtures("routed"),
]


@pytest.fixture
def routed():
    with override_settings(DATABASE_ROUTERS=PRIMARY_REPLICA):
        yield


@pytest.fixture
def customer():
    return Customer.objects.create(name="Ada", email="ada@example.com")


def test_bulk_create_sends_the_write_database(listen, customer):
    heard = listen(post_bulk_create, sender=Order)

    Order.objects.bulk_create([Order(customer=customer, number="1")])

    assert [call["using"] for call in heard.received()] == ["default"]


def test_bulk_update_sends_the_write_database_and_its_old_values(listen, customer):
    order = Order.objects.create(customer=customer, number="1", total=3)
    before = listen(pre_bulk_update, sender=Order, when=OldValues())
    after = listen(post_bulk_update, sender=Order, when=OldValues())
    order.total = 4

    Order.objects.bulk_update([order], ["total"])

    for heard in (before, after):
        [call] = heard.received()
        assert call["using"] == "default"
        assert call["old_values"] == {"total": [Decimal(3)]}


def test_update_sends_the_write_database_and_its_old_values(listen, customer):
    order = Order.objects.create(customer=customer, number="1", total=3)
    heard = listen(post_update, sender=Order, when=OldValues())

    Order.objects.update(total=4)

    [call] = heard.received()
    assert call["using"] == "default"
    assert call["pks"] == [order.pk]
    assert call["old_values"] == {"total": [Decimal(3)]}


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("write", ["bulk_create", "bulk_update"])
def test_on_commit_receivers_hear_nothing_when_the_callers_transaction_rolls_back(
    listen, customer, write
):
    order = Order.objects.create(customer=customer, number="1")
    created = listen(post_bulk_create, sender=Order, delivery="on_commit")
    updated = listen(post_bulk_update, sender=Order, delivery="on_commit")

    with transaction.atomic("default"):
        if write == "bulk_create":
            Order.objects.bulk_create([Order(customer=customer, number="2")])
        else:
            order.total = 5
            Order.objects.bulk_update([order], ["total"])
        transaction.set_rollback(True, using="default")

    assert created.received() == updated.received() == []
    stored = Order.objects.using("default").values_list("number", "total")
    assert list(stored) == [("1", Decimal(0))]
