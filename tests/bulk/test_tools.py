"""
The shipped tools see the bulk signals as any other: the test helpers
(``record``, ``mute``), the inspector and tracing.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from signals_app import tracing
from signals_app.bulk import OldValues, post_bulk_update, post_update, pre_update
from signals_app.inspector import collect
from signals_app.testing import mute, record
from testproject.shop.models import Order

pytestmark = pytest.mark.django_db


def on_update(sender: Any, **kwargs: Any) -> None:
    pass


def test_record_lists_the_updates_with_their_rows(orders):
    with record(post_update, sender=Order) as calls:
        Order.objects.filter(pk=orders[0].pk).update(status="paid")

    [call] = calls
    assert call.signal is post_update
    assert call.sender is Order
    assert call.kwargs["pks"] == [orders[0].pk]
    # record()'s receiver asks for nothing more than the keys.
    assert call.kwargs["values"] is None


def test_record_of_bulk_update_sees_one_send(orders):
    for order in orders:
        order.status = "paid"
    with record(post_update, post_bulk_update) as calls:
        Order.objects.bulk_update(orders, ["status"], batch_size=1)

    assert [call.signal for call in calls] == [post_bulk_update]


def test_mute_silences_them_and_the_write_goes_back_to_djangos(
    listen, orders, django_assert_num_queries
):
    heard = listen(pre_update, sender=Order, when=OldValues())
    with mute(pre_update), django_assert_num_queries(1):
        Order.objects.update(status="paid")
    assert heard.received() == []


def test_the_inspector_lists_their_receivers(listen):
    listen(post_update, on_update, sender=Order, dispatch_uid="bulk.inspected")

    [report] = collect(signals=["post_update"])

    assert report.name == "signals_app.signals.post_update"
    [receiver] = report.receivers
    assert receiver.receiver == "tests.bulk.test_tools.on_update"
    assert receiver.sender == "shop.Order"


@pytest.fixture
def tracing_on() -> Iterator[None]:
    tracing.install()
    yield
    tracing.uninstall()


def test_tracing_times_their_receivers(listen, orders, tracing_on):
    listen(post_update, on_update, sender=Order)

    with tracing.trace() as trace:
        Order.objects.update(status="paid")

    [call] = trace.calls
    assert call.signal is post_update
    assert call.receiver is on_update
    assert call.signal_name == "signals_app.signals.post_update"
    assert call.duration is not None
