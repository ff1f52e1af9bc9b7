"""The JSON payload of a queued delivery: what travels, what comes back, what not."""

import datetime
import enum
import json
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.db.models import signals as django_signals
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from signals_app.delivery.decoding import decode, receiver_of
from signals_app.delivery.encoding import arguments_text, encode
from signals_app.delivery.payload import FORMAT, InvalidPayload, NotSerializable
from testproject.shop.models import (
    Customer,
    GiftOrder,
    Order,
    Parcel,
    StockCount,
    Tag,
)
from tests.factories import (
    CustomerFactory,
    GiftOrderFactory,
    OrderFactory,
    ParcelFactory,
    StockCountFactory,
    TagFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db(databases=["default", "other"])

TAG = "__signals_app__"


def round_trip(
    sender: Any = None, *, deleting: bool = False, **named: Any
) -> tuple[Any, dict[str, Any]]:
    """Encode, go through JSON text as a task backend would, decode."""
    payload = encode("a receiver", sender, named, deleting=deleting)
    travelled = json.loads(json.dumps(payload, allow_nan=False))
    assert receiver_of(travelled) == "a receiver"
    return decode(travelled)


# --- side by side with Django -------------------------------------------------------

_DELETE_SIGNALS = (django_signals.pre_delete, django_signals.post_delete)


def comparable(value: Any, *, rowless: bool = False) -> Any:
    """
    ``value`` as a hashable structure that holds the type of every part, so
    that two values compare equal only if a receiver could not tell them
    apart: a model instance by its class, ``_state`` and field values, a
    collection by its type and items.

    Where a queued receiver gets something else by design, both sides are
    brought to what it gets: a lazy string is its ``str``, a QuerySet its
    model and database (it comes back empty); a member of a model's choices
    (a ``str`` or ``int`` enum) is its plain value, as Django loads it from
    the database; with ``rowless`` (a delete signal: the rows are gone when
    the worker runs) instances count as still to be added.
    """
    if isinstance(value, Model):
        deferred = value.get_deferred_fields()
        fields = frozenset(
            (field.attname, comparable(field.value_from_object(value)))
            for field in value._meta.concrete_fields
            if field.attname not in deferred
        )
        adding = True if rowless else value._state.adding
        return (type(value), adding, value._state.db, fields)
    if isinstance(value, dict):
        items = frozenset((k, comparable(v, rowless=rowless)) for k, v in value.items())
        return (dict, items)
    if isinstance(value, list | tuple):
        return (type(value), tuple(comparable(v, rowless=rowless) for v in value))
    if isinstance(value, set | frozenset):
        return (type(value), frozenset(comparable(v, rowless=rowless) for v in value))
    if isinstance(value, QuerySet):
        return (QuerySet, value.model, value.db)
    if isinstance(value, Promise):
        return (str, str(value))
    if isinstance(value, enum.Enum) and isinstance(value, str | int):
        return (type(value._value_), value._value_)
    if isinstance(value, datetime.datetime | datetime.time):
        # An aware value compares by its instant; the offset must match too.
        return (type(value), value, value.utcoffset())
    return (type(value), value)


@dataclass
class SideBySide:
    """One call as a receiver called now saw it, and as a queued one would."""

    signal: Any
    django: Any
    payload: dict
    queued: Any = None


@contextmanager
def side_by_side(*signals: Any) -> Iterator[list[SideBySide]]:
    """
    Record every call of ``signals`` (Django's own objects) twice over.

    A receiver called now takes, at call time, what it was given
    (``comparable()``) and the payload a queued receiver would be sent.
    Once the block is done, as a worker would after the commit, each
    payload goes through JSON text and is decoded, and ``queued`` holds what
    the queued receiver would be given, in the same form.
    """
    calls: list[SideBySide] = []

    def receive(signal: Any, sender: Any, **kwargs: Any) -> None:
        rowless = signal in _DELETE_SIGNALS
        django = comparable((sender, kwargs), rowless=rowless)
        payload = encode("side by side", sender, kwargs, deleting=rowless)
        calls.append(SideBySide(signal, django, payload))

    for signal in signals:
        signal.connect(receive, weak=False, dispatch_uid="test_payload.side_by_side")
    try:
        yield calls
    finally:
        for signal in signals:
            signal.disconnect(dispatch_uid="test_payload.side_by_side")
    # Decoding builds instances, which sends pre_init and post_init: only
    # once nothing records them.
    for call in calls:
        travelled = json.loads(json.dumps(call.payload, allow_nan=False))
        call.queued = comparable(decode(travelled))
    assert calls, "no signal was sent"


def assert_same_as_django(calls: list[SideBySide]) -> None:
    """Every call reached the queued receiver as it reached the one called now."""
    for call in calls:
        assert call.queued == call.django, call.signal


MODEL_SIGNALS = (
    django_signals.pre_init,
    django_signals.post_init,
    django_signals.pre_save,
    django_signals.post_save,
)

# A saved row of each kind of primary key, made by its factory.
EACH_KEY: dict[str, Callable[[], Model]] = {
    "big auto": CustomerFactory,
    "string": lambda: WarehouseFactory(code="EAST"),
    "uuid": ParcelFactory,
    "composite": lambda: StockCountFactory(day=datetime.date(2026, 3, 1)),
}


# --- what travels ---------------------------------------------------------------------


def test_plain_json_travels_as_it_is():
    named = {
        "n": 1,
        "x": 1.5,
        "s": "é",
        "b": False,
        "none": None,
        "items": [1, [2, "3"]],
        "nested": {"a": {"b": [True]}},
    }

    assert round_trip("a sender", **named) == ("a sender", named)


def test_tuples_keep_their_type():
    _, kwargs = round_trip(args=(1, ("a", [2])))

    assert kwargs == {"args": (1, ("a", [2]))}
    assert type(kwargs["args"][1]) is tuple
    assert type(kwargs["args"][1][1]) is list


def test_sets_and_frozensets_keep_their_type():
    _, kwargs = round_trip(pk_set={1, 2}, update_fields=frozenset({"name"}))

    assert kwargs == {"pk_set": {1, 2}, "update_fields": frozenset({"name"})}
    assert type(kwargs["pk_set"]) is set
    assert type(kwargs["update_fields"]) is frozenset


def test_a_dict_that_looks_like_a_tag_is_not_read_as_one():
    named = {"data": {"__signals_app__": "model", "label": "shop.Order"}}

    assert round_trip(**named)[1] == named


def test_model_classes_travel_as_labels():
    through = Order.tags.through

    sender, kwargs = round_trip(through, model=Tag)

    assert sender is through
    assert kwargs == {"model": Tag}
    payload = encode("r", through, {"model": Tag}, deleting=False)
    assert payload["sender"] == {"__signals_app__": "model", "label": "shop.Order_tags"}


def test_saved_instances_travel_as_label_and_pk_and_are_loaded_again():
    order = OrderFactory(number="A-1")
    payload = encode("r", Order, {"instance": order}, deleting=False)

    assert payload == {
        "format": FORMAT,
        "receiver": "r",
        "sender": {"__signals_app__": "model", "label": "shop.Order"},
        "kwargs": {
            "instance": {
                "__signals_app__": "instance",
                "label": "shop.Order",
                "db": "default",
                "pk": order.pk,
            }
        },
    }
    Order.objects.filter(pk=order.pk).update(number="A-2")

    _, kwargs = round_trip(instance=order)

    assert kwargs["instance"] == order
    assert kwargs["instance"] is not order
    # As the row is when the worker runs.
    assert kwargs["instance"].number == "A-2"


def test_instances_are_loaded_from_their_own_database():
    customer = Customer.objects.using("other").create(name="O", email="o@example.com")

    _, kwargs = round_trip(instance=customer)

    assert kwargs["instance"]._state.db == "other"
    assert kwargs["instance"].email == "o@example.com"


def test_a_row_gone_since_is_an_error_naming_it():
    customer = CustomerFactory()
    payload = encode("r", None, {"instance": customer}, deleting=False)
    pk = customer.pk
    customer.delete()

    with pytest.raises(
        Customer.DoesNotExist,
        match=rf"instance: shop.Customer with pk {pk} no longer exists in "
        "database 'default'",
    ):
        decode(payload)


def test_as_sent_instances_carry_their_field_values_beside_the_key():
    customer = CustomerFactory(name="Ann", email="ann@example.com")

    payload = encode("r", None, {"instance": customer}, deleting=False, as_sent=True)

    assert payload["kwargs"]["instance"] == {
        TAG: "instance",
        "label": "shop.Customer",
        "db": "default",
        "pk": customer.pk,
        "fields": {"id": customer.pk, "name": "Ann", "email": "ann@example.com"},
    }


def test_an_as_sent_instance_whose_row_exists_is_loaded_again():
    customer = CustomerFactory(name="Ann")
    payload = encode("r", None, {"instance": customer}, deleting=False, as_sent=True)
    Customer.objects.filter(pk=customer.pk).update(name="Bea")

    _, kwargs = decode(json.loads(json.dumps(payload)), as_sent=True)

    assert kwargs["instance"].name == "Bea"


def test_an_as_sent_instance_whose_row_is_gone_comes_back_as_it_was_sent():
    customer = CustomerFactory(name="Ann", email="ann@example.com")
    payload = encode("r", None, {"instance": customer}, deleting=False, as_sent=True)
    pk = customer.pk
    customer.delete()

    _, kwargs = decode(json.loads(json.dumps(payload)), as_sent=True)

    back = kwargs["instance"]
    assert (type(back), back.pk, back.name, back.email) == (
        Customer,
        pk,
        "Ann",
        "ann@example.com",
    )
    # A row that existed, not one being added; from the database it came from.
    assert back._state.adding is False
    assert back._state.db == "default"


def test_as_sent_is_for_one_encode_only():
    customer = CustomerFactory()
    encode("r", None, {"instance": customer}, deleting=False, as_sent=True)

    payload = encode("r", None, {"instance": customer}, deleting=False)

    assert "fields" not in payload["kwargs"]["instance"]


def test_deleted_instances_come_back_unsaved_from_their_field_values():
    gift = GiftOrderFactory(number="G-1", total=Decimal("12.50"), message="Hi")
    created = gift.created

    _, kwargs = round_trip(deleting=True, instance=gift, origin=gift.customer)

    back = kwargs["instance"]
    assert type(back) is GiftOrder
    assert back._state.adding is True
    # Its own fields and those it inherits from Order, in their own types.
    assert (back.pk, back.order_ptr_id, back.number, back.message) == (
        gift.pk,
        gift.pk,
        "G-1",
        "Hi",
    )
    assert back.total == Decimal("12.50")
    assert back.created == created
    assert back.customer_id == gift.customer_id
    assert kwargs["origin"].email == gift.customer.email


def test_unsaved_instances_travel_as_their_field_values():
    order = Order(
        number="N-1",
        total=Decimal("3"),
        created=datetime.datetime(2026, 1, 1, tzinfo=UTC),
    )

    _, kwargs = round_trip(instance=order)

    assert kwargs["instance"].pk is None
    assert kwargs["instance"].number == "N-1"
    assert kwargs["instance"].created == datetime.datetime(2026, 1, 1, tzinfo=UTC)


def test_deferred_fields_are_left_out_without_a_query(django_assert_num_queries):
    CustomerFactory(name="Ann")
    customer = Customer.objects.only("name").get()

    with django_assert_num_queries(0):
        payload = encode("r", None, {"instance": customer}, deleting=True)

    assert payload["kwargs"]["instance"]["fields"] == {
        "id": customer.pk,
        "name": "Ann",
    }


def test_a_queryset_comes_back_empty_for_its_model_and_database():
    TagFactory()

    _, kwargs = round_trip(origin=Tag.objects.using("other").filter(name="x"))

    assert kwargs["origin"].model is Tag
    assert kwargs["origin"].db == "other"
    assert list(kwargs["origin"]) == []


# --- dates and times, durations, decimals, UUIDs, lazy strings ----------------------


def test_aware_datetimes_come_back_aware_at_the_same_offset():
    when = datetime.datetime(
        2026,
        5,
        1,
        12,
        30,
        15,
        123456,
        tzinfo=datetime.timezone(-datetime.timedelta(hours=3)),
    )

    back = round_trip(when=when)[1]["when"]

    assert type(back) is datetime.datetime
    assert (back, back.utcoffset()) == (when, when.utcoffset())


def test_datetimes_in_a_named_zone_come_back_in_that_zone():
    # The second 02:30 of the night the clocks go back.
    when = datetime.datetime(
        2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")
    )

    back = round_trip(when=when)[1]["when"]

    assert back.tzinfo == ZoneInfo("Europe/Paris")
    assert (back, back.fold, back.utcoffset()) == (when, 1, datetime.timedelta(hours=1))


def test_naive_datetimes_come_back_naive():
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 6)

    back = round_trip(when=when)[1]["when"]

    assert back.tzinfo is None
    assert back == when


