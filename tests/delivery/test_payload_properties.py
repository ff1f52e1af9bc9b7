"""
Properties of the payload, over generated values (hypothesis): what
``encode()`` writes comes back from ``decode()`` as it left, through JSON
text; what anyone else writes is refused with ``InvalidPayload`` (or the
model's ``DoesNotExist`` for a row that is not there), never another error.
"""

import datetime
import decimal
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signals_app.delivery import sealed
from signals_app.delivery.decoding import decode, receiver_of
from signals_app.delivery.encoding import arguments_text, encode
from signals_app.delivery.payload import InvalidPayload
from testproject.shop.models import (
    Customer,
    GiftOrder,
    Parcel,
    PriorityOrder,
    StockCount,
    Warehouse,
)
from tests.factories import (
    CustomerFactory,
    GiftOrderFactory,
    OrderFactory,
    ParcelFactory,
    StockCountFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db(databases=["default", "other"])

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

ZONES = st.sampled_from([None, datetime.UTC, ZoneInfo("Europe/Paris")])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(timezones=ZONES),
    st.times(timezones=st.sampled_from([None, datetime.UTC])),
    st.timedeltas(),
)
HASHABLE = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.uuids())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(
            st.one_of(st.text(), st.just("__signals_app__")), inner, max_size=4
        ),
        st.sets(HASHABLE, max_size=4),
        st.frozensets(HASHABLE, max_size=4),
    ),
    max_leaves=12,
)


@contextmanager
def apart() -> Iterator[None]:
    """
    One example's writes, rolled back after it: examples share their test's
    transaction, and a database error in one must not break the next.
    """
    with transaction.atomic(using="default"), transaction.atomic(using="other"):
        yield
        transaction.set_rollback(True, using="default")
        transaction.set_rollback(True, using="other")


