"""
What a worker admits: only payloads the receiver's connections could have sent.

Each payload is one ``encode()`` made for a real send, then changed as
someone holding the signing key could (or as a deploy that changed the
connection since would leave it).
"""

from typing import Any

import pytest
from django.contrib.auth.models import User

from signals_app import signals
from signals_app.delivery import allowed
from signals_app.delivery.admission import admit
from signals_app.delivery.encoding import encode
from signals_app.delivery.payload import InvalidPayload
from signals_app.dispatch import Signal
from testproject.shop.models import Customer, Order, PriorityOrder, Tag
from tests.factories import CustomerFactory, OrderFactory, TagFactory
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db

TAG = "__signals_app__"
UID = "test.admission"

# Queued receivers need a signal a worker can find by name: a module-level one.
custom = Signal()


def queued(connect: Any, signal: Any, sender: Any = None) -> tuple[Any, list]:
    """Connect a queued receiver; its signal and connections, as a worker sees them."""
    receiver = connect(
        signal, Recorder(), sender=sender, delivery="task", dispatch_uid=UID
    )
    name = allowed.name_of(signal, receiver)
    return signal, allowed.connections(name)


def saved(instance: Any, **changes: Any) -> dict:
    """The post_save payload of ``instance``, with ``changes`` to its arguments."""
    named = {
        "instance": instance,
        "created": False,
        "update_fields": None,
        "raw": False,
        "using": "default",
    }
    payload = encode("r", type(instance), named, deleting=False)
    payload["kwargs"].update(changes)
    return payload


def model(label: str) -> dict:
    return {TAG: "model", "label": label}


def test_a_payload_as_sent_for_the_connections_sender_is_admitted(connect):
    signal, connections = queued(connect, signals.post_save, Customer)

    admit(signal, connections, saved(CustomerFactory()))


def test_another_model_as_sender_is_refused(connect):
    # The review's case: a receiver for Customer handed a User.
    signal, connections = queued(connect, signals.post_save, Customer)
    admin = User.objects.create_superuser("root", password="x")

    with pytest.raises(InvalidPayload, match=r"sender .* is not one the receiver"):
        admit(signal, connections, saved(admin))


def test_a_lazy_sender_admits_the_model_it_resolved_to_only(connect):
    signal, connections = queued(connect, signals.post_save, "shop.Customer")

    admit(signal, connections, saved(CustomerFactory()))
    with pytest.raises(InvalidPayload, match="is not one the receiver"):
        admit(signal, connections, saved(OrderFactory()))


def test_a_proxy_sender_is_not_its_concrete_models(connect):
    signal, connections = queued(connect, signals.post_save, Order)
    proxy = PriorityOrder.objects.get(pk=OrderFactory().pk)

    with pytest.raises(InvalidPayload, match="is not one the receiver"):
        admit(signal, connections, saved(proxy))


def test_any_sender_admits_any_model_sender(connect):
    signal, connections = queued(connect, signals.post_save)

    admit(signal, connections, saved(OrderFactory()))


def test_any_sender_still_refuses_an_instance_of_another_model(connect):
    signal, connections = queued(connect, signals.post_save)
    payload = saved(CustomerFactory())
    payload["sender"] = model("shop.Order")

    with pytest.raises(InvalidPayload, match=r"a shop\.Customer, sent for shop\.Order"):
        admit(signal, connections, payload)


def test_an_instance_of_a_proxy_of_the_sender_is_admitted(connect):
    signal, connections = queued(connect, signals.post_save, Order)
    payload = saved(OrderFactory())
    payload["kwargs"]["instance"]["label"] = "shop.PriorityOrder"

    admit(signal, connections, payload)


def test_a_model_signal_with_a_sender_that_is_no_model_is_refused(connect):
    signal, connections = queued(connect, signals.post_save)
    payload = saved(CustomerFactory())
    payload["sender"] = "shop.Customer"

    with pytest.raises(InvalidPayload, match=r"'shop\.Customer' is not a model"):
        admit(signal, connections, payload)


def test_a_model_signal_without_its_instance_is_refused(connect):
    signal, connections = queued(connect, signals.post_save, Customer)
    payload = saved(CustomerFactory())
    del payload["kwargs"]["instance"]

    with pytest.raises(InvalidPayload, match="instance: None is not a model instance"):
        admit(signal, connections, payload)


