"""
``bulk_update()`` and ``bulk_create()`` send one pair of signals for the call.

``bulk_update()`` runs one ``UPDATE`` per batch through ``update()``; those
are not updates of their own, so ``post_update`` stays silent for them.
"""

from decimal import Decimal

import pytest
from django.db.models import F

from signals_app.bulk import (
    NewValues,
    OldValues,
    post_bulk_create,
    post_bulk_update,
    post_update,
    pre_bulk_create,
    pre_bulk_update,
    pre_update,
)
from testproject.shop.models import Customer, GiftOrder, Order, Tag
from tests.bulk.conftest import make_orders

pytestmark = pytest.mark.django_db


# --- bulk_update -------------------------------------------------------------------


def test_bulk_update_sends_one_signal_for_all_its_batches(listen, orders):
    heard = listen(post_bulk_update, sender=Order, when=NewValues())
    for order in orders:
        order.total += 100

    assert Order.objects.bulk_update(orders, ["total"], batch_size=2) == 5

    [call] = heard.received()
    got = dict(zip(call["pks"], call["values"]["total"], strict=True))
    assert got == {order.pk: Decimal(order.total) for order in orders}
    assert call["fields"] == ("total",)
    assert call["objs"] == orders


def test_bulk_update_batches_are_not_heard_as_updates(listen, orders):
    updates = listen(post_update, sender=Order)
    before = listen(pre_update, sender=Order)
    for order in orders:
        order.status = "paid"

    Order.objects.bulk_update(orders, ["status"], batch_size=2)

    assert updates.received() == before.received() == []
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}


def test_bulk_update_with_expressions_reports_what_the_rows_hold(listen, orders):
    heard = listen(post_bulk_update, sender=Order, when=NewValues())
    for order in orders:
        order.total = F("total") * 3

    Order.objects.bulk_update(orders, ["total"])

    [call] = heard.received()
    got = dict(zip(call["pks"], call["values"]["total"], strict=True))
    assert got == dict(Order.objects.values_list("pk", "total"))
    assert sorted(got.values()) == [Decimal(n * 3) for n in range(5)]


def test_bulk_update_gives_old_values_before_and_after(listen, orders):
    before = listen(pre_bulk_update, sender=Order, when=OldValues())
    after = listen(post_bulk_update, sender=Order, when=OldValues())
    for order in orders:
        order.status = "shipped"

    Order.objects.bulk_update(orders, ["status", "total"])

    for heard in (before, after):
        [call] = heard.received()
        assert call["old_values"]["status"] == ["new"] * 5
        old = dict(zip(call["pks"], call["old_values"]["total"], strict=True))
        assert old == {order.pk: Decimal(order.total) for order in orders}
    assert "values" not in before.received()[0]


def test_bulk_update_is_chunked(listen, customer, settings):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 2
    made = make_orders(customer, 5)
    before = listen(pre_bulk_update, sender=Order)
    after = listen(post_bulk_update, sender=Order)

    Order.objects.bulk_update(made, ["status"])

    assert [len(call["pks"]) for call in before.received()] == [2, 2, 1]
    assert [len(call["pks"]) for call in after.received()] == [2, 2, 1]


def test_bulk_update_of_a_child_model_reports_both_tables(listen, customer):
    gifts = [
        GiftOrder.objects.create(customer=customer, number=f"g{n}") for n in range(2)
    ]
    heard = listen(post_bulk_update, sender=GiftOrder, when=NewValues())
    for gift in gifts:
        gift.message, gift.status = "hello", "paid"

    GiftOrder.objects.bulk_update(gifts, ["message", "status"])

    [call] = heard.received()
    assert sorted(call["pks"]) == sorted(gift.pk for gift in gifts)
    assert call["values"] == {"message": ["hello"] * 2, "status": ["paid"] * 2}


