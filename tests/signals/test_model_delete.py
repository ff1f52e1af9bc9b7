"""
pre_delete and post_delete reach our receivers for every object Django deletes:
``Model.delete()``, ``QuerySet.delete()`` and the cascades of both.
"""

import pytest
from django.db.models import signals as django_signals

from signals_app import signals
from testproject.shop.models import (
    Customer,
    GiftOrder,
    Note,
    Order,
    OrderLine,
    PriorityOrder,
    Tag,
)
from tests.factories import (
    CustomerFactory,
    GiftOrderFactory,
    NoteFactory,
    OrderFactory,
    OrderLineFactory,
    TagFactory,
)
from tests.recorder import assert_same_calls

pytestmark = pytest.mark.django_db

OURS = [signals.pre_delete, signals.post_delete]
DJANGOS = [django_signals.pre_delete, django_signals.post_delete]


def _pks(recorder, signal):
    """(sender, pk) of each call of ``signal`` recorded with ``snapshot``."""
    return [
        (call.sender, call.kwargs["instance"].pk)
        for call in recorder.calls
        if call.signal is signal
    ]


def test_model_delete(record):
    customer = CustomerFactory()
    ours = record(OURS, sender=Customer)
    theirs = record(DJANGOS, sender=Customer)

    customer.delete()

    assert_same_calls(ours, theirs)
    assert [call.signal for call in ours.calls] == OURS
    assert ours.calls[0].kwargs == {
        "instance": customer,
        "using": "default",
        "origin": customer,
    }
    assert ours.calls[1].kwargs == ours.calls[0].kwargs


def test_queryset_delete_sends_for_each_object_with_the_queryset_as_origin(record):
    tags = TagFactory.create_batch(2)
    ours = record(signals.pre_delete, sender=Tag)
    theirs = record(django_signals.pre_delete, sender=Tag)
    as_sent = record(signals.pre_delete, sender=Tag, snapshot=True)
    queryset = Tag.objects.order_by("pk")

    queryset.delete()

    assert_same_calls(ours, theirs)
    assert _pks(as_sent, signals.pre_delete) == [(Tag, tag.pk) for tag in tags]
    assert all(origin is queryset for origin in ours.values("origin"))
    assert not Tag.objects.exists()


def test_cascade_sends_for_every_deleted_object(record):
    customer = CustomerFactory()
    orders = OrderFactory.create_batch(2, customer=customer)
    lines = [OrderLineFactory(order=order) for order in orders]
    deleted = {(Customer, customer.pk), *((Order, order.pk) for order in orders)}
    deleted |= {(OrderLine, line.pk) for line in lines}
    ours = record(OURS)
    theirs = record(DJANGOS)
    as_sent = record(OURS, snapshot=True)

    customer.delete()

    assert_same_calls(ours, theirs)
    pre, post = _pks(as_sent, signals.pre_delete), _pks(as_sent, signals.post_delete)
    # Every pre_delete comes before the first post_delete.
    assert [call.signal for call in ours.calls] == [signals.pre_delete] * 5 + [
        signals.post_delete
    ] * 5
    assert len(set(pre)) == len(pre) == 5
    assert set(pre) == set(post) == deleted
    assert all(call.kwargs["origin"] is customer for call in ours.calls)


def test_queryset_delete_cascades_with_the_queryset_as_origin(record):
    order = OrderLineFactory().order
    ours = record(OURS)
    theirs = record(DJANGOS)
    queryset = Customer.objects.filter(pk=order.customer_id)

    queryset.delete()

    assert_same_calls(ours, theirs)
    assert [call.sender for call in ours.calls] == [
        OrderLine,
        Order,
        Customer,
        OrderLine,
        Order,
        Customer,
    ]
    assert all(call.kwargs["origin"] is queryset for call in ours.calls)


def test_set_null_updates_without_save_or_delete_signals(record):
    note = NoteFactory()
    ours = record([*OURS, signals.pre_save, signals.post_save], sender=Note)
    theirs = record([*DJANGOS, django_signals.pre_save, django_signals.post_save])

    note.order.delete()

    assert ours.calls == []
    assert Note not in {call.sender for call in theirs.calls}
    note.refresh_from_db()
    assert note.order is None


def test_deleting_a_proxy_instance_is_sent_for_the_proxy(record):
    order = PriorityOrder.objects.get(pk=OrderFactory().pk)
    for_order = record(OURS, sender=Order)
    for_proxy = record(OURS, sender=PriorityOrder)
    theirs = record(DJANGOS, sender=PriorityOrder)

    order.delete()

    assert for_order.calls == []
    assert for_proxy.senders == [PriorityOrder, PriorityOrder]
    assert_same_calls(for_proxy, theirs)


def test_deleting_a_multi_table_child_also_deletes_and_sends_for_the_parent(record):
    gift = GiftOrderFactory()
    ours = record(OURS)
    theirs = record(DJANGOS)

    gift.delete()

    assert_same_calls(ours, theirs)
    assert [(call.signal, call.sender) for call in ours.calls] == [
        (signals.pre_delete, GiftOrder),
        (signals.pre_delete, Order),
        (signals.post_delete, GiftOrder),
        (signals.post_delete, Order),
    ]
    parent = ours.calls[1].kwargs["instance"]
    assert type(parent) is Order
    assert all(call.kwargs["origin"] is gift for call in ours.calls)
    assert not Order.objects.exists()


def test_clearing_a_custom_through_relation_deletes_its_rows_one_by_one(record):
    order = OrderFactory()
    lines = OrderLineFactory.create_batch(2, order=order)
    ours = record(OURS, sender=OrderLine)
    theirs = record(DJANGOS, sender=OrderLine)

    as_sent = record(OURS, sender=OrderLine, snapshot=True)

    order.products.clear()

    assert_same_calls(ours, theirs)
    assert sorted(_pks(as_sent, signals.pre_delete)) == [
        (OrderLine, line.pk) for line in lines
    ]
    assert not OrderLine.objects.exists()


@pytest.mark.django_db(databases=["default", "other"])
def test_delete_on_another_database(record):
    customer = Customer.objects.using("other").create(name="Jo", email="jo@example.com")
    Order.objects.using("other").create(customer=customer, number="O-1")
    ours = record(OURS)
    theirs = record(DJANGOS)

    customer.delete()

    assert_same_calls(ours, theirs)
    assert set(ours.values("using")) == {"other"}
    assert {call.sender for call in ours.calls} == {Customer, Order}