def test_dates_come_back_as_dates_not_datetimes():
    back = round_trip(day=datetime.date(2026, 2, 28))[1]["day"]

    assert type(back) is datetime.date
    assert back == datetime.date(2026, 2, 28)


@pytest.mark.parametrize(
    "moment",
    [
        datetime.time(23, 59, 59, 999999),
        datetime.time(
            8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))
        ),
        datetime.time(8, 0, tzinfo=ZoneInfo("America/New_York")),
    ],
    ids=["naive", "fixed offset", "named zone"],
)
def test_times_come_back_as_times_with_their_zone(moment: datetime.time):
    back = round_trip(at=moment)[1]["at"]

    assert type(back) is datetime.time
    assert (back, back.tzinfo) == (moment, moment.tzinfo)


@pytest.mark.parametrize(
    "duration",
    [
        datetime.timedelta(days=-1, microseconds=1),
        datetime.timedelta(days=999999999, hours=23, microseconds=999999),
        datetime.timedelta(0),
    ],
    ids=["negative", "largest", "zero"],
)
def test_timedeltas_come_back_exact(duration: datetime.timedelta):
    back = round_trip(took=duration)[1]["took"]

    assert type(back) is datetime.timedelta
    assert back == duration


@pytest.mark.parametrize(
    "text", ["12.50", "-0.000", "1E+3", "3.141592653589793238462643383"]
)
def test_decimals_keep_their_digits(text: str):
    back = round_trip(amount=Decimal(text))[1]["amount"]

    assert type(back) is Decimal
    # Trailing zeros and exponent too, not only the value.
    assert str(back) == text


