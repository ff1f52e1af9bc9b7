"""factory-boy factories for the shop models in testproject."""

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from testproject.shop.models import (
    Article,
    Customer,
    GiftOrder,
    Note,
    Order,
    OrderLine,
    Parcel,
    Product,
    StockCount,
    Tag,
    Warehouse,
)


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("9.99")


class OrderFactory(DjangoModelFactory):
    """`OrderFactory(tags=[...])` adds the tags after the order is saved."""

    class Meta:
        model = Order
        # Adding tags needs no second save, and skipping it keeps the signals
        # a test sees down to the ones it asked for.
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"ORD-{n:05d}")
    total = Decimal("25.00")

    @factory.post_generation
    def tags(self, create: bool, extracted: list[Tag] | None, **kwargs: object):
        if create and extracted:
            self.tags.add(*extracted)


class GiftOrderFactory(OrderFactory):
    class Meta:
        model = GiftOrder

    message = "Enjoy!"


class OrderLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = Note

    order = factory.SubFactory(OrderFactory)
    text = factory.Sequence(lambda n: f"Note {n}")


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH-{n:03d}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")


class ParcelFactory(DjangoModelFactory):
    """Its UUID primary key comes from the field's default, as in a plain save."""

    class Meta:
        model = Parcel

    weight = Decimal("1.250")


class StockCountFactory(DjangoModelFactory):
    class Meta:
        model = StockCount

    warehouse = factory.SubFactory(WarehouseFactory)
    day = factory.Sequence(lambda n: datetime.date(2026, 1, 1) + datetime.timedelta(n))
    quantity = 10


class ArticleFactory(DjangoModelFactory):
    """A draft with a small JSON document; ``author`` is None unless given."""

    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Article {n}")
    body = "Some text."
    price = Decimal("4.50")
    views = 0
    data = factory.LazyFunction(lambda: {"tags": ["a"], "meta": {"lang": "en"}})


def other_customer(email: str) -> Customer:
    """A customer saved on the second database, ``other``."""
    return Customer.objects.using("other").create(name=email, email=email)
