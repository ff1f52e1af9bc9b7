"""
An update sent in chunks writes the rows Django's one statement would: those
the queryset matched before the first row was written, each once.

Chunks of two rows, so that every write below spans several chunks.
"""

import pytest
from django.db.models import F, Max, Subquery

from signals_app.bulk import OldValues, post_update, pre_update
from testproject.shop.models import Order, Product
from tests.bulk.conftest import make_orders

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chunks_of_two(settings):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 2


class Bounded:
    """A pre_update receiver that fails the test rather than let it loop."""

    def __init__(self, limit: int) -> None:
        self.limit, self.pks = limit, []

    def __call__(self, pks, **kwargs):
        self.pks.extend(pks)
        if len(self.pks) > self.limit:
            raise AssertionError(f"rows sent again: {self.pks}")


def products(count: int) -> list[Product]:
    return Product.objects.bulk_create(
        Product(name=f"p{n}", price=n) for n in range(count)
    )


@pytest.mark.parametrize("old", [False, True], ids=["keys", "old-values"])
def test_an_update_moving_keys_ahead_writes_each_row_once(listen, old):
    made = products(5)
    before = listen(pre_update, Bounded(5), sender=Product)
    after = listen(
        post_update, sender=Product, **({"when": OldValues()} if old else {})
    )

    assert Product.objects.update(id=F("id") + 100) == 5

    moved = sorted(product.pk + 100 for product in made)
    assert sorted(Product.objects.values_list("pk", flat=True)) == moved
    assert sorted(before.pks) == sorted(product.pk for product in made)
    sent = [pk for call in after.received() for pk in call["pks"]]
    assert sorted(sent) == moved


def test_old_values_of_a_moved_key_are_those_of_its_row(listen):
    made = products(5)
    heard = listen(post_update, sender=Product, when=OldValues())

    Product.objects.update(id=F("id") + 100, price=F("price") + 1)

    pairs = {
        (new, old, price)
        for call in heard.received()
        for new, old, price in zip(
            call["pks"],
            call["old_values"]["id"],
            call["old_values"]["price"],
            strict=True,
        )
    }
    assert pairs == {(p.pk + 100, p.pk, p.price) for p in made}


def test_a_filter_on_other_rows_is_read_before_the_first_write(listen, customer):
    # Django's one statement compares with the largest total before the
    # update (4): the order holding it is not written.
    make_orders(customer, 5)
    listen(pre_update, sender=Order)
    largest = Subquery(
        Order.objects.values("customer").annotate(m=Max("total")).values("m")
    )

    assert Order.objects.filter(total__lt=largest).update(total=F("total") + 10) == 4

    assert sorted(Order.objects.values_list("total", flat=True)) == [4, 10, 11, 12, 13]


def test_a_distinct_queryset_is_updated_as_without_distinct(listen):
    # PostgreSQL refuses FOR UPDATE with DISTINCT; Django's UPDATE drops it.
    products(3)
    listen(pre_update, sender=Product, when=OldValues())

    assert Product.objects.distinct().update(name="same") == 3

    assert set(Product.objects.values_list("name", flat=True)) == {"same"}