def test_uuids_come_back_as_uuids():
    key = uuid.uuid4()

    back = round_trip(key=key)[1]["key"]

    assert type(back) is uuid.UUID
    assert back == key


def test_lazy_strings_travel_as_the_str_they_give():
    back = round_trip(label=gettext_lazy("Sale"), items=[gettext_lazy("Tag")])[1]

    assert back == {"label": "Sale", "items": ["Tag"]}
    assert type(back["label"]) is str


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (
            datetime.datetime(2026, 1, 1, 9, tzinfo=UTC),
            {TAG: "datetime", "value": "2026-01-01T09:00:00+00:00"},
        ),
        (
            datetime.datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")),
            {
                TAG: "datetime",
                "value": "2026-01-01T09:00:00+09:00",
                "zone": "Asia/Tokyo",
            },
        ),
        (datetime.date(2026, 1, 1), {TAG: "date", "value": "2026-01-01"}),
        (datetime.time(9, 0, 0, 5), {TAG: "time", "value": "09:00:00.000005"}),
        (
            datetime.timedelta(days=2, seconds=3, microseconds=4),
            {TAG: "timedelta", "days": 2, "seconds": 3, "microseconds": 4},
        ),
        (Decimal("0.10"), {TAG: "decimal", "value": "0.10"}),
        (
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            {TAG: "uuid", "value": "12345678123456781234567812345678"},
        ),
        ((1, "a"), {TAG: "tuple", "items": [1, "a"]}),
    ],
    ids=lambda value: type(value).__name__,
)
def test_each_type_json_lacks_travels_under_a_tag_of_its_own(value: Any, encoded: Any):
    payload = encode("r", None, {"value": value}, deleting=False)

    assert payload["kwargs"]["value"] == encoded


