"""
Conditions select the rows of a bulk write that a receiver hears.

``when=`` conditions return the narrowed arguments (``narrow()``); the rows
and their old and new values stay aligned, for that receiver only.
"""

from typing import Any

import pytest
from django.db.models import F
from hypothesis import given, settings
from hypothesis import strategies as st

from signals_app.bulk import (
    ChangedRows,
    NewValues,
    OldValues,
    RowFilter,
    asks,
    narrow,
    post_bulk_update,
    post_update,
    pre_bulk_create,
    rows,
)
from signals_app.changes import Changed
from signals_app.dispatch.conditions import All, Any_, Condition, Not
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


def test_changed_rows_refuses_a_bulk_signal_without_written_values(listen):
    # pre_bulk_create carries no keys nor old values: nothing could be kept.
    with pytest.raises(ValueError, match="post_update, post_bulk_update"):
        listen(pre_bulk_create, sender=Order, when=ChangedRows(Changed("status")))


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


def keeping(*kept: Order) -> RowFilter:
    """A row filter keeping the rows of these orders."""
    pks = {order.pk for order in kept}
    return RowFilter(lambda row: row.pk in pks, old=False)


def test_and_of_row_filters_keeps_the_rows_both_keep(listen, orders):
    both = listen(
        post_update,
        sender=Order,
        when=keeping(*orders[:3]) & keeping(*orders[1:]),
    )

    Order.objects.update(status="paid")

    assert sorted(both.received()[0]["pks"]) == [orders[1].pk, orders[2].pk]


def test_or_of_row_filters_keeps_the_rows_either_keeps(listen, orders):
    either = listen(
        post_update, sender=Order, when=keeping(orders[0]) | keeping(orders[4])
    )

    Order.objects.update(status="paid")

    assert sorted(either.received()[0]["pks"]) == [orders[0].pk, orders[4].pk]


def test_not_of_a_row_filter_keeps_the_rows_it_does_not(listen, orders):
    others = listen(post_update, sender=Order, when=~keeping(*orders[:3]))

    Order.objects.update(status="paid")

    assert sorted(others.received()[0]["pks"]) == [orders[3].pk, orders[4].pk]


def test_changed_rows_and_a_row_filter_keep_the_rows_both_keep(listen, orders):
    Order.objects.filter(pk=orders[4].pk).update(status="paid")
    paid_later = listen(
        post_update,
        sender=Order,
        when=ChangedRows(Changed("status", to="paid")) & keeping(*orders[2:]),
    )

    Order.objects.update(status="paid")

    assert sorted(paid_later.received()[0]["pks"]) == [orders[2].pk, orders[3].pk]


class Plain(Condition):
    """A condition that holds or not whatever the send; adds ``tag`` when it does."""

    def __init__(self, holds: bool, tag: str | None = None) -> None:
        self.holds = holds
        self.tag = tag

    def check(self, sender, named):
        if not self.holds:
            return None
        return {} if self.tag is None else {"tag": self.tag}

    def __repr__(self):
        return f"Plain({self.holds}, {self.tag!r})"


def test_and_of_a_row_filter_and_a_plain_condition_keeps_its_rows(listen, orders):
    heard = listen(post_update, sender=Order, when=keeping(orders[1]) & Plain(True))

    Order.objects.update(status="paid")

    assert heard.received()[0]["pks"] == [orders[1].pk]


def test_not_of_a_plain_condition_that_holds_hears_no_row(listen, orders):
    heard = listen(post_update, sender=Order, when=~Plain(True))
    Order.objects.update(status="paid")
    assert heard.received() == []


def test_not_of_a_plain_condition_that_fails_hears_every_row(listen, orders):
    heard = listen(post_update, sender=Order, when=~Plain(False))
    Order.objects.update(status="paid")
    assert len(heard.received()[0]["pks"]) == 5


def test_and_adds_the_extras_of_both_parts_the_later_winning():
    both = Plain(True, "a") & RowFilter(bool) & Plain(True, "b")
    assert both.check(Order, {"pks": [1], "values": {}}) == {"tag": "b"}


