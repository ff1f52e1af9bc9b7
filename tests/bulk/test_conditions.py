"""
Conditions select the rows of a bulk write that a receiver hears.

``when=`` conditions return the narrowed arguments (``narrow()``); the rows
and their old and new values stay aligned, for that receiver only.
"""

import pytest
from django.db.models import F

from signals_app.bulk import (
    ChangedRows,
    NewValues,
    OldValues,
    RowFilter,
    asks,
    narrow,
    post_bulk_update,
    post_update,
    rows,
)
from signals_app.changes import Changed
from signals_app.signals import post_save
from testproject.shop.models import Order

pytestmark = pytest.mark.django_db


def test_changed_rows_hears_only_the_rows_that_changed_that_way(listen, orders):
    Order.objects.filter(pk=orders[0].pk).update(status="paid")
    paid = listen(
        post_update, sender=Order, when=ChangedRows(Changed("status", to="paid"))
    )
    everyone = listen(post_update, sender=Order)

    Order.objects.filter(total__lt=3).update(status="paid")

    [call] = paid.received()
    # orders[0] was paid already: written, not changed.
    assert sorted(call["pks"]) == [orders[1].pk, orders[2].pk]
    assert call["values"] == {"status": ["paid", "paid"]}
    assert call["old_values"] == {"status": ["new", "new"]}
    assert len(everyone.received()[0]["pks"]) == 3


def test_changed_rows_with_from_keeps_rows_that_left_that_value(listen, orders):
    Order.objects.filter(pk=orders[0].pk).update(status="shipped")
    heard = listen(
        post_update, sender=Order, when=ChangedRows(Changed("status", from_="new"))
    )

    Order.objects.filter(total__lt=2).update(status="paid")

    assert heard.received()[0]["pks"] == [orders[1].pk]


def test_a_receiver_whose_rows_all_fail_the_condition_is_not_called(listen, orders):
    heard = listen(post_update, sender=Order, when=ChangedRows(Changed("status")))
    Order.objects.update(total=7)
    assert heard.received() == []


def test_changed_rows_works_for_bulk_update(listen, orders):
    heard = listen(
        post_bulk_update, sender=Order, when=ChangedRows(Changed("total", to=9))
    )
    orders[3].total = 9
    orders[4].total = 4  # unchanged

    Order.objects.bulk_update(orders[3:], ["total"])

    assert heard.received()[0]["pks"] == [orders[3].pk]
    assert heard.received()[0]["objs"] == [orders[3]]


def test_the_same_condition_serves_saves_and_updates(listen, orders):
    condition = ChangedRows(Changed("status", to="paid"))
    saves = listen(post_save, sender=Order, when=condition)
    updates = listen(post_update, sender=Order, when=condition)

    orders[0].status = "paid"
    orders[0].save()
    Order.objects.filter(pk=orders[1].pk).update(status="paid")

    assert [call["instance"] for call in saves.received()] == [orders[0]]
    assert saves.received()[0]["changes"]["status"].old == "new"
    assert updates.received()[0]["pks"] == [orders[1].pk]


def test_a_row_filter_of_a_predicate(listen, orders):
    big = listen(
        post_update,
        sender=Order,
        when=RowFilter(lambda row: row.old["total"] >= 3),
    )

    Order.objects.update(total=F("total") + 1)

    [call] = big.received()
    old = dict(zip(call["pks"], call["old_values"]["total"], strict=True))
    new = dict(zip(call["pks"], call["values"]["total"], strict=True))
    assert old == {orders[3].pk: 3, orders[4].pk: 4}
    assert new == {orders[3].pk: 4, orders[4].pk: 5}


def test_narrowing_is_for_that_receiver_only(listen, orders):
    listen(post_update, sender=Order, when=RowFilter(lambda row: False, old=False))
    everyone = listen(post_update, sender=Order)
    Order.objects.update(status="paid")
    assert len(everyone.received()[0]["pks"]) == 5


def test_rows_and_narrow_keep_columns_aligned():
    named = {
        "pks": [1, 2, 3],
        "values": {"a": ["x", "y", "z"]},
        "old_values": {"a": ["p", "q", "r"]},
    }
    assert [tuple(row) for row in rows(named)] == [
        (1, {"a": "x"}, {"a": "p"}),
        (2, {"a": "y"}, {"a": "q"}),
        (3, {"a": "z"}, {"a": "r"}),
    ]
    assert narrow(named, [2, 0]) == {
        "pks": [3, 1],
        "values": {"a": ["z", "x"]},
        "old_values": {"a": ["r", "p"]},
    }


def test_what_conditions_ask_for_is_seen_through_combinations():
    assert asks(NewValues()) == {"values"}
    assert asks(OldValues()) == {"values", "old_values"}
    assert asks(ChangedRows(Changed("status"))) == {"values", "old_values"}
    assert asks(RowFilter(bool, old=False) & ~OldValues()) == {"values", "old_values"}
    assert asks(RowFilter(bool, old=False)) == {"values"}
    assert asks(None) == frozenset()


def test_old_values_are_not_read_when_nobody_asks(
    listen, orders, django_assert_num_queries
):
    listen(post_update, sender=Order, when=NewValues())
    # BEGIN/COMMIT are not counted: the UPDATE ... RETURNING alone.
    with django_assert_num_queries(1):
        Order.objects.update(status="paid")