# --- every kind of primary key, side by side with Django ------------------------------


@pytest.mark.parametrize("kind", EACH_KEY)
def test_creating_each_kind_of_key_reaches_a_queued_receiver_as_sent(
    kind: str,
):
    with side_by_side(*MODEL_SIGNALS) as calls:
        EACH_KEY[kind]()

    assert_same_as_django(calls)


@pytest.mark.parametrize("kind", EACH_KEY)
def test_updating_each_kind_of_key_reaches_a_queued_receiver_as_sent(
    kind: str,
):
    row = EACH_KEY[kind]()

    with side_by_side(django_signals.pre_save, django_signals.post_save) as calls:
        row.save()

    assert_same_as_django(calls)
    assert [call.payload["kwargs"]["instance"][TAG] for call in calls] == [
        "instance",
        "instance",
    ]


@pytest.mark.parametrize("kind", EACH_KEY)
def test_deleting_each_kind_of_key_reaches_a_queued_receiver_as_sent(
    kind: str,
):
    row = EACH_KEY[kind]()

    with side_by_side(django_signals.pre_delete, django_signals.post_delete) as calls:
        row.delete()

    assert_same_as_django(calls)


def test_deleting_through_a_queryset_reaches_a_queued_receiver_as_sent():
    ParcelFactory.create_batch(2)
    StockCountFactory.create_batch(2)

    with side_by_side(django_signals.pre_delete, django_signals.post_delete) as calls:
        Parcel.objects.all().delete()
        StockCount.objects.all().delete()

    assert_same_as_django(calls)
    assert len(calls) == 8


def test_a_uuid_key_travels_tagged_and_comes_back_a_uuid():
    parcel = ParcelFactory()

    payload = encode("r", None, {"instance": parcel}, deleting=False)
    _, kwargs = round_trip(instance=parcel)

    assert payload["kwargs"]["instance"]["pk"] == {TAG: "uuid", "value": parcel.pk.hex}
    assert type(kwargs["instance"].pk) is uuid.UUID
    assert kwargs["instance"] == parcel


