"""
``QuerySet.update()`` sends ``pre_update`` and ``post_update`` with concrete rows.

Every test runs on SQLite and, under ``SIGNALS_APP_TEST_POSTGRES``, on
PostgreSQL; the values a receiver gets are compared with the rows read back.
"""

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Concat

from signals_app.bulk import NewValues, OldValues, post_update, pre_update
from testproject.shop.models import Customer, GiftOrder, Order, OrderLine, Product
from tests.bulk.conftest import make_orders

pytestmark = pytest.mark.django_db


def stored(*fields: str) -> dict:
    """``{pk: (field values...)}`` of every order, read from the database."""
    return {row[0]: row[1:] for row in Order.objects.values_list("pk", *fields)}


def test_post_update_carries_the_keys_and_values_written(listen, orders):
    heard = listen(post_update, sender=Order, when=NewValues())

    count = Order.objects.filter(total__gte=2).update(status="paid")

    [call] = heard.received()
    assert count == 3
    assert sorted(call["pks"]) == [orders[2].pk, orders[3].pk, orders[4].pk]
    assert call["values"] == {"status": ["paid", "paid", "paid"]}
    assert call["fields"] == ("status",)
    assert call["using"] == "default"
    assert call["old_values"] is None
    assert call["sender"] is Order


def test_by_default_only_the_keys_are_read(listen, orders):
    heard = listen(post_update, sender=Order)

    Order.objects.filter(pk=orders[0].pk).update(status="paid")

    [call] = heard.received()
    assert call["pks"] == [orders[0].pk]
    assert call["values"] is None
    assert call["old_values"] is None
    assert call["fields"] == ("status",)


def test_the_row_count_is_djangos(listen, orders):
    listen(post_update, sender=Order)
    assert Order.objects.filter(total__lt=3).update(status="paid") == 3
    assert Order.objects.filter(total__gt=99).update(status="paid") == 0


def test_f_expressions_arrive_resolved(listen, orders):
    heard = listen(post_update, sender=Order, when=NewValues())

    Order.objects.update(total=F("total") * 2 + 1)

    [call] = heard.received()
    got = dict(zip(call["pks"], call["values"]["total"], strict=True))
    assert got == {pk: total for pk, (total,) in stored("total").items()}
    assert sorted(got.values()) == [Decimal(n * 2 + 1) for n in range(5)]


