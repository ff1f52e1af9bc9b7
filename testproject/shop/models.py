"""Models covering the relations signals travel along.

Foreign keys with CASCADE, PROTECT and SET_NULL, a plain and a custom-through
many-to-many, a proxy model and multi-table inheritance; and primary keys of
every kind a signal can carry: auto-incremented integers, a string, a UUID set
before the INSERT, and a composite key.
"""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Customer(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="orders"
    )
    number = models.CharField(max_length=20, unique=True)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    status = models.CharField(max_length=10, choices=Status, default=Status.NEW)
    created = models.DateTimeField(default=timezone.now)
    tags = models.ManyToManyField(Tag, blank=True, related_name="orders")
    products = models.ManyToManyField(
        Product, through="OrderLine", blank=True, related_name="orders"
    )

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lines")
    quantity = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product} on {self.order}"


class Note(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="notes"
    )
    text = models.TextField()

    def __str__(self) -> str:
        return self.text[:40]


class PriorityOrder(Order):
    """Same table as Order: signals for a proxy carry the proxy as sender."""

    class Meta:
        proxy = True

    def __str__(self) -> str:
        return f"priority {self.number}"


class GiftOrder(Order):
    """Its own table, linked to Order's: saves and deletes touch both."""

    message = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"gift {self.number}"


class Warehouse(models.Model):
    """A string primary key, chosen by whoever creates the row."""

    code = models.CharField(max_length=10, primary_key=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.code


class Parcel(models.Model):
    """
    A UUID primary key, set when the instance is made, before its INSERT;
    and a field for each kind of value that JSON has no type for.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    weight = models.DecimalField(max_digits=8, decimal_places=3)
    shipped_on = models.DateField(null=True, blank=True)
    pickup_at = models.TimeField(null=True, blank=True)
    in_transit = models.DurationField(null=True, blank=True)
    delivered = models.DateTimeField(null=True, blank=True)
    tracking = models.UUIDField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    warehouses = models.ManyToManyField(Warehouse, blank=True, related_name="parcels")

    def __str__(self) -> str:
        return str(self.id)


class StockCount(models.Model):
    """A composite primary key: one count per warehouse and day."""

    pk = models.CompositePrimaryKey("warehouse_id", "day")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.CASCADE, related_name="counts"
    )
    day = models.DateField()
    quantity = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.quantity} at {self.warehouse_id} on {self.day}"


class Article(models.Model):
    """
    Nine fields, one of each kind change awareness handles: text, choices,
    a decimal, a date, a counter, a foreign key (by its id column) and a
    JSON document that is edited in place.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    body = models.TextField(blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    published_on = models.DateField(null=True, blank=True)
    views = models.IntegerField(default=0)
    author = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    def __str__(self) -> str:
        return self.title
