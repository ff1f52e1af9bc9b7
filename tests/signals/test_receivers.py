"""
How our receivers are called from Django's hooks: in registration order,
synchronous and asynchronous alike, and with errors propagating as they would
from Django's own signals.
"""

import pytest
from django.db.models import signals as django_signals

from signals_app import signals
from testproject.shop.models import Customer, Order
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


class Refused(Exception):
    """Raised by a receiver on purpose."""


def test_registration_order_mixes_specific_and_any_sender_receivers(record):
    journal = []
    for name, sender in [("a", Order), ("b", None), ("c", Order), ("d", None)]:
        record(signals.post_save, sender, name=name, journal=journal)
    record(signals.post_save, Customer, name="e", journal=journal)

    customer = CustomerFactory()
    OrderFactory(customer=customer)

    assert [(name, call.sender) for name, call in journal] == [
        ("b", Customer),
        ("d", Customer),
        ("e", Customer),
        ("a", Order),
        ("b", Order),
        ("c", Order),
        ("d", Order),
    ]


def test_order_is_kept_when_an_any_sender_receiver_goes(record):
    journal = []
    record(signals.post_save, Order, name="a", journal=journal)
    any_sender = record(signals.post_save, name="b", journal=journal)
    record(signals.post_save, Order, name="c", journal=journal)

    any_sender.disconnect()
    OrderFactory()

    assert [name for name, call in journal if call.sender is Order] == ["a", "c"]


def test_async_receiver_on_a_model_signal_called_from_sync_code(record):
    sync_receiver = record(signals.post_save, sender=Customer)
    async_receiver = record(signals.post_save, sender=Customer, is_async=True)

    customer = CustomerFactory()

    assert async_receiver.values("instance", "created") == [(customer, True)]
    assert async_receiver.calls == sync_receiver.calls


def test_receiver_error_propagates_and_nothing_is_written(record):
    error = Refused("no saving today")
    refusing = record(signals.pre_save, sender=Customer, raises=error)
    later = record(signals.pre_save, sender=Customer)

    with pytest.raises(Refused) as raised:
        Customer.objects.create(name="Lou", email="lou@example.com")

    assert raised.value is error
    assert len(refusing.calls) == 1
    assert later.calls == []
    assert not Customer.objects.exists()


def test_receiver_error_stops_django_receivers_connected_after_ours(record):
    record(signals.post_save, sender=Customer, raises=Refused())
    djangos = record(django_signals.post_save, sender=Customer)

    with pytest.raises(Refused):
        CustomerFactory()

    assert djangos.calls == []


def test_async_receiver_error_propagates(record):
    error = Refused("not from a coroutine either")
    record(signals.pre_save, sender=Customer, is_async=True, raises=error)

    with pytest.raises(Refused) as raised:
        CustomerFactory()

    assert raised.value is error
    assert not Customer.objects.exists()
