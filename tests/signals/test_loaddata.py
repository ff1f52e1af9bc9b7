"""Fixture loading saves with ``raw=True``, and our receivers hear it."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import signals as django_signals

from signals_app import signals
from testproject.shop.models import Customer, Order, Tag
from tests.recorder import assert_same_calls

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent.parent / "fixtures" / "shop.json"

OURS = [signals.pre_save, signals.post_save, signals.m2m_changed]
DJANGOS = [
    django_signals.pre_save,
    django_signals.post_save,
    django_signals.m2m_changed,
]


def test_loaddata_saves_raw(record):
    ours = record(OURS)
    theirs = record(DJANGOS)

    call_command("loaddata", FIXTURE, verbosity=0)

    assert_same_calls(ours, theirs)
    saves = [call for call in ours.calls if call.signal is not signals.m2m_changed]
    assert [(call.signal, call.sender) for call in saves] == [
        (signals.pre_save, Customer),
        (signals.post_save, Customer),
        (signals.pre_save, Tag),
        (signals.post_save, Tag),
        (signals.pre_save, Order),
        (signals.post_save, Order),
    ]
    assert all(call.kwargs["raw"] is True for call in saves)
    assert [call.kwargs["instance"].pk for call in saves] == [9001] * 6
    assert [call.kwargs["created"] for call in saves[1::2]] == [True] * 3


def test_loaddata_sets_many_to_many_after_the_raw_save(record):
    ours = record(signals.m2m_changed, sender=Order.tags.through)
    theirs = record(django_signals.m2m_changed, sender=Order.tags.through)

    call_command("loaddata", FIXTURE, verbosity=0)

    assert_same_calls(ours, theirs)
    assert ours.values("action", "pk_set") == [
        ("pre_add", {9001}),
        ("post_add", {9001}),
    ]
    assert ours.calls[0].kwargs["instance"] == Order.objects.get(number="FIX-1")
