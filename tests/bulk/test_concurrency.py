"""
Old values and new ones describe the same rows, even with a writer racing.

PostgreSQL locks the rows it reads (``SELECT ... FOR UPDATE``) until the
update's transaction ends: a second connection writing one of them waits.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import F

from signals_app.bulk import OldValues, post_update, pre_update
from testproject.shop.models import Customer, Order

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are PostgreSQL's"
    ),
]


def add_100_elsewhere(pk: int, done: threading.Event) -> None:
    # Its own thread, so its own connection; raw SQL, so no signal of ours.
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                f"UPDATE {Order._meta.db_table} SET total = total + 100 WHERE id = %s",
                [pk],
            )
        done.set()
    finally:
        connections.close_all()


def test_a_writer_on_another_connection_waits_between_read_and_write(listen):
    customer = Customer.objects.create(name="Ada", email="ada@example.com")
    order = Order.objects.create(customer=customer, number="1", total=10)
    done = threading.Event()
    writer = threading.Thread(target=add_100_elsewhere, args=(order.pk, done))
    blocked = []

    def race(**kwargs):
        # Between our read of the old values and our write.
        writer.start()
        blocked.append(not done.wait(0.5))

    listen(pre_update, race, sender=Order)
    heard = listen(post_update, sender=Order, when=OldValues())

    Order.objects.filter(pk=order.pk).update(total=F("total") * 2)
    writer.join(10)

    assert blocked == [True]
    assert done.is_set()
    [call] = heard.received()
    assert call["old_values"] == {"total": [Decimal(10)]}
    assert call["values"] == {"total": [Decimal(20)]}
    # The writer went second, on the row as we left it.
    order.refresh_from_db()
    assert order.total == 120


def test_an_update_waits_for_a_writer_holding_its_rows_and_reports_its_value(
    listen,
):
    # No pre_update: the read and the write are one statement. A writer
    # that locked a row first is waited for; the old value is the one it
    # committed, and the new one is computed from it.
    customer = Customer.objects.create(name="Ada", email="ada@example.com")
    order = Order.objects.create(customer=customer, number="1", total=10)
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Order._meta.db_table} SET total = 15 WHERE id = %s",
                    [order.pk],
                )
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    heard = listen(post_update, sender=Order, when=OldValues())
    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(10)
    threading.Timer(0.5, release.set).start()

    Order.objects.filter(pk=order.pk).update(total=F("total") * 2)
    thread.join(10)

    [call] = heard.received()
    assert call["old_values"] == {"total": [Decimal(15)]}
    assert call["values"] == {"total": [Decimal(30)]}
