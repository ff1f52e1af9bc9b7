"""
The bulk writes with receivers behave as Django's own, whatever the write:
generated tables (integer, text and UUID keys, multi-table inheritance),
writes, querysets, chunk sizes, routers and transactions, each run as
Django runs it and with every bulk signal listened to (``differential``).
"""

import uuid
from decimal import Decimal

import pytest
from django.db.models import F, Max, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from hypothesis import given
from hypothesis import strategies as st

from testproject.shop.models import Customer, GiftOrder, Parcel, Product, Warehouse
from tests.bulk.differential import (
    BUDGET,
    CREATED,
    LISTENING,
    QUERYSETS,
    Scenario,
    assert_rows_heard,
    assert_same,
    assert_sent_with_the_write_database,
    attnames,
    key_of,
    run_both,
    sent,
)

pytestmark = pytest.mark.django_db(databases=["default", "other"])

MODELS = [Product, Warehouse, Parcel, GiftOrder]


def _no_customer() -> Subquery:
    return Subquery(Customer.objects.filter(name="nobody").values("id")[:1])


# What an update writes, by model: values, F(), functions, a subquery on
# another table (also one that yields NULL for a NOT NULL column: an error
# both ways), and expressions on the primary key that move it into a gap.
UPDATES = {
    Product: [
        {"name": "renamed"},
        {"price": F("price") + 1},
        {"price": Coalesce(_no_customer(), Value(Decimal(7)))},
        {"price": _no_customer()},
        {"id": F("id") + 1000},
        {"id": F("id") + 1000, "price": F("price") * 2},
    ],
    Warehouse: [
        {"name": Concat("name", Value("!"))},
        {"code": Concat("code", Value("z"))},
    ],
    Parcel: [
        {"weight": F("weight") * 2},
        {"tracking": uuid.UUID(int=7)},
    ],
    GiftOrder: [
        {"message": "thanks"},
        {"total": F("total") + 1},
        {"message": "both", "total": F("total") * 3},
    ],
}

KINDS = [(model, kwargs) for model, each in UPDATES.items() for kwargs in each]

# Which rows, given the keys picked: Django's filters, orderings and what it
# refuses (a slice).
FILTERS = {
    "all": lambda qs, keys: qs.all(),
    "keys": lambda qs, keys: qs.filter(pk__in=keys),
    "excluded": lambda qs, keys: qs.exclude(pk__in=keys),
    "ordered": lambda qs, keys: qs.filter(pk__in=keys).order_by("-pk"),
    "annotated": lambda qs, keys: qs.annotate(one=Value(1)).filter(pk__in=keys),
    "distinct": lambda qs, keys: qs.filter(pk__in=keys).distinct(),
    "below-largest": lambda qs, keys: qs.filter(
        pk__lt=Subquery(
            qs.model._base_manager.values("pk").annotate(m=Max("pk")).values("m")[:1]
        )
    ),
    "sliced": lambda qs, keys: qs.order_by("pk")[:2],
}


def where(draw) -> dict:
    return {
        "queryset": draw(st.sampled_from(sorted(QUERYSETS))),
        "listening": draw(st.sampled_from(LISTENING)),
        "chunk_size": draw(st.integers(1, 3)),
        "routed": draw(st.booleans()),
        "caller": draw(st.sampled_from([None, "commit", "rollback"])),
    }


@st.composite
def updates(draw) -> Scenario:
    # Each kind of write as likely as another, whatever its model.
    model, kwargs = draw(st.sampled_from(KINDS))
    numbers = draw(st.lists(st.integers(0, 40), min_size=1, max_size=9, unique=True))
    picked = draw(st.lists(st.sampled_from(numbers), min_size=1, unique=True))
    keys = [key_of(model, n) for n in picked]
    narrow = FILTERS[draw(st.sampled_from(sorted(FILTERS)))]

    def select(queryset):
        return narrow(queryset, keys)

    return Scenario(
        model,
        numbers,
        lambda queryset: select(queryset).update(**kwargs),
        select=select,
        **where(draw),
    )


@given(updates())
@BUDGET
def test_update_is_djangos_and_heard_once_per_row(scenario):
    django, ours = run_both(scenario)

    assert_same(django, ours)
    assert_sent_with_the_write_database(ours)
    if ours.error is not None:
        return
    if scenario.caller == "rollback":  # sent as written, then undone
        assert len(sent(ours, "post_update")) == ours.result
        return
    old = scenario.listening in ("old-values", "pre-update")
    unmatched = set(ours.before) - set(ours.matched)
    written = [pk for pk in ours.after if pk not in unmatched]
    assert ours.result == len(written)
    assert_rows_heard(
        ours, "post_update", written, values=scenario.listening != "keys", old=old
    )
    if scenario.listening == "pre-update":
        assert sorted(sent(ours, "pre_update"), key=str) == sorted(
            ours.matched, key=str
        )


