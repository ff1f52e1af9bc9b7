"""
Bulk signals delivered later: on commit, and in a worker as tasks.

Real transactions (``transactional_db``); the real django-tasks-db worker.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F

from signals_app.bulk import OldValues, post_bulk_create, post_update
from testproject.shop.models import Customer, Order
from tests.bulk.conftest import make_orders
from tests.delivery.worker import run_worker
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)


def test_on_commit_receivers_hear_the_update_once_it_commits(listen, customer):
    made = make_orders(customer, 3)
    heard = listen(post_update, sender=Order, delivery="on_commit")

    with transaction.atomic():
        Order.objects.update(status="paid")
        assert heard.received() == []

    [call] = heard.received()
    assert sorted(call["pks"]) == sorted(order.pk for order in made)


def test_on_commit_receivers_hear_nothing_of_a_rolled_back_update(listen, customer):
    make_orders(customer, 3)
    heard = listen(post_update, sender=Order, delivery="on_commit", when=OldValues())

    with transaction.atomic():
        Order.objects.update(status="paid")
        transaction.set_rollback(True)

    assert heard.received() == []


def test_a_queued_receiver_gets_keys_and_values_in_chunks(listen, customer, settings):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 2
    made = make_orders(customer, 5)
    heard = listen(
        post_update,
        Recorder(),
        sender=Order,
        delivery="task",
        dispatch_uid="bulk.tests.queued",
        when=OldValues(),
    )

    Order.objects.update(total=F("total") + 1)
    run_worker()

    assert [len(call["pks"]) for call in heard.received()] == [2, 2, 1]
    got = {
        pk: (old, new)
        for call in heard.received()
        for pk, old, new in zip(
            call["pks"],
            call["old_values"]["total"],
            call["values"]["total"],
            strict=True,
        )
    }
    assert got == {
        order.pk: (Decimal(order.total), Decimal(order.total) + 1) for order in made
    }
    assert {call["sender"] for call in heard.received()} == {Order}


def test_a_queued_receiver_gets_created_keys(listen, customer):
    heard = listen(
        post_bulk_create,
        Recorder(),
        sender=Customer,
        delivery="task",
        dispatch_uid="bulk.tests.created",
    )

    made = Customer.objects.bulk_create(
        [Customer(name=f"c{n}", email=f"c{n}@example.com") for n in range(3)]
    )
    run_worker()

    [call] = heard.received()
    assert call["pks"] == [customer.pk for customer in made]
    assert call["values"]["email"] == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    assert call["created"] == [True, True, True]