def test_a_subquery_arrives_resolved(listen, orders):
    product = Product.objects.create(name="pen", price=Decimal("2.50"))
    OrderLine.objects.create(order=orders[1], product=product, quantity=4)
    OrderLine.objects.create(order=orders[1], product=product, quantity=2)
    quantities = (
        OrderLine.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    heard = listen(post_update, sender=Order, when=NewValues())

    Order.objects.filter(pk=orders[1].pk).update(total=Subquery(quantities))

    [call] = heard.received()
    assert call["pks"] == [orders[1].pk]
    assert call["values"] == {"total": [Decimal(6)]}


def test_text_functions_arrive_resolved(listen, orders):
    heard = listen(post_update, sender=Order, when=NewValues())

    Order.objects.filter(pk=orders[0].pk).update(number=Concat("number", Value("-x")))

    assert heard.received()[0]["values"] == {"number": ["n0-x"]}


def test_an_update_filtering_on_the_field_it_changes_reports_its_rows(listen, orders):
    # A lazy queryset run again after the write would match nothing.
    heard = listen(post_update, sender=Order, when=OldValues())

    Order.objects.filter(status="new", total__lt=2).update(status="paid")

    [call] = heard.received()
    assert sorted(call["pks"]) == [orders[0].pk, orders[1].pk]
    assert call["values"] == {"status": ["paid", "paid"]}
    assert call["old_values"] == {"status": ["new", "new"]}


def test_old_values_come_to_a_receiver_that_asks(listen, orders):
    heard = listen(post_update, sender=Order, when=OldValues())
    before = stored("total")

    Order.objects.update(total=F("total") + 10)

    [call] = heard.received()
    old = dict(zip(call["pks"], call["old_values"]["total"], strict=True))
    assert old == {pk: total for pk, (total,) in before.items()}


def test_pre_update_is_sent_before_the_write_with_the_rows_it_will_write(
    listen, orders
):
    seen_in_database = []

    def check(**kwargs):
        seen_in_database.append(stored("status")[orders[0].pk])

    heard = listen(pre_update, sender=Order, when=OldValues())
    listen(pre_update, check, sender=Order)

    Order.objects.filter(total__lt=2).update(status="paid")

    [call] = heard.received()
    assert sorted(call["pks"]) == [orders[0].pk, orders[1].pk]
    assert call["old_values"] == {"status": ["new", "new"]}
    assert "values" not in call
    assert seen_in_database == [("new",)]
    assert stored("status")[orders[0].pk] == ("paid",)


def test_an_error_in_pre_update_leaves_the_rows_unwritten(listen, orders):
    def refuse(**kwargs):
        raise RuntimeError("no")

    listen(pre_update, refuse, sender=Order)

    # The update's transaction is the caller's (here a savepoint of the
    # test's): it is rolled back, as for a database error inside update().
    with pytest.raises(RuntimeError), transaction.atomic():
        Order.objects.update(status="paid")

    assert set(stored("status").values()) == {("new",)}


def test_a_lazy_sender_hears_updates(listen, orders):
    heard = listen(post_update, sender="shop.Order")
    Order.objects.filter(pk=orders[0].pk).update(status="paid")
    assert heard.received()[0]["pks"] == [orders[0].pk]


def test_a_third_party_model_is_heard_with_no_custom_manager(listen):
    user = User.objects.create_user("ada")
    heard = listen(post_update, sender=User, when=OldValues())

    User.objects.filter(pk=user.pk).update(is_staff=True)

    [call] = heard.received()
    assert call["pks"] == [user.pk]
    assert call["values"] == {"is_staff": [True]}
    assert call["old_values"] == {"is_staff": [False]}


def test_receivers_for_another_model_hear_nothing(listen, orders):
    heard = listen(post_update, sender=Customer)
    Order.objects.update(status="paid")
    assert heard.received() == []


def test_nothing_is_sent_when_no_row_matches(listen, orders):
    heard = listen(post_update, sender=Order)
    pre = listen(pre_update, sender=Order)
    Order.objects.filter(pk__in=[]).update(status="paid")
    Order.objects.filter(total__gt=99).update(status="paid")
    assert heard.received() == pre.received() == []


def test_foreign_keys_travel_as_their_attname(listen, orders):
    other = Customer.objects.create(name="Bob", email="bob@example.com")
    heard = listen(post_update, sender=Order, when=OldValues())

    Order.objects.filter(pk=orders[0].pk).update(customer=other)

    [call] = heard.received()
    assert call["values"] == {"customer_id": [other.pk]}
    assert call["old_values"] == {"customer_id": [orders[0].customer_id]}


@pytest.mark.parametrize("old", [False, True], ids=["new-only", "with-old"])
def test_multi_table_inheritance_reports_fields_of_both_tables(listen, customer, old):
    gifts = [
        GiftOrder.objects.create(customer=customer, number=f"g{n}", message="hi")
        for n in range(3)
    ]
    heard = listen(
        post_update, sender=GiftOrder, when=OldValues() if old else NewValues()
    )

    GiftOrder.objects.filter(pk__in=[g.pk for g in gifts[:2]]).update(
        message="thanks", total=F("total") + 5
    )

    [call] = heard.received()
    assert sorted(call["pks"]) == [gifts[0].pk, gifts[1].pk]
    assert call["values"] == {
        "message": ["thanks", "thanks"],
        "total": [Decimal(5), Decimal(5)],
    }
    if old:
        assert call["old_values"] == {
            "message": ["hi", "hi"],
            "total": [Decimal(0), Decimal(0)],
        }
    assert GiftOrder.objects.get(pk=gifts[0].pk).total == 5


def test_multi_table_inheritance_of_parent_fields_only(listen, customer):
    gift = GiftOrder.objects.create(customer=customer, number="g", message="hi")
    heard = listen(post_update, sender=GiftOrder, when=NewValues())

    GiftOrder.objects.update(status="paid")

    assert heard.received()[0]["pks"] == [gift.pk]
    assert heard.received()[0]["values"] == {"status": ["paid"]}


@pytest.mark.parametrize("old", [False, True], ids=["new-only", "with-old"])
def test_large_writes_are_sent_in_chunks_never_truncated(
    listen, customer, settings, old
):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 3
    made = make_orders(customer, 8)
    options = {"when": OldValues()} if old else {}
    heard = listen(post_update, sender=Order, **options)

    assert Order.objects.update(status="paid") == 8

    assert [len(call["pks"]) for call in heard.received()] == [3, 3, 2]
    sent = [pk for call in heard.received() for pk in call["pks"]]
    assert sorted(sent) == sorted(order.pk for order in made)


def test_chunks_of_an_update_filtering_on_its_own_field_cover_every_row(
    listen, customer, settings
):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 2
    make_orders(customer, 5)
    heard = listen(pre_update, sender=Order)

    Order.objects.filter(status="new").update(status="paid")

    assert sum(len(call["pks"]) for call in heard.received()) == 5
    assert not Order.objects.filter(status="new").exists()


def test_an_update_inside_a_transaction_rolls_back_with_it(listen, orders):
    heard = listen(post_update, sender=Order, when=OldValues())

    def update_then_fail() -> None:
        with transaction.atomic():
            Order.objects.update(status="paid")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        update_then_fail()

    assert len(heard.calls) == 1
    assert set(stored("status").values()) == {("new",)}


def test_aupdate_is_heard(listen, orders):
    order = orders[0]
    heard = listen(post_update, sender=Order)

    async def update() -> None:
        await Order.objects.filter(pk=order.pk).aupdate(status="paid")

    async_to_sync(update)()

    assert heard.received()[0]["pks"] == [order.pk]