def test_a_string_key_travels_as_it_is():
    warehouse = WarehouseFactory(code="WEST-1")

    payload = encode("r", None, {"instance": warehouse}, deleting=False)

    assert payload["kwargs"]["instance"]["pk"] == "WEST-1"
    assert round_trip(instance=warehouse)[1]["instance"] == warehouse


def test_a_composite_key_travels_as_its_parts_and_comes_back_a_tuple():
    count = StockCountFactory(warehouse__code="NORTH", day=datetime.date(2026, 4, 1))

    payload = encode("r", None, {"instance": count}, deleting=False)
    back = round_trip(instance=count)[1]["instance"]

    assert payload["kwargs"]["instance"]["pk"] == [
        "NORTH",
        {TAG: "date", "value": "2026-04-01"},
    ]
    assert back.pk == ("NORTH", datetime.date(2026, 4, 1))
    assert back == count


def test_a_composite_key_row_gone_since_is_an_error_naming_it():
    count = StockCountFactory(warehouse__code="SOUTH", day=datetime.date(2026, 4, 2))
    payload = encode("r", None, {"instance": count}, deleting=False)
    count.delete()

    with pytest.raises(
        StockCount.DoesNotExist,
        match=r"shop.StockCount with pk \('SOUTH', datetime.date\(2026, 4, 2\)\) no "
        "longer exists",
    ):
        decode(payload)


def test_a_new_instance_whose_key_is_set_before_its_insert_travels_as_its_fields(
    django_assert_num_queries,
):
    seen = []

    def decode_at_once(sender: Any, instance: Parcel, **kwargs: Any) -> None:
        # In pre_save: the row does not exist yet, and may never.
        payload = encode("r", sender, {"instance": instance}, deleting=False)
        assert instance.pk is not None
        with django_assert_num_queries(0):
            seen.append((payload, decode(json.loads(json.dumps(payload)))[1]))

    django_signals.pre_save.connect(decode_at_once, sender=Parcel)
    try:
        parcel = ParcelFactory()
    finally:
        django_signals.pre_save.disconnect(decode_at_once, sender=Parcel)

    [(payload, kwargs)] = seen
    assert payload["kwargs"]["instance"][TAG] == "unsaved"
    back = kwargs["instance"]
    assert (back.pk, back._state.adding, back._state.db) == (parcel.pk, True, None)


def test_a_new_composite_key_instance_travels_as_its_fields():
    warehouse = WarehouseFactory()
    count = StockCount(warehouse=warehouse, day=datetime.date(2026, 5, 5), quantity=3)

    payload = encode("r", None, {"instance": count}, deleting=False)
    back = round_trip(instance=count)[1]["instance"]

    assert payload["kwargs"]["instance"][TAG] == "unsaved"
    assert (back.pk, back.quantity, back._state.adding) == (count.pk, 3, True)


def test_a_deleted_instance_keeps_the_database_it_came_from():
    customer = Customer.objects.using("other").create(name="O", email="o@example.com")

    back = round_trip(deleting=True, instance=customer)[1]["instance"]

    assert (back._state.db, back._state.adding) == ("other", True)


def test_pk_set_of_integer_keys_reaches_a_queued_receiver_as_sent():
    order = OrderFactory()
    tags = TagFactory.create_batch(2)

    with side_by_side(django_signals.m2m_changed) as calls:
        order.tags.add(*tags)

    assert_same_as_django(calls)


def test_pk_set_of_string_keys_reaches_a_queued_receiver_as_sent():
    parcel = ParcelFactory()
    east, west = WarehouseFactory(code="EAST"), WarehouseFactory(code="WEST")

    with side_by_side(django_signals.m2m_changed) as calls:
        parcel.warehouses.add(east, west)

    assert_same_as_django(calls)
    assert decode(calls[0].payload)[1]["pk_set"] == {"EAST", "WEST"}


def test_pk_set_of_uuid_keys_reaches_a_queued_receiver_as_sent():
    warehouse = WarehouseFactory()
    parcels = ParcelFactory.create_batch(2)

    with side_by_side(django_signals.m2m_changed) as calls:
        warehouse.parcels.add(*parcels)

    assert_same_as_django(calls)
    pk_set = decode(calls[0].payload)[1]["pk_set"]
    assert pk_set == {parcel.pk for parcel in parcels}
    assert {type(pk) for pk in pk_set} == {uuid.UUID}


