"""
A field of each kind Django ships, on two twin models: ``Watched``, which
the tests watch, and ``Unwatched``, which nothing watches, so that what a
watched field does can be compared with what the same field does unwatched.
"""

import json
from typing import Any

from django.core.files.storage import InMemoryStorage
from django.db import models
from django.db.models.query_utils import DeferredAttribute

# Files stay in memory: nothing lands in the checkout.
storage = InMemoryStorage()


class _Lowered(DeferredAttribute):
    # A descriptor of a field's own: keeps text lower-cased, however assigned.
    def __set__(self, instance: Any, value: Any) -> None:
        if isinstance(value, str):
            value = value.lower()
        instance.__dict__[self.field.attname] = value


class LoweredField(models.CharField):
    """A CharField with a descriptor_class of its own."""

    descriptor_class = _Lowered


class Everything(models.Model):
    """The fields both twins have."""

    big = models.BigIntegerField(default=0)
    binary = models.BinaryField(default=b"")
    flag = models.BooleanField(default=False)
    char = models.CharField(max_length=20, default="")
    day = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    amount = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    span = models.DurationField(null=True)
    email = models.EmailField(default="")
    document = models.FileField(upload_to="docs", storage=storage, blank=True)
    picture = models.ImageField(
        upload_to="pictures",
        storage=storage,
        blank=True,
        width_field="picture_width",
        height_field="picture_height",
    )
    picture_width = models.IntegerField(null=True)
    picture_height = models.IntegerField(null=True)
    ratio = models.FloatField(default=0)
    address = models.GenericIPAddressField(null=True)
    count = models.IntegerField(default=0)
    data = models.JSONField(default=dict)
    positive = models.PositiveIntegerField(default=0)
    slug = models.SlugField(default="")
    small = models.SmallIntegerField(default=0)
    text = models.TextField(default="")
    clock = models.TimeField(null=True)
    url = models.URLField(default="")
    key = models.UUIDField(null=True)
    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)
    doubled = models.GeneratedField(
        expression=models.F("count") * 2,
        output_field=models.IntegerField(),
        db_persist=True,
    )
    lowered = LoweredField(max_length=20, default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class Watched(Everything):
    """Every field watched (by the tests)."""


class Unwatched(Everything):
    """Nothing watched."""


class Document(dict):
    """A JSON object as ``DocumentDecoder`` decodes it: a dict of its own."""


class Items(list):
    """A JSON array at the top of a document, as ``DocumentDecoder`` decodes it."""


class DocumentDecoder(json.JSONDecoder):
    """Decodes objects as ``Document`` and a top-level array as ``Items``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(object_hook=Document, **kwargs)

    def decode(self, text: str, *args: Any) -> Any:
        value = super().decode(text, *args)
        return Items(value) if type(value) is list else value


class Decoded(models.Model):
    """A JSONField whose decoder hands out subclasses of dict and list."""

    data = models.JSONField(default=dict, decoder=DocumentDecoder)

    def __str__(self) -> str:
        return f"Decoded {self.pk}"
