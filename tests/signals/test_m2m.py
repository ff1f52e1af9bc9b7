"""
m2m_changed reaches our receivers for add, remove, clear and set, from both
sides of a relation and through a custom through model.
"""

import pytest
from django.db.models import signals as django_signals

from signals_app import signals
from testproject.shop.models import Customer, Order, OrderLine, Product, Tag
from tests.factories import OrderFactory, ProductFactory, TagFactory
from tests.recorder import assert_same_calls

pytestmark = pytest.mark.django_db

OrderTags = Order.tags.through


@pytest.fixture
def record_tags(record):
    """
    Connect recorders for changes to Order.tags: ours as sent (snapshot),
    ours, and Django's.
    """

    def connect():
        return (
            record(signals.m2m_changed, sender=OrderTags, snapshot=True),
            record(signals.m2m_changed, sender=OrderTags),
            record(django_signals.m2m_changed, sender=OrderTags),
        )

    return connect


def _changes(recorder):
    return recorder.values("action", "reverse", "model", "pk_set", "using")


def test_add_from_the_forward_side(record_tags):
    order, tag = OrderFactory(), TagFactory()
    as_sent, ours, theirs = record_tags()

    order.tags.add(tag)

    assert_same_calls(ours, theirs)
    assert ours.senders == [OrderTags, OrderTags]
    assert ours.values("instance") == [order, order]
    assert _changes(as_sent) == [
        ("pre_add", False, Tag, {tag.pk}, "default"),
        ("post_add", False, Tag, {tag.pk}, "default"),
    ]


def test_add_from_the_reverse_side(record_tags):
    order, tag = OrderFactory(), TagFactory()
    as_sent, ours, theirs = record_tags()

    tag.orders.add(order)

    assert_same_calls(ours, theirs)
    assert ours.values("instance") == [tag, tag]
    assert _changes(as_sent) == [
        ("pre_add", True, Order, {order.pk}, "default"),
        ("post_add", True, Order, {order.pk}, "default"),
    ]


def test_remove(record_tags):
    kept, removed = TagFactory.create_batch(2)
    order = OrderFactory(tags=[kept, removed])
    as_sent, ours, theirs = record_tags()

    order.tags.remove(removed)

    assert_same_calls(ours, theirs)
    assert _changes(as_sent) == [
        ("pre_remove", False, Tag, {removed.pk}, "default"),
        ("post_remove", False, Tag, {removed.pk}, "default"),
    ]
    assert list(order.tags.all()) == [kept]


def test_clear_from_the_reverse_side_has_no_pk_set(record_tags):
    tag = TagFactory()
    OrderFactory.create_batch(2, tags=[tag])
    as_sent, ours, theirs = record_tags()

    tag.orders.clear()

    assert_same_calls(ours, theirs)
    assert ours.values("instance") == [tag, tag]
    assert _changes(as_sent) == [
        ("pre_clear", True, Order, None, "default"),
        ("post_clear", True, Order, None, "default"),
    ]


def test_set_removes_then_adds_the_difference(record_tags):
    old, kept, new = TagFactory.create_batch(3)
    order = OrderFactory(tags=[old, kept])
    as_sent, ours, theirs = record_tags()

    order.tags.set([kept, new])

    assert_same_calls(ours, theirs)
    assert _changes(as_sent) == [
        ("pre_remove", False, Tag, {old.pk}, "default"),
        ("post_remove", False, Tag, {old.pk}, "default"),
        ("pre_add", False, Tag, {new.pk}, "default"),
        ("post_add", False, Tag, {new.pk}, "default"),
    ]


def test_set_from_the_reverse_side(record_tags):
    tag = TagFactory()
    old, new = OrderFactory(tags=[tag]), OrderFactory()
    as_sent, ours, theirs = record_tags()

    tag.orders.set([new])

    assert_same_calls(ours, theirs)
    assert _changes(as_sent) == [
        ("pre_remove", True, Order, {old.pk}, "default"),
        ("post_remove", True, Order, {old.pk}, "default"),
        ("pre_add", True, Order, {new.pk}, "default"),
        ("post_add", True, Order, {new.pk}, "default"),
    ]


def test_add_through_a_custom_through_model_with_defaults(record):
    order, product = OrderFactory(), ProductFactory()
    ours = record(signals.m2m_changed, sender=OrderLine)
    theirs = record(django_signals.m2m_changed, sender=OrderLine)
    saves = record([signals.pre_save, signals.post_save], sender=OrderLine)

    order.products.add(product, through_defaults={"quantity": 2})

    assert_same_calls(ours, theirs)
    assert ours.values("action", "instance", "reverse", "model", "pk_set") == [
        ("pre_add", order, False, Product, {product.pk}),
        ("post_add", order, False, Product, {product.pk}),
    ]
    # The through rows are bulk-created: no save signals, as with Django's.
    assert saves.calls == []
    assert OrderLine.objects.get().quantity == 2


def test_a_receiver_for_one_relation_hears_nothing_from_another(record):
    order, product, tag = OrderFactory(), ProductFactory(), TagFactory()
    for_lines = record(signals.m2m_changed, sender=OrderLine)

    order.tags.add(tag)
    product.orders.add(order)

    assert for_lines.values("action", "instance", "reverse", "model") == [
        ("pre_add", product, True, Order),
        ("post_add", product, True, Order),
    ]


@pytest.mark.django_db(databases=["default", "other"])
def test_add_on_another_database(record):
    customer = Customer.objects.using("other").create(name="Kay", email="k@x.org")
    order = Order.objects.using("other").create(customer=customer, number="O-1")
    tag = Tag.objects.using("other").create(name="urgent")
    ours = record(signals.m2m_changed, sender=OrderTags)
    theirs = record(django_signals.m2m_changed, sender=OrderTags)

    order.tags.add(tag)

    assert_same_calls(ours, theirs)
    assert ours.values("using") == ["other", "other"]