@pytest.mark.parametrize("using", ["elsewhere", None, 0])
def test_a_using_that_names_no_database_is_refused(connect, using):
    signal, connections = queued(connect, signals.post_save, Customer)

    with pytest.raises(InvalidPayload, match="using: no database"):
        admit(signal, connections, saved(CustomerFactory(), using=using))


def test_post_save_of_an_instance_from_another_database_is_refused(connect):
    signal, connections = queued(connect, signals.post_save, Customer)

    with pytest.raises(InvalidPayload, match="from database 'default', saved with"):
        admit(signal, connections, saved(CustomerFactory(), using="other"))


def test_a_sender_that_is_no_model_is_admitted_by_its_json(connect):
    signal, connections = queued(connect, custom, (1, "a"))

    admit(signal, connections, encode("r", (1, "a"), {}, deleting=False))


@pytest.mark.parametrize(
    ("connected", "sent"),
    [(5, True), (5, 5.0), ((1, 2), [1, 2])],
    ids=["a boolean for an int", "a float for an int", "a list for a tuple"],
)
def test_a_sender_equal_to_the_connections_but_of_another_type_is_refused(
    connect, connected, sent
):
    signal, connections = queued(connect, custom, connected)

    with pytest.raises(InvalidPayload, match="is not one the receiver"):
        admit(signal, connections, encode("r", sent, {}, deleting=False))


# --- m2m_changed ------------------------------------------------------------------


def tagged(order: Order, tags: list[Tag], **changes: Any) -> dict:
    """The m2m_changed payload of adding ``tags`` to ``order``, changed."""
    named = {
        "action": "post_add",
        "instance": order,
        "reverse": False,
        "model": Tag,
        "pk_set": {tag.pk for tag in tags},
        "using": "default",
    }
    payload = encode("r", Order.tags.through, named, deleting=False)
    payload["kwargs"].update(changes)
    return payload


def test_m2m_changed_as_sent_is_admitted(connect):
    signal, connections = queued(connect, signals.m2m_changed)

    admit(signal, connections, tagged(OrderFactory(), TagFactory.create_batch(2)))


def test_m2m_changed_from_the_other_side_is_admitted(connect):
    signal, connections = queued(connect, signals.m2m_changed)
    tag, order = TagFactory(), OrderFactory()
    payload = encode(
        "r",
        Order.tags.through,
        {
            "action": "post_add",
            "instance": tag,
            "reverse": True,
            "model": Order,
            "pk_set": {order.pk},
            "using": "default",
        },
        deleting=False,
    )

    admit(signal, connections, payload)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": model("shop.Customer")}, "does not relate a shop.Order to shop.C"),
        ({"model": model("auth.User")}, "does not relate a shop.Order to auth.User"),
        ({"reverse": True}, "does not relate a shop.Order to shop.Tag"),
        ({"reverse": 0}, "reverse: 0 is not a boolean"),
        ({"pk_set": {TAG: "set", "items": [True]}}, "True is not how a value of"),
        ({"pk_set": {TAG: "set", "items": ["1"]}}, "'1' is not how a value of"),
        ({"pk_set": [1]}, "pk_set: \\[1\\] is not a set"),
        ({"model": "shop.Tag"}, "model: 'shop.Tag' is not a model"),
    ],
    ids=[
        "another model",
        "a user model",
        "flipped direction",
        "reverse not a boolean",
        "a boolean key",
        "a key as text",
        "pk_set a list",
        "model as text",
    ],
)
def test_m2m_changed_changed_is_refused(connect, changes, message):
    signal, connections = queued(connect, signals.m2m_changed)

    with pytest.raises(InvalidPayload, match=message):
        admit(signal, connections, tagged(OrderFactory(), [TagFactory()], **changes))


def test_m2m_changed_with_an_instance_of_another_model_is_refused(connect):
    signal, connections = queued(connect, signals.m2m_changed)
    payload = tagged(OrderFactory(), [TagFactory()])
    payload["kwargs"]["instance"]["label"] = "auth.User"

    with pytest.raises(InvalidPayload, match=r"does not relate a auth\.User"):
        admit(signal, connections, payload)


def test_m2m_changed_for_a_sender_that_is_no_through_model_is_refused(connect):
    signal, connections = queued(connect, signals.m2m_changed)
    payload = tagged(OrderFactory(), [TagFactory()])
    payload["sender"] = model("auth.User_groups")

    with pytest.raises(InvalidPayload, match=r"auth\.User_groups does not relate"):
        admit(signal, connections, payload)
