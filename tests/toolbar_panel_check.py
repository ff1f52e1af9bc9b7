"""
The debug toolbar panel, through real requests.

Not collected by the main run (no ``test_`` prefix): it needs
``--ds=tests.settings_toolbar``, and ``tests/test_panels.py`` runs it so.
"""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.store import get_store
from django.test import AsyncClient, Client

from signals_app import tracing
from signals_app.signals import post_save
from tests.urls_toolbar import order_placed


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
    return response.json()["content"]


def test_tracing_is_installed_by_the_setting():
    assert tracing.is_installed()


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
