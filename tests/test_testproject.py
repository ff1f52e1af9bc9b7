"""The example project the signal tests lean on: models, factories, views."""

import pytest
from asgiref.sync import async_to_sync
from django.db.models import ProtectedError

from testproject.shop.models import Customer, Note, Order, PriorityOrder
from testproject.shop.views import ShopError
from tests.factories import (
    GiftOrderFactory,
    NoteFactory,
    OrderFactory,
    OrderLineFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def test_factories_build_every_relation():
    tags = TagFactory.create_batch(2)
    order = OrderFactory(tags=tags)
    line = OrderLineFactory(order=order)
    NoteFactory(order=order)
    gift = GiftOrderFactory()

    assert set(order.tags.all()) == set(tags)
    assert list(order.products.all()) == [line.product]
    assert PriorityOrder.objects.get(pk=order.pk).number == order.number
    assert Order.objects.get(pk=gift.pk).giftorder == gift


def test_on_delete_behaviours():
    line = OrderLineFactory()
    note = NoteFactory(order=line.order)

    with pytest.raises(ProtectedError):
        line.product.delete()
    line.order.customer.delete()

    assert not Order.objects.exists()
    note.refresh_from_db()
    assert note.order is None


@pytest.mark.django_db(databases=["default", "other"])
def test_other_database_is_separate():
    Customer.objects.using("other").create(name="Ann", email="ann@example.com")

    assert Customer.objects.using("other").count() == 1
    assert not Customer.objects.exists()


def test_orders_view_creates_and_lists(client):
    created = client.post(
        "/shop/orders/",
        {"email": "bo@example.com", "name": "Bo", "number": "A-1", "total": "3.50"},
    )
    listed = client.get("/shop/orders/")

    assert created.status_code == 201
    assert listed.json() == {
        "orders": [{"number": "A-1", "total": "3.50", "status": "new"}]
    }


def test_failing_view_raises(client):
    with pytest.raises(ShopError):
        client.get("/shop/fail/")


def test_streaming_view(client):
    OrderFactory(number="S-1")
    OrderFactory(number="S-2")

    response = client.get("/shop/orders/stream/")

    assert b"".join(response.streaming_content) == b"S-1\nS-2\n"


def test_async_views(async_client):
    GiftOrderFactory(number="G-1")

    # No async pytest plugin: drive the ASGI requests from a sync test.
    @async_to_sync
    async def fetch() -> tuple[dict[str, int], list[bytes]]:
        count = await async_client.get("/shop/orders/count/")
        streamed = await async_client.get("/shop/orders/astream/")
        return count.json(), [chunk async for chunk in streamed.streaming_content]

    assert fetch() == ({"count": 1}, [b"G-1\n"])


def test_str_of_every_model():
    note = NoteFactory(text="x" * 50)
    line = OrderLineFactory(order=note.order, quantity=2)

    assert str(note) == "x" * 40
    assert str(line) == f"2 x {line.product} on {note.order}"
    assert str(PriorityOrder.objects.get(pk=note.order.pk)).startswith("priority ")
    assert str(Note.objects.get().order.customer).startswith("Customer ")
