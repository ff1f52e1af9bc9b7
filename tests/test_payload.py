"""The JSON payload of a queued delivery: what travels, what comes back, what not."""

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from signals_app.payload import (
    FORMAT,
    InvalidPayload,
    NotSerializable,
    decode,
    encode,
    receiver_of,
)
from testproject.shop.models import Customer, GiftOrder, Order, Tag
from tests.factories import CustomerFactory, GiftOrderFactory, OrderFactory, TagFactory

pytestmark = pytest.mark.django_db(databases=["default", "other"])


def round_trip(
    sender: Any = None, *, deleting: bool = False, **named: Any
) -> tuple[Any, dict[str, Any]]:
    """Encode, go through JSON text as a task backend would, decode."""
    payload = encode("a receiver", sender, named, deleting=deleting)
    travelled = json.loads(json.dumps(payload, allow_nan=False))
    assert receiver_of(travelled) == "a receiver"
    return decode(travelled)


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


def test_tuples_come_back_as_lists():
    assert round_trip(pair=(1, 2))[1] == {"pair": [1, 2]}


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
        number="N-1", total=Decimal("3"), created=datetime(2026, 1, 1, tzinfo=UTC)
    )

    _, kwargs = round_trip(instance=order)

    assert kwargs["instance"].pk is None
    assert kwargs["instance"].number == "N-1"
    assert kwargs["instance"].created == datetime(2026, 1, 1, tzinfo=UTC)


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


@pytest.mark.parametrize(
    ("named", "argument", "problem"),
    [
        ({"when": datetime(2026, 1, 1)}, "when", "is a datetime.datetime"),
        ({"amount": Decimal("1")}, "amount", "is a decimal.Decimal"),
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


# --- what the worker refuses --------------------------------------------------------


def good(**changes: Any) -> dict[str, Any]:
    return {**encode("r", None, {"n": 1}, deleting=False), **changes}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("a string", "not a signals_app payload"),
        ({"receiver": "r"}, "not a signals_app payload"),
        ({**good(), "extra": 1}, "not a signals_app payload"),
        (good(format=99), "payload format 99, this version reads 1"),
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
    ],
)
def test_a_value_encode_could_not_have_made_is_refused(value: Any, message: str):
    payload = good(kwargs={"value": value})

    with pytest.raises(InvalidPayload, match=message):
        decode(payload)
