"""
A 100,000-row update is processed a chunk at a time: the memory it takes does
not grow with the rows it writes (``tracemalloc``).
"""

import tracemalloc

import pytest
from django.db.models import F

from signals_app.bulk import OldValues, post_update
from testproject.shop.models import Customer, Order

pytestmark = pytest.mark.django_db

ROWS = 100_000


def peak_of(write) -> int:
    tracemalloc.start()
    try:
        write()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("old", [False, True], ids=["new-only", "with-old"])
def test_a_hundred_thousand_row_update_stays_within_a_chunk(listen, settings, old):
    settings.SIGNALS_APP_BULK_CHUNK_SIZE = 5_000
    customer = Customer.objects.create(name="Ada", email="ada@example.com")
    Order.objects.bulk_create(
        (Order(customer=customer, number=str(n), total=n) for n in range(ROWS)),
        batch_size=5_000,
    )
    first = Order.objects.order_by("pk").values_list("pk", flat=True)[0]
    seen = []

    def count(pks, values, **kwargs):
        seen.append(len(pks))

    listen(post_update, count, sender=Order, **({"when": OldValues()} if old else {}))

    small = peak_of(
        lambda: Order.objects.filter(pk__lt=first + ROWS // 10).update(
            total=F("total") + 1
        )
    )
    large = peak_of(lambda: Order.objects.update(total=F("total") + 1))

    assert sum(seen) == ROWS // 10 + ROWS
    # Ten times the rows, not ten times the memory.
    assert large < 2 * small, (small, large)