# bulk_update(): instances as applications build them: read from the
# database, made with a key and only the fields written, read with only()
# those fields; some listed twice.
def _read(model, keys, fields):
    by_pk = model._base_manager.in_bulk(keys)
    return [by_pk[key] for key in keys if key in by_pk]


def _made(model, keys, fields):
    return [model(pk=key) for key in keys]


def _only(model, keys, fields):
    by_pk = model._base_manager.only(*fields).in_bulk(keys)
    return [by_pk[key] for key in keys if key in by_pk]


INSTANCES = {"read": _read, "made": _made, "only": _only}

# The fields bulk_update() writes, by model, and a new value for each.
NEW_VALUES = {
    Product: {"name": lambda n: f"b{n}", "price": lambda n: F("price") + n},
    Warehouse: {"name": lambda n: f"n{n}"},
    Parcel: {"weight": lambda n: Decimal(n), "tracking": lambda n: uuid.UUID(int=n)},
    GiftOrder: {"message": lambda n: f"b{n}", "total": lambda n: n},
}


@st.composite
def bulk_updates(draw) -> Scenario:
    model = draw(st.sampled_from(MODELS))
    numbers = draw(st.lists(st.integers(0, 40), min_size=1, max_size=8, unique=True))
    # Keys of rows that exist, and of one that does not; some twice.
    picked = draw(st.lists(st.sampled_from([*numbers, 99]), min_size=1, max_size=8))
    keys = [key_of(model, n) for n in picked]
    choices = NEW_VALUES[model]
    fields = draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, unique=True))
    build = INSTANCES[draw(st.sampled_from(sorted(INSTANCES)))]
    batch_size = draw(st.sampled_from([None, 1, 2, 3]))

    def write(queryset):
        objs = build(queryset.model, keys, fields)
        for index, obj in enumerate(objs):
            for name in fields:
                setattr(obj, name, choices[name](index))
        return queryset.bulk_update(objs, fields, batch_size=batch_size)

    return Scenario(model, numbers, write, **where(draw))


@given(bulk_updates())
@BUDGET
def test_bulk_update_is_djangos_and_heard_once_per_row(scenario):
    django, ours = run_both(scenario)

    assert_same(django, ours)
    assert_sent_with_the_write_database(ours)
    if ours.error is not None or scenario.caller == "rollback":
        return
    heard = sent(ours, "post_bulk_update")
    assert set(heard) <= set(ours.before)
    assert_rows_heard(
        ours,
        "post_bulk_update",
        list(dict.fromkeys(heard)),
        values=scenario.listening != "keys",
        old=scenario.listening in ("old-values", "pre-update"),
    )


# bulk_create(): new rows, some with the key of an existing one; conflicts
# failing, ignored or updated.
CONFLICTS = {
    "none": {},
    "ignore": {"ignore_conflicts": True},
    "update": {
        "update_conflicts": True,
        "update_fields": ["name"],
        "unique_fields": ["pk"],
    },
}


def _new(model, number):
    if model is Product:
        return Product(id=key_of(model, number), name=f"c{number}", price=number)
    if model is Warehouse:
        return Warehouse(code=key_of(model, number), name=f"c{number}")
    if model is Parcel:
        return Parcel(id=key_of(model, number), weight=number)
    return GiftOrder(
        id=key_of(model, number), number=f"c{number}", message="new", created=CREATED
    )


@st.composite
def bulk_creates(draw) -> Scenario:
    model = draw(st.sampled_from(MODELS))
    numbers = draw(st.lists(st.integers(0, 20), max_size=5, unique=True))
    new = draw(st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True))
    conflicts = draw(st.sampled_from(sorted(CONFLICTS)))
    batch_size = draw(st.sampled_from([None, 1, 2]))

    def write(queryset):
        objs = [_new(queryset.model, n) for n in new]
        return queryset.bulk_create(objs, batch_size=batch_size, **CONFLICTS[conflicts])

    return Scenario(model, numbers, write, **where(draw))


@given(bulk_creates())
@BUDGET
def test_bulk_create_is_djangos_and_heard_once_per_row(scenario):
    django, ours = run_both(scenario)

    assert_same(django, ours)
    assert_sent_with_the_write_database(ours)
    if ours.error is not None:
        return
    heard = sent(ours, "post_bulk_create", "objs")
    assert len(heard) == len(ours.result)
    if scenario.caller == "rollback":
        return
    created = [pk for pk in ours.after if pk not in ours.before]
    reported = [pk for pk in sent(ours, "post_bulk_create") if pk not in ours.before]
    assert sorted(reported, key=str) == sorted(created, key=str)
    names = attnames(scenario.model)
    for call in ours.heard["post_bulk_create"]:
        for index, pk in enumerate(call["pks"]):
            if pk in created:
                held = dict(zip(names, ours.after[pk], strict=True))
                assert {n: call["values"][n][index] for n in names} == held