def typed(value: Any) -> Any:
    """``value`` with the type of each part, so that 1 is not True nor 1.0."""
    if isinstance(value, dict):
        return (dict, {key: typed(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return (type(value), [typed(item) for item in value])
    if isinstance(value, set | frozenset):
        return (type(value), sorted(map(repr, value)))
    if isinstance(value, decimal.Decimal):
        # Decimal("1.0") == Decimal("1.00"): the text tells them apart.
        return (decimal.Decimal, str(value))
    if isinstance(value, datetime.datetime | datetime.time):
        return (type(value), value, value.utcoffset(), repr(value.tzinfo))
    return (type(value), value)


def travelled(payload: dict) -> dict:
    """The payload as a worker reads it: signed, stored as JSON, opened."""
    data = json.loads(json.dumps(sealed.seal(payload, str(uuid.uuid4()), "fail")))
    return sealed.unseal(data).payload


@EXAMPLES
@given(value=VALUES)
def test_every_value_kind_comes_back_with_its_type(value):
    payload = travelled(encode("r", None, {"value": value}, deleting=False))

    _, kwargs = decode(payload)

    assert typed(kwargs["value"]) == typed(value)


def compact(value: Any) -> str:
    """``value`` as the standard library writes JSON with no spaces."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


NAMES = st.one_of(st.sampled_from(["value", "using", "update_fields"]), st.text())


@EXAMPLES
@given(named=st.dictionaries(NAMES, VALUES, max_size=4))
def test_the_producer_writes_the_arguments_as_json_writes_their_encoding(named):
    written = arguments_text("r", None, named, deleting=False)

    assert written == compact(encode("r", None, named, deleting=False)["kwargs"])


def _saved(kind: str, db: str, key: str) -> Any:
    if kind == "text key":
        return WarehouseFactory._meta.model.objects.using(db).get_or_create(
            code=f"k{key}"[:10], defaults={"name": "w"}
        )[0]
    factory = {
        "integer key": CustomerFactory,
        "UUID key": ParcelFactory,
        "composite key": StockCountFactory,
        "multi-table child": GiftOrderFactory,
    }.get(kind)
    if factory is not None:
        return factory() if db == "default" else _on_other(factory)
    order = OrderFactory() if db == "default" else _on_other(OrderFactory)
    return PriorityOrder.objects.using(db).get(pk=order.pk)


def _on_other(factory: Any) -> Any:
    if factory is StockCountFactory:
        warehouse = WarehouseFactory._meta.model.objects.using("other").create(
            code=uuid.uuid4().hex[:10], name="w"
        )
        return StockCount.objects.using("other").create(
            warehouse=warehouse, day=datetime.date(2024, 1, 1)
        )
    if factory is GiftOrderFactory:
        customer = _customer_on_other()
        return GiftOrder.objects.using("other").create(
            customer=customer, number=uuid.uuid4().hex[:20], message="m"
        )
    if factory is OrderFactory:
        customer = _customer_on_other()
        return PriorityOrder.objects.using("other").create(
            customer=customer, number=uuid.uuid4().hex[:20]
        )
    model = factory._meta.model
    if model is Parcel:
        return Parcel.objects.using("other").create(weight=decimal.Decimal("1.5"))
    return _customer_on_other()


def _customer_on_other() -> Customer:
    return Customer.objects.using("other").create(
        name="c", email=f"{uuid.uuid4().hex}@example.com"
    )


KINDS = [
    "integer key",
    "text key",
    "UUID key",
    "composite key",
    "multi-table child",
    "proxy model",
]


# Text keys a database can hold: no NUL, and no lone surrogate, which no
# driver can encode (the key "\ud800" failed in the query, not in ours).
STORABLE_KEYS = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    min_size=1,
    max_size=10,
)


@EXAMPLES
@given(
    kind=st.sampled_from(KINDS),
    db=st.sampled_from(["default", "other"]),
    key=STORABLE_KEYS,
    deleting=st.booleans(),
)
def test_an_instance_of_every_key_kind_comes_back_as_that_row(kind, db, key, deleting):
    with apart():
        _check_instance_round_trip(kind, db, key, deleting)


@EXAMPLES
@given(
    kind=st.sampled_from(KINDS),
    db=st.sampled_from(["default", "other"]),
    key=STORABLE_KEYS,
    how=st.sampled_from(["saved", "deleting", "as_sent", "adding"]),
)
def test_the_producer_writes_an_instance_of_every_key_kind_as_json_does(
    kind, db, key, how
):
    with apart():
        instance = _saved(kind, db, key)
        instance._state.adding = how == "adding"
        named = {"instance": instance, "created": False, "using": db}
        options = {"deleting": how == "deleting", "as_sent": how == "as_sent"}

        written = arguments_text("r", type(instance), named, **options)

        expected = encode("r", type(instance), named, **options)["kwargs"]
        assert written == compact(expected)


def _check_instance_round_trip(kind: str, db: str, key: str, deleting: bool) -> None:
    instance = _saved(kind, db, key)
    model = type(instance)
    payload = travelled(
        encode("r", model, {"instance": instance, "using": db}, deleting=deleting)
    )

    sender, kwargs = decode(payload)

    back = kwargs["instance"]
    assert sender is model
    assert (type(back), back.pk, back._state.db) == (model, instance.pk, db)
    assert back._state.adding is deleting
    assert {f.attname: f.value_from_object(back) for f in model._meta.fields} == {
        f.attname: f.value_from_object(instance) for f in model._meta.fields
    }


# --- what someone else wrote -------------------------------------------------------


def _sample_payload() -> dict:
    parcel = ParcelFactory()
    warehouse = Warehouse.objects.get_or_create(code="sample", name="w")[0]
    named = {
        "instance": parcel,
        "model": Warehouse,
        "pk_set": {warehouse.pk},
        "when": datetime.datetime(2024, 5, 1, 12, tzinfo=ZoneInfo("Europe/Paris")),
        "using": "default",
    }
    deleted = encode("r", Parcel, {"gone": parcel}, deleting=True)["kwargs"]
    payload = encode("r", Parcel, named, deleting=False)
    payload["kwargs"]["gone"] = deleted["gone"]
    return json.loads(json.dumps(payload))


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.sampled_from(
            ["__signals_app__", "instance", "unsaved", "shop.Parcel", "auth.User"]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=10), inner, max_size=3),
    ),
    max_leaves=8,
)


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _changed(payload: dict, path: tuple, how: str, new: Any) -> Any:
    if not path:
        return new
    inner = payload
    for step in path[:-1]:
        inner = inner[step]
    last = path[-1]
    if how == "replace":
        inner[last] = new
    elif how == "drop":
        del inner[last]
    elif isinstance(inner[last], dict):
        inner[last]["extra"] = new
    else:
        inner[last] = [inner[last], new]
    return payload


@EXAMPLES
@given(
    data=st.data(),
    how=st.sampled_from(["replace", "drop", "extra"]),
    new=JSON,
)
def test_a_payload_changed_anywhere_is_read_or_refused_never_a_crash(data, how, new):
    with apart():
        payload = _sample_payload()
        path = data.draw(st.sampled_from(_paths(payload)))
        if how == "drop" and not path:
            how = "replace"

        changed = _changed(payload, path, how, new)

        try:
            receiver_of(changed)
            decode(changed, as_sent=data.draw(st.booleans()))
        except (InvalidPayload, ObjectDoesNotExist):
            pass


@EXAMPLES
@given(text=st.text(), cut=st.integers(min_value=0, max_value=600))
def test_signed_text_cut_short_or_replaced_is_refused_as_invalid(text, cut):
    event = str(uuid.uuid4())
    data = sealed.seal(encode("r", None, {"n": 1}, deleting=False), event, "fail")

    for forged in {data[:cut], text, data[:cut] + text} - {data}:
        with pytest.raises(InvalidPayload):
            sealed.unseal(forged)
        assert all(isinstance(said, str) for said in sealed.claimed(forged))