def test_pk_set_of_composite_keys_comes_back_a_set_of_tuples():
    # Django has no many-to-many to a composite-key model (fields.E347), so
    # such a pk_set only comes from a sender that builds it.
    counts = StockCountFactory.create_batch(2)
    warehouse = counts[0].warehouse

    with side_by_side(django_signals.m2m_changed) as calls:
        django_signals.m2m_changed.send(
            sender=Parcel.warehouses.through,
            instance=warehouse,
            action="post_add",
            reverse=False,
            model=StockCount,
            pk_set={count.pk for count in counts},
            using="default",
        )

    assert_same_as_django(calls)
    assert decode(calls[0].payload)[1]["pk_set"] == {count.pk for count in counts}


# --- field values of an instance that travels as its fields ---------------------------


def every_kind_of_field() -> Parcel:
    return Parcel(
        weight=Decimal("2.500"),
        shipped_on=datetime.date(2026, 6, 1),
        pickup_at=datetime.time(14, 45, 30, 250000),
        in_transit=datetime.timedelta(days=2, hours=3),
        delivered=datetime.datetime(2026, 6, 3, 9, tzinfo=ZoneInfo("Europe/Berlin")),
        tracking=uuid.uuid4(),
        details={
            "insured": Decimal("99.90"),
            "when": datetime.datetime(2026, 6, 1, tzinfo=UTC),
            TAG: "not a tag",
            "route": ["A", "B"],
        },
    )


def test_saving_every_kind_of_field_reaches_a_queued_receiver_as_sent():
    with side_by_side(django_signals.pre_save) as calls:
        every_kind_of_field().save()

    assert_same_as_django(calls)


def test_deleting_every_kind_of_field_reaches_a_queued_receiver_as_sent():
    parcel = every_kind_of_field()
    parcel.save()

    with side_by_side(django_signals.pre_delete, django_signals.post_delete) as calls:
        parcel.delete()

    assert_same_as_django(calls)


def test_unsaved_field_values_keep_their_types():
    parcel = every_kind_of_field()

    back = round_trip(instance=parcel)[1]["instance"]

    for field in Parcel._meta.concrete_fields:
        ours, theirs = field.value_from_object(back), field.value_from_object(parcel)
        assert (type(ours), ours) == (type(theirs), theirs), field.name
    assert type(back.details["insured"]) is Decimal


def test_a_field_value_of_a_type_without_a_tag_travels_as_the_fields_string_form():
    customer = Customer(name=PurePosixPath("a/b"), email="p@example.com")

    payload = encode("r", None, {"instance": customer}, deleting=False)
    back = round_trip(instance=customer)[1]["instance"]

    assert payload["kwargs"]["instance"]["fields"]["name"] == {
        TAG: "field",
        "text": "a/b",
    }
    assert back.name == "a/b"


def test_a_json_field_value_that_cannot_travel_is_an_error_naming_the_field():
    parcel = Parcel(weight=Decimal("1"), details={"box": [object()]})

    with pytest.raises(NotSerializable) as caught:
        encode("r", None, {"instance": parcel}, deleting=False)

    assert caught.value.argument == "instance.details['box'][0]"


# --- what cannot travel -------------------------------------------------------------


@pytest.mark.parametrize(
    ("named", "argument", "problem"),
    [
        ({"blob": b"x"}, "blob", "is a builtins.bytes"),
        ({"when": {"at": (1, 1j)}}, "when['at'][1]", "is a builtins.complex"),
        ({"ratio": math.nan}, "ratio", "is nan, which JSON cannot hold"),
        ({"by_id": {1: "a"}}, "by_id", "has the key 1; JSON objects have string"),
        ({"deep": {"list": [1, {"x": object()}]}}, "deep['list'][1]['x']", "is a"),
        ({"things": {object()}}, "things[...]", "is a builtins.object"),
    ],
)
def test_what_json_cannot_hold_is_an_error_naming_the_argument(
    named: dict[str, Any], argument: str, problem: str
):
    with pytest.raises(NotSerializable) as caught:
        encode("r", None, named, deleting=False)

    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"argument {argument!r} {problem}")


def test_a_sender_that_cannot_travel_is_named_too():
    with pytest.raises(
        NotSerializable, match=r"argument 'sender' is a builtins\.object"
    ):
        encode("r", object(), {}, deleting=False)


def test_an_argument_that_contains_itself_is_an_error_naming_it():
    looped: list[Any] = ["a"]
    looped.append(looped)

    with pytest.raises(NotSerializable) as caught:
        encode("r", None, {"note": "fine", "looped": looped}, deleting=False)

    assert caught.value.argument == "looped"
    assert "refers to itself" in str(caught.value)