def test_bulk_update_arguments_are_checked_before_anything_is_sent(listen, orders):
    heard = listen(pre_bulk_update, sender=Order)
    with pytest.raises(ValueError, match="Field names must be given"):
        Order.objects.bulk_update(orders, [])
    assert heard.received() == []


# --- bulk_create -------------------------------------------------------------------


def test_bulk_create_reports_the_keys_it_was_given(listen, customer):
    rows_before = []

    def count(**kwargs):
        rows_before.append((len(kwargs["objs"]), Order.objects.count()))

    listen(pre_bulk_create, count, sender=Order)
    after = listen(post_bulk_create, sender=Order)

    made = Order.objects.bulk_create(
        [Order(customer=customer, number=f"b{n}") for n in range(3)]
    )

    assert rows_before == [(3, 0)]
    [call] = after.received()
    assert call["pks"] == [order.pk for order in made]
    assert call["created"] == [True, True, True]
    assert call["conflicts"] is None
    assert call["values"]["number"] == ["b0", "b1", "b2"]
    assert call["values"]["customer_id"] == [customer.pk] * 3


def test_bulk_create_ignoring_conflicts_marks_what_it_does_not_know(listen, customer):
    Tag.objects.create(name="red")
    heard = listen(post_bulk_create, sender=Tag)

    Tag.objects.bulk_create([Tag(name="red"), Tag(name="blue")], ignore_conflicts=True)

    [call] = heard.received()
    assert call["conflicts"] == "ignore"
    # Which rows were inserted, and their keys, the database does not say.
    assert call["created"] == [None, None]
    assert call["pks"] == [None, None]
    assert call["values"]["name"] == ["red", "blue"]


def test_bulk_create_updating_conflicts_marks_inserted_or_updated_as_unknown(
    listen, customer
):
    existing = Tag.objects.create(name="red")
    heard = listen(post_bulk_create, sender=Tag)

    Tag.objects.bulk_create(
        [Tag(name="red"), Tag(name="blue")],
        update_conflicts=True,
        update_fields=["name"],
        unique_fields=["name"],
    )

    [call] = heard.received()
    assert call["conflicts"] == "update"
    assert call["created"] == [None, None]
    assert call["pks"][0] == existing.pk
    assert call["pks"][1] == Tag.objects.get(name="blue").pk


def test_bulk_create_is_chunked(listen, customer, settings):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 2
    before = listen(pre_bulk_create, sender=Customer)
    after = listen(post_bulk_create, sender=Customer)

    Customer.objects.bulk_create(
        [Customer(name=f"c{n}", email=f"c{n}@example.com") for n in range(5)]
    )

    assert [len(call["objs"]) for call in before.received()] == [2, 2, 1]
    assert [len(call["pks"]) for call in after.received()] == [2, 2, 1]


def test_bulk_create_refusals_come_before_anything_is_sent(listen, customer):
    heard = listen(pre_bulk_create, sender=GiftOrder)
    with pytest.raises(ValueError, match="multi-table inherited"):
        GiftOrder.objects.bulk_create([GiftOrder(customer=customer, number="x")])
    assert heard.received() == []


def test_bulk_create_of_nothing_returns_nothing_as_django_does(listen):
    # Django returns before it reads update_fields: a field the model lacks
    # is no error when there is no row to write.
    heard = listen(post_bulk_create, sender=Tag)

    created = Tag.objects.bulk_create(
        [], update_conflicts=True, update_fields=["missing"], unique_fields=["name"]
    )

    assert created == []
    assert heard.received() == []


def test_bulk_update_across_parent_tables_of_rows_gone_reports_nothing(listen):
    # No row has the key: Django writes neither table, and no batch has
    # the parent table's values.
    heard = listen(post_bulk_update, sender=GiftOrder, when=NewValues())

    written = GiftOrder.objects.bulk_update(
        [GiftOrder(pk=404, message="hi", total=1)], ["message", "total"]
    )

    assert written == 0
    assert [call["pks"] for call in heard.received()] == []