def test_or_adds_the_extras_of_the_parts_that_hold_the_first_winning():
    either = Plain(False, "a") | Plain(True, "b") | Plain(True, "c")
    assert either.check(Order, {}) == {"tag": "b"}


def test_or_adds_the_extras_of_a_part_that_keeps_no_row_of_the_narrowed():
    named = {"pks": [1, 2], "values": {}}
    either = RowFilter(lambda row: row.pk == 1, old=False) | (
        RowFilter(lambda row: row.pk == 2, old=False) & Plain(True, "b")
    )
    assert either.check(Order, named) == {"tag": "b"}


def test_not_adds_nothing():
    assert (~Plain(False, "a")).check(Order, {}) == {}


# The property: a tree of &, | and ~ over row filters, ChangedRows and plain
# conditions keeps exactly the rows that the same set operations over what
# each leaf keeps alone give.

STATUSES = ["new", "paid", "shipped"]


@st.composite
def bulk_sends(draw: Any) -> dict[str, Any]:
    """The arguments of a post_bulk_update of 1 to 8 rows, old and new statuses."""
    count = draw(st.integers(1, 8))
    old = draw(st.lists(st.sampled_from(STATUSES), min_size=count, max_size=count))
    new = draw(st.lists(st.sampled_from(STATUSES), min_size=count, max_size=count))
    pks = [100 + index for index in range(count)]
    return {
        "using": "default",
        "fields": ("status",),
        "objs": [f"obj{pk}" for pk in pks],
        "pks": pks,
        "values": {"status": new},
        "old_values": {"status": old},
    }


def leaves(pks: list[int]) -> Any:
    return st.one_of(
        st.sets(st.sampled_from(pks)).map(
            lambda kept: RowFilter(lambda row: row.pk in kept)
        ),
        st.sampled_from(STATUSES).map(lambda to: ChangedRows(Changed("status", to=to))),
        st.builds(Plain, st.booleans()),
    )


def trees(pks: list[int]) -> Any:
    return st.recursive(
        leaves(pks),
        lambda children: st.one_of(
            st.tuples(children, children).map(lambda pair: pair[0] & pair[1]),
            st.tuples(children, children).map(lambda pair: pair[0] | pair[1]),
            children.map(lambda child: ~child),
        ),
        max_leaves=8,
    )


def kept_pks(condition: Condition, named: dict[str, Any]) -> set[int]:
    """The keys of the rows a receiver with ``condition`` would hear."""
    answer = condition.check(Order, named)
    if answer is None:
        return set()
    return set(answer.get("pks", named["pks"]))


def expected_pks(condition: Any, named: dict[str, Any]) -> set[int]:
    """What ``condition`` keeps: set operations over its leaves, each checked alone."""
    if isinstance(condition, All):
        return set.intersection(
            *[expected_pks(part, named) for part in condition.parts]
        )
    if isinstance(condition, Any_):
        return set.union(*[expected_pks(part, named) for part in condition.parts])
    if isinstance(condition, Not):
        return set(named["pks"]) - expected_pks(condition.part, named)
    return kept_pks(condition, named)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_combined_conditions_keep_the_rows_set_algebra_says(data):
    named = data.draw(bulk_sends())
    condition = data.draw(trees(named["pks"]))
    assert kept_pks(condition, named) == expected_pks(condition, named)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_combined_conditions_keep_every_column_aligned_in_write_order(data):
    named = data.draw(bulk_sends())
    condition = data.draw(trees(named["pks"]))
    answer = condition.check(Order, named) or {}
    if "pks" not in answer:
        return
    where = [named["pks"].index(pk) for pk in answer["pks"]]
    assert where == sorted(where)
    assert answer["objs"] == [named["objs"][index] for index in where]
    for column in ("values", "old_values"):
        assert answer[column]["status"] == [
            named[column]["status"][index] for index in where
        ]