def test_arguments_alone_name_an_argument_that_contains_itself_too():
    looped: dict[str, Any] = {}
    looped["again"] = looped

    with pytest.raises(NotSerializable, match="argument 'looped' refers to itself"):
        arguments_text("r", None, {"looped": looped}, deleting=False)


class Level(enum.IntEnum):
    HIGH = 3


class Colour(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [Level.HIGH, Colour.RED, 1.5, 2**70, 'a "quoted"\nline', "é", "café-au-lait"],
    ids=["int enum", "str enum", "float", "big int", "escaped", "non-ASCII", "dash"],
)
def test_the_producer_writes_an_argument_as_json_writes_its_encoding(value):
    named = {"value": value, "non-identifier name": value}

    written = arguments_text("r", None, named, deleting=False)

    expected = encode("r", None, named, deleting=False)["kwargs"]
    assert written == json.dumps(expected, separators=(",", ":"))


class Reminder:
    def __repr__(self) -> str:
        return "<Reminder at noon>"


def test_an_argument_that_cannot_travel_is_shown_with_its_type_and_repr():
    with pytest.raises(NotSerializable) as caught:
        encode("r", None, {"details": {"when": Reminder()}}, deleting=False)

    assert str(caught.value).startswith(
        "argument \"details['when']\" is a tests.delivery.test_payload.Reminder"
        " (<Reminder at noon>), which is not JSON-serialisable"
    )


def test_an_argument_that_cannot_travel_names_the_sender_and_queued_receiver():
    receiver = "shop.signals.order_paid:billing.receivers.remind#billing.remind"

    with pytest.raises(NotSerializable) as caught:
        encode(receiver, Order, {"details": {"when": Reminder()}}, deleting=False)

    assert str(caught.value).endswith(
        "(sent by <class 'testproject.shop.models.Order'> to the queued receiver "
        "shop.signals.order_paid:billing.receivers.remind#billing.remind)"
    )


# --- what the worker refuses --------------------------------------------------------


def good(**changes: Any) -> dict[str, Any]:
    return {**encode("r", None, {"n": 1}, deleting=False), **changes}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("a string", "not a signals_app payload"),
        ({"receiver": "r"}, "not a signals_app payload"),
        ({**good(), "extra": 1}, "not a signals_app payload"),
        (good(format=99), "payload format 99, this version reads 3, 4, 5 and 6"),
        (good(format=1), "payload format 1, this version reads 3, 4, 5 and 6"),
        (good(format=2), "payload format 2, this version reads 3, 4, 5 and 6"),
        (good(format=3.0), "payload format 3.0, this version reads 3, 4, 5 and 6"),
        (good(format=True), "payload format True, this version reads 3, 4, 5 and 6"),
        (good(receiver=["r"]), "receiver \\['r'\\] is not a name"),
        (good(kwargs=[1]), "are not a signal's arguments"),
        (good(kwargs={"signal": "x"}), "are not a signal's arguments"),
        (good(kwargs={"sender": "x"}), "are not a signal's arguments"),
    ],
)
def test_a_payload_of_another_shape_is_refused_before_anything_is_looked_up(
    payload: Any, message: str
):
    with pytest.raises(InvalidPayload, match=message):
        receiver_of(payload)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"__signals_app__": "model", "label": "nope.Model"}, "no installed model"),
        ({"__signals_app__": "model", "label": "os.path"}, "no installed model"),
        ({"__signals_app__": "model", "label": 3}, "no installed model"),
        # Abstract models are not in the registry: no table to load from.
        (
            {"__signals_app__": "model", "label": "auth.AbstractUser"},
            "no installed model",
        ),
        (
            {"__signals_app__": "instance", "label": "shop.Order", "db": "x", "pk": 1},
            "no database 'x'",
        ),
        ({"__signals_app__": "instance", "label": "shop.Order"}, "cannot read"),
        (
            {
                "__signals_app__": "instance",
                "label": "shop.Order",
                "db": "default",
                "pk": "not a number",
            },
            "cannot read",
        ),
        (
            {"__signals_app__": "unsaved", "label": "shop.Tag", "fields": {"x": 1}},
            "shop.Tag has no 'x'",
        ),
        ({"__signals_app__": "import", "path": "os.system"}, "unknown tag 'import'"),
        ({"__signals_app__": "set", "items": 5}, "cannot read"),
        ({TAG: "datetime", "value": "yesterday"}, "cannot read"),
        ({TAG: "datetime", "value": 5}, "cannot read"),
        (
            {TAG: "datetime", "value": "2026-01-01T00:00", "zone": "Mars/Base"},
            "cannot read",
        ),
        ({TAG: "date", "value": "2026-02-30"}, "cannot read"),
        ({TAG: "time", "value": "25:00"}, "cannot read"),
        (
            {TAG: "timedelta", "days": 1.5, "seconds": 0, "microseconds": 0},
            "cannot read",
        ),
        (
            {TAG: "timedelta", "days": 10**10, "seconds": 0, "microseconds": 0},
            "cannot read",
        ),
        ({TAG: "decimal", "value": "lots"}, "cannot read"),
        ({TAG: "uuid", "value": "not-a-uuid"}, "cannot read"),
        ({TAG: "tuple", "items": {"a": 1}}, "cannot read"),
        ({TAG: "field", "text": "x"}, "unknown tag 'field'"),
        (
            {TAG: "instance", "label": "shop.StockCount", "db": "default", "pk": ["A"]},
            "cannot read",
        ),
        (
            {TAG: "unsaved", "label": "shop.Tag", "db": "nowhere", "fields": {}},
            "no database 'nowhere'",
        ),
        (
            {TAG: "instance", "label": "shop.Order", "db": "default", "pk": True},
            "True is not how a value of shop.Order.id is written",
        ),
        (
            {TAG: "instance", "label": "shop.Order", "db": "default", "pk": 1.0},
            "1.0 is not how a value of shop.Order.id is written",
        ),
        (
            {TAG: "instance", "label": "shop.Order", "db": "default", "pk": "1"},
            "'1' is not how a value of shop.Order.id is written",
        ),
        (
            {
                TAG: "instance",
                "label": "shop.Parcel",
                "db": "default",
                "pk": str(uuid.UUID(int=1)),
            },
            "is not how a value of shop.Parcel.id is written",
        ),
    ],
)
def test_a_value_encode_could_not_have_made_is_refused(value: Any, message: str):
    payload = good(kwargs={"value": value})

    with pytest.raises(InvalidPayload, match=message):
        decode(payload)


