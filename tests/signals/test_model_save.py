"""
pre_init, post_init, pre_save and post_save reach our receivers on every path
Django builds or saves a model: with the sender and kwargs Django sends.
"""

import pytest
from django.contrib.auth.models import User
from django.db.models import signals as django_signals

from signals_app import signals
from testproject.shop.models import Customer, GiftOrder, Order, PriorityOrder
from tests.factories import CustomerFactory
from tests.recorder import assert_same_calls

pytestmark = pytest.mark.django_db

OURS = [signals.pre_save, signals.post_save]
DJANGOS = [django_signals.pre_save, django_signals.post_save]


def test_save_of_a_new_instance(record):
    ours = record(OURS, sender=Customer)
    theirs = record(DJANGOS, sender=Customer)
    customer = Customer(name="Ann", email="ann@example.com")

    customer.save()

    assert_same_calls(ours, theirs)
    assert [call.signal for call in ours.calls] == OURS
    assert ours.senders == [Customer, Customer]
    assert ours.calls[0].kwargs == {
        "instance": customer,
        "raw": False,
        "using": "default",
        "update_fields": None,
    }
    assert ours.calls[1].kwargs == {
        "instance": customer,
        "created": True,
        "raw": False,
        "using": "default",
        "update_fields": None,
    }


def test_save_of_an_existing_instance_with_update_fields(record):
    customer = CustomerFactory()
    ours = record(OURS, sender=Customer)
    theirs = record(DJANGOS, sender=Customer)
    customer.name = "Renamed"

    customer.save(update_fields=["name"])

    assert_same_calls(ours, theirs)
    assert ours.values("instance", "update_fields") == [
        (customer, frozenset({"name"})),
        (customer, frozenset({"name"})),
    ]
    assert ours.calls[1].kwargs["created"] is False


def test_queryset_create(record):
    ours = record(signals.post_save, sender=Customer)
    theirs = record(django_signals.post_save, sender=Customer)

    customer = Customer.objects.create(name="Bo", email="bo@example.com")

    assert_same_calls(ours, theirs)
    assert ours.values("instance", "created") == [(customer, True)]


def test_get_or_create_saves_only_when_creating(record):
    ours = record(OURS, sender=Customer)
    theirs = record(DJANGOS, sender=Customer)

    created, _ = Customer.objects.get_or_create(email="cy@example.com")
    got, _ = Customer.objects.get_or_create(email="cy@example.com")

    assert_same_calls(ours, theirs)
    assert got == created
    assert [call.kwargs["instance"] for call in ours.calls] == [created, created]
    assert ours.calls[1].kwargs["created"] is True


def test_update_or_create(record):
    customer = CustomerFactory(email="di@example.com")
    ours = record(signals.post_save, sender=Customer)
    theirs = record(django_signals.post_save, sender=Customer)

    updated, _ = Customer.objects.update_or_create(
        email="di@example.com", defaults={"name": "Di"}
    )
    created, _ = Customer.objects.update_or_create(
        email="ed@example.com", defaults={"name": "Ed"}
    )

    assert_same_calls(ours, theirs)
    assert updated.pk == customer.pk
    assert ours.values("instance", "created", "update_fields") == [
        (updated, False, frozenset({"name"})),
        (created, True, None),
    ]


def test_instantiation_sends_pre_init_and_post_init(record):
    ours = record([signals.pre_init, signals.post_init], sender=Customer)
    theirs = record([django_signals.pre_init, django_signals.post_init], Customer)
    # Model.__init__ empties the kwargs dict it sent once the signal returns.
    as_sent = record(signals.pre_init, sender=Customer, snapshot=True)

    customer = Customer(name="Fay", email="fay@example.com")

    assert_same_calls(ours, theirs)
    assert [call.signal for call in ours.calls] == [signals.pre_init, signals.post_init]
    assert as_sent.calls[0].kwargs == {
        "args": (),
        "kwargs": {"name": "Fay", "email": "fay@example.com"},
    }
    assert ours.calls[1].kwargs == {"instance": customer}
    assert ours.calls[0].kwargs["kwargs"] == {}


def test_loading_from_the_database_sends_pre_init_with_positional_args(record):
    customer = CustomerFactory(name="Gus", email="gus@example.com")
    ours = record([signals.pre_init, signals.post_init], sender=Customer)
    theirs = record([django_signals.pre_init, django_signals.post_init], Customer)

    loaded = Customer.objects.get()

    assert_same_calls(ours, theirs)
    assert ours.calls[0].kwargs == {
        "args": (customer.pk, "Gus", "gus@example.com"),
        "kwargs": {},
    }
    assert ours.calls[1].kwargs == {"instance": loaded}


def test_proxy_model_is_its_own_sender(record):
    for_order = record(OURS, sender=Order)
    for_proxy = record(OURS, sender=PriorityOrder)
    theirs = record(DJANGOS, sender=PriorityOrder)

    order = PriorityOrder.objects.create(customer=CustomerFactory(), number="P-1")

    assert for_order.calls == []
    assert for_proxy.senders == [PriorityOrder, PriorityOrder]
    assert for_proxy.values("instance") == [order, order]
    assert_same_calls(for_proxy, theirs)


def test_multi_table_child_save_is_sent_for_the_child_only(record):
    for_parent = record(OURS, sender=Order)
    for_child = record(OURS, sender=GiftOrder)
    theirs = record(DJANGOS, sender=GiftOrder)

    gift = GiftOrder.objects.create(customer=CustomerFactory(), number="G-1")

    assert Order.objects.filter(pk=gift.pk).exists()
    assert for_parent.calls == []
    assert for_child.senders == [GiftOrder, GiftOrder]
    assert for_child.calls[1].kwargs["instance"] is gift
    assert_same_calls(for_child, theirs)


def test_third_party_model(record):
    ours = record(OURS, sender=User)
    theirs = record(DJANGOS, sender=User)

    user = User.objects.create_user("hal", "hal@example.com", "secret")

    assert_same_calls(ours, theirs)
    assert ours.senders == [User, User]
    assert ours.values("instance") == [user, user]
    assert ours.calls[1].kwargs["created"] is True


@pytest.mark.django_db(databases=["default", "other"])
def test_save_on_another_database(record):
    ours = record(OURS, sender=Customer)
    theirs = record(DJANGOS, sender=Customer)

    created = Customer.objects.using("other").create(name="Ida", email="i@x.org")
    created.name = "Ida B."
    created.save(using="other")

    assert_same_calls(ours, theirs)
    assert ours.values("using") == ["other"] * 4
    assert [call.kwargs.get("created") for call in ours.calls] == [
        None,
        True,
        None,
        False,
    ]
