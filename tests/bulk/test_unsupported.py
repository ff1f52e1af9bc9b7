"""Bulk writes the bulk signals cannot describe go through as Django's own."""

import datetime
import logging

import pytest
from django.db.models import F

from signals_app import signals
from signals_app.bulk import patch
from testproject.shop.models import StockCount, Warehouse

pytestmark = pytest.mark.django_db

BULK = [
    signals.pre_update,
    signals.post_update,
    signals.pre_bulk_update,
    signals.post_bulk_update,
    signals.pre_bulk_create,
    signals.post_bulk_create,
]


@pytest.fixture
def listened(connect):
    heard = []
    for signal in BULK:
        connect(
            signal, lambda **kwargs: heard.append(kwargs), sender=StockCount, weak=False
        )
    return heard


def _counts():
    warehouse = Warehouse.objects.create(code="w1", name="W")
    days = [datetime.date(2026, 1, day) for day in (1, 2)]
    return warehouse, days


def test_writes_of_a_composite_key_model_are_not_failed_but_warned_about(
    listened, caplog, monkeypatch
):
    # The warning is logged once per model and process: start from none.
    monkeypatch.setattr(patch, "_warned", set())
    warehouse, days = _counts()

    with caplog.at_level(logging.WARNING, logger="signals_app.bulk"):
        made = StockCount.objects.bulk_create(
            [StockCount(warehouse=warehouse, day=day, quantity=1) for day in days]
        )
        updated = StockCount.objects.filter(warehouse=warehouse).update(
            quantity=F("quantity") + 1
        )
        for count in made:
            count.quantity = 10
        bulk_updated = StockCount.objects.bulk_update(made, ["quantity"])

    assert (updated, bulk_updated) == (2, 2)
    assert sorted(StockCount.objects.values_list("quantity", flat=True)) == [10, 10]
    assert listened == []
    [warning] = [r for r in caplog.records if r.name == "signals_app.bulk"]
    assert "shop.StockCount" in warning.getMessage()
    assert "composite" in warning.getMessage()