def test_field_values_of_a_saved_instance_are_refused_unless_decoded_as_sent():
    # Without this, a payload could bring a row the database never had
    # (a superuser, say) for any key that does not exist.
    customer = CustomerFactory()
    payload = encode("r", None, {"instance": customer}, deleting=False, as_sent=True)
    customer.delete()

    with pytest.raises(InvalidPayload, match="field values of a saved instance"):
        decode(payload)


def test_a_label_of_a_swapped_model_is_refused(settings):
    settings.AUTH_USER_MODEL = "shop.Customer"
    payload = good(kwargs={"user": {TAG: "model", "label": "auth.User"}})

    with pytest.raises(
        InvalidPayload, match=r"auth\.User is swapped for shop\.Customer"
    ):
        decode(payload)


# --- which field values travel ------------------------------------------------------


def test_a_user_models_password_hash_does_not_travel_by_default():
    user = User.objects.create_user("ann", password="s3cret!")

    payload = encode("r", User, {"instance": user}, deleting=True)

    fields = payload["kwargs"]["instance"]["fields"]
    assert "password" not in fields
    assert fields["username"] == "ann"


def test_fields_names_the_values_that_travel_besides_the_key():
    order = OrderFactory(number="A-1")

    payload = encode(
        "r", Order, {"instance": order}, deleting=True, fields=frozenset({"number"})
    )

    assert payload["kwargs"]["instance"]["fields"] == {"id": order.pk, "number": "A-1"}


def test_fields_takes_a_foreign_keys_name_or_its_attname():
    order = OrderFactory()

    by_name, by_attname = (
        encode("r", Order, {"i": order}, deleting=True, fields=frozenset({name}))
        for name in ("customer", "customer_id")
    )

    expected = {"id": order.pk, "customer_id": order.customer_id}
    assert by_name["kwargs"]["i"]["fields"] == expected
    assert by_attname["kwargs"]["i"]["fields"] == expected


def test_fields_may_name_the_password_hash_on_purpose():
    user = User.objects.create_user("ann", password="s3cret!")

    payload = encode(
        "r", User, {"instance": user}, deleting=True, fields=frozenset({"password"})
    )

    assert payload["kwargs"]["instance"]["fields"]["password"] == user.password


def test_a_field_whose_value_did_not_travel_comes_back_deferred_not_defaulted():
    order = OrderFactory(status=Order.Status.PAID)
    payload = encode(
        "r", Order, {"instance": order}, deleting=True, fields=frozenset({"number"})
    )

    _, kwargs = decode(json.loads(json.dumps(payload)))

    back = kwargs["instance"]
    assert back.number == order.number
    # Not "new", the field's default, which this row never had.
    assert "status" in back.get_deferred_fields()
