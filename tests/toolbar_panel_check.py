"""
The debug toolbar panel, through real requests.

Not collected by the main run (no ``test_`` prefix): it needs
``--ds=tests.settings_toolbar``, and ``tests/test_panels.py`` runs it so.
"""

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from debug_toolbar.store import get_store
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.urls import path

from signals_app import tracing
from signals_app.delivery import Queued
from signals_app.signals import m2m_changed, post_save
from testproject.shop.models import Order, Tag
from tests import urls_toolbar
from tests.factories import OrderFactory
from tests.urls_toolbar import order_placed


def tag_order(request: HttpRequest) -> HttpResponse:
    order = Order.objects.get(number=request.GET["number"])
    order.tags.add(Tag.objects.create(name="gift"))
    return HttpResponse("<html><body>tagged</body></html>")


class TaggingFailed(Exception):
    pass


def tag_order_and_fail(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        tag_order(request)
        raise TaggingFailed("rolled back on purpose")


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("repr() fails")


def place_odd_order(request: HttpRequest) -> HttpResponse:
    order_placed.send(sender=Unprintable(), number=Unprintable())
    return HttpResponse("<html><body>placed</body></html>")


async def create_order_async(request: HttpRequest) -> HttpResponse:
    await sync_to_async(OrderFactory)(number="A2")
    return HttpResponse("<html><body>created</body></html>")


def create_two_orders_keep_one(request: HttpRequest) -> HttpResponse:
    OrderFactory(number="KEPT")
    with transaction.atomic():
        OrderFactory(number="ROLLED-BACK")
        transaction.set_rollback(True)
    return HttpResponse("<html><body>one kept</body></html>")


# This module is also a URLconf (pytest.mark.urls): the toolbar's URLs;
# views that change a many-to-many relation, one in a transaction it rolls
# back; one sending objects that cannot be shown; an async one.
urlpatterns = [
    path("tag-order/", tag_order),
    path("tag-order-and-fail/", tag_order_and_fail),
    path("place-odd-order/", place_odd_order),
    path("create-order-async/", create_order_async),
    path("create-two-orders-keep-one/", create_two_orders_keep_one),
    *urls_toolbar.urlpatterns,
]


def placed(sender: Any, **kwargs: Any) -> None:
    pass


def order_saved(sender: Any, **kwargs: Any) -> None:
    pass


@pytest.fixture(autouse=True)
def fresh_store():
    get_store().clear()


@pytest.fixture
def connected():
    order_placed.connect(placed)
    yield
    order_placed.disconnect(placed)


def render_panel(client: Client, panel_id: str = "SignalsAppPanel") -> str:
    [request_id] = get_store().request_ids()
    response = client.get(
        "/__debug__/render_panel/", {"request_id": request_id, "panel_id": panel_id}
    )
    assert response.status_code == 200
    # Dotted names carry <wbr> after each dot, where a narrow column may
    # wrap them; the assertions read the names whole.
    return response.json()["content"].replace("<wbr>", "")


def test_the_panel_turns_tracing_on_without_the_setting(connected):
    tracing.uninstall()
    client = Client()

    client.get("/place-order/")

    assert tracing.is_installed()
    assert "tests.toolbar_panel_check.placed" in render_panel(client)


def test_panel_lists_the_receivers_that_ran_in_the_request(connected):
    client = Client()

    page = client.get("/place-order/")

    assert page.status_code == 200
    assert "1 receiver in" in page.content.decode()
    content = render_panel(client)
    assert ".order_placed</code>" in content
    assert "&#x27;checkout&#x27;" in content
    assert "tests.toolbar_panel_check.placed" in content
    assert "Total" in content


def test_panel_works_under_asgi(connected):
    async_to_sync(AsyncClient().get)("/place-order/")

    content = render_panel(Client())
    assert "tests.toolbar_panel_check.placed" in content


def test_panel_says_when_no_receiver_ran():
    client = Client()
    client.get("/place-order/")

    assert "No receiver ran in this request." in render_panel(client)


def test_the_toolbars_own_signals_panel_still_renders(connected):
    client = Client()
    client.get("/place-order/")

    assert render_panel(client, panel_id="SignalsPanel")


def panel_button(page: str) -> str:
    [button] = re.findall(
        r'<li id="djdt-SignalsAppPanel".*?</li>', page, flags=re.DOTALL
    )
    return button


def test_panel_has_an_icon_as_the_toolbars_panels_do():
    page = Client().get("/place-order/").content.decode()

    # Inlined from the static path, as the toolbar's own panels' icons are.
    assert '<svg class="djdt-nav-icon"' in panel_button(page)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_panel_lists_receivers_delivered_later_with_their_delivery():
    def confirm(**kwargs: Any) -> None:
        pass

    OrderFactory(number="T1")
    post_save.connect(confirm, sender="shop.Tag", delivery="on_commit")
    try:
        client = Client()
        page = client.get("/tag-order/", {"number": "T1"}).content.decode()
        content = render_panel(client)
    finally:
        post_save.disconnect(confirm, sender="shop.Tag")

    assert "1 later" in panel_button(page)
    assert "Delivered later" in content
    assert "test_panel_lists_receivers_delivered_later_with_their_delivery" in content
    assert "<code>on_commit</code>" in content
    assert "called once default commits" in content


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_panel_shows_the_action_of_m2m_changed():
    def tagged(**kwargs: Any) -> None:
        pass

    OrderFactory(number="T1")
    m2m_changed.connect(tagged, sender=Order.tags.through, delivery="on_commit")
    try:
        client = Client()
        client.get("/tag-order/", {"number": "T1"})
        content = render_panel(client)
    finally:
        m2m_changed.disconnect(tagged, sender=Order.tags.through)

    assert "action=&#x27;pre_add&#x27;" in content
    assert "action=&#x27;post_add&#x27;" in content
    assert "instance=shop.Order(pk=" in content


@pytest.mark.django_db
def test_panel_shows_created_and_the_task_options():
    def index(**kwargs: Any) -> None:
        pass

    post_save.connect(
        index,
        sender="shop.Order",
        delivery=Queued(missing="skip"),
        dispatch_uid="panel.index",
    )
    try:
        client = Client()
        client.post(
            "/shop/orders/", {"email": "bo@example.com", "number": "B1", "total": "9"}
        )
        content = render_panel(client)
    finally:
        post_save.disconnect(sender="shop.Order", dispatch_uid="panel.index")

    assert "created=True" in content
    assert "task (missing=&#x27;skip&#x27;)" in content
    # django-tasks-db on the signal's database: the outbox.
    assert "written to default with the data" in content


@pytest.mark.django_db
def test_panel_lists_receivers_of_forwarded_model_signals():
    post_save.connect(order_saved, sender="shop.Order")
    try:
        client = Client()
        client.post(
            "/shop/orders/", {"email": "ann@example.com", "number": "A1", "total": "9"}
        )
        content = render_panel(client)
    finally:
        post_save.disconnect(order_saved, sender="shop.Order")

    assert "tests.toolbar_panel_check.order_saved" in content


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_panel_shows_the_arguments_of_receivers_called_now():
    def tagged(**kwargs: Any) -> None:
        pass

    OrderFactory(number="T1")
    m2m_changed.connect(tagged, sender=Order.tags.through)
    try:
        client = Client()
        client.get("/tag-order/", {"number": "T1"})
        content = render_panel(client)
    finally:
        m2m_changed.disconnect(tagged, sender=Order.tags.through)

    assert "Delivered later" not in content
    assert "action=&#x27;post_add&#x27;" in content


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_on_commit_receivers_run_in_an_autocommit_view_are_listed_as_ran():
    def confirm(**kwargs: Any) -> None:
        pass

    OrderFactory(number="T1")
    post_save.connect(confirm, sender="shop.Tag", delivery="on_commit")
    try:
        client = Client()
        page = client.get("/tag-order/", {"number": "T1"}).content.decode()
        content = render_panel(client)
    finally:
        post_save.disconnect(confirm, sender="shop.Tag")

    assert "1 receiver in" in panel_button(page)
    assert "later" not in panel_button(page)
    assert "Delivered later" not in content
    assert "test_on_commit_receivers_run_in_an_autocommit_view" in content
    assert "on_commit: ran when default committed" in content


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_on_commit_receivers_dropped_by_a_rollback_are_listed_as_dropped():
    def confirm(**kwargs: Any) -> None:
        pass

    OrderFactory(number="T1")
    post_save.connect(confirm, sender="shop.Tag", delivery="on_commit")
    try:
        client = Client(raise_request_exception=False)
        response = client.get("/tag-order-and-fail/", {"number": "T1"})
        content = render_panel(client)
    finally:
        post_save.disconnect(confirm, sender="shop.Tag")

    assert response.status_code == 500
    assert "on_commit: ran" not in content
    assert "dropped: default rolled back" in content


@pytest.mark.urls(__name__)
def test_an_argument_or_sender_whose_repr_fails_leaves_the_page_working(connected):
    client = Client()

    page = client.get("/place-odd-order/")
    content = render_panel(client)

    assert page.status_code == 200
    assert "number=&lt;Unprintable: repr() failed&gt;" in content
    assert "<code>&lt;Unprintable: repr() failed&gt;</code>" in content


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_on_commit_receivers_run_in_an_async_view_under_asgi_are_listed_as_ran():
    def confirm(**kwargs: Any) -> None:
        pass

    post_save.connect(confirm, sender="shop.Order", delivery="on_commit")
    try:
        async_to_sync(AsyncClient().get)("/create-order-async/")
        content = render_panel(Client())
    finally:
        post_save.disconnect(confirm, sender="shop.Order")

    assert "Delivered later" not in content
    assert "test_on_commit_receivers_run_in_an_async_view_under_asgi" in content
    assert "on_commit: ran when default committed" in content


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_each_on_commit_call_is_listed_as_what_became_of_it():
    def confirm(**kwargs: Any) -> None:
        pass

    post_save.connect(confirm, sender="shop.Order", delivery="on_commit")
    try:
        client = Client()
        client.get("/create-two-orders-keep-one/")
        content = render_panel(client)
    finally:
        post_save.disconnect(confirm, sender="shop.Order")

    ran, later = content.split("Delivered later")
    kept = Order.objects.get(number="KEPT")
    assert f"instance=shop.Order(pk={kept.pk})" in ran
    assert ran.count("on_commit: ran when default committed") == 1
    assert later.count("dropped: default rolled back") == 1
    assert f"instance=shop.Order(pk={kept.pk})" not in later
