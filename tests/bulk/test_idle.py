"""
Nobody listening for a model: its bulk writes run Django's own SQL, nothing more.

Compared side by side with Django's methods, as they were before
``signals_app.bulk`` replaced them.
"""

import pytest
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.test.utils import CaptureQueriesContext

from signals_app.bulk import installed, post_bulk_update, post_update
from signals_app.bulk.patch import django_bulk_create, django_bulk_update
from signals_app.bulk.writes import django_update
from testproject.shop.models import Customer, Order, Tag

pytestmark = pytest.mark.django_db


def sql_of(write) -> list[str]:
    """The SQL ``write()`` runs, in a savepoint rolled back after."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            write()
        transaction.set_rollback(True)
    return [query["sql"] for query in queries.captured_queries]


@pytest.fixture(params=["nothing connected", "another model heard"])
def others(request, listen) -> None:
    if request.param == "another model heard":
        listen(post_update, sender=Customer)
        listen(post_bulk_update, sender=Customer)


def test_the_methods_are_replaced_once():
    assert installed()
    assert QuerySet.update is not django_update


def test_update_runs_djangos_sql(orders, others):
    ours = sql_of(
        lambda: Order.objects.filter(total__gt=1).update(total=F("total") + 1)
    )
    theirs = sql_of(
        lambda: django_update(Order.objects.filter(total__gt=1), total=F("total") + 1)
    )
    assert ours == theirs
    assert len(ours) == 1


def test_bulk_update_runs_djangos_sql(orders, others):
    ours = sql_of(lambda: Order.objects.bulk_update(orders, ["total"], batch_size=2))
    theirs = sql_of(
        lambda: django_bulk_update(Order.objects.all(), orders, ["total"], 2)
    )
    assert ours == theirs


def test_bulk_create_runs_djangos_sql(db, others):
    ours = sql_of(lambda: Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")]))
    theirs = sql_of(
        lambda: django_bulk_create(Tag.objects.all(), [Tag(name="a"), Tag(name="b")])
    )
    assert ours == theirs
