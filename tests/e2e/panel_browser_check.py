"""
The debug toolbar's Signals panel as a person sees it: Chromium, driven by
Playwright, opens the panel on pages served by a real server.

Not collected by the main run (no ``test_`` prefix): it needs
``--ds=tests.settings_toolbar``, and ``tests/e2e/test_panel_browser.py`` runs
it so, skipping when Chromium or Playwright is missing. Each page's panel is
saved as a PNG under ``artifacts/`` for people to look at.

Requests here run in autocommit, as on a development server: an
``on_commit`` receiver runs during the request.
"""

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from shutil import which
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from playwright.sync_api import Locator, Page, expect, sync_playwright

from signals_app.delivery import Queued
from signals_app.dispatch import Signal
from signals_app.signals import post_save
from testproject.shop.models import Customer, Order

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEIGHT = 768
# Enough receivers that the table runs past one screen.
MANY = 25

order_placed = Signal()
# No favicon to ask for: the server would log its 404.
PAGE = (
    '<!DOCTYPE html><html><head><link rel="icon" href="data:,">'
    "<title>Checkout</title></head><body>{}</body></html>"
)


def place_order() -> None:
    customer = Customer.objects.create(
        name="Ada", email=f"ada-{uuid.uuid4().hex}@example.com"
    )
    order = Order.objects.create(
        customer=customer, number=uuid.uuid4().hex[:12], total=Decimal("12.50")
    )
    # Arguments whose reprs run long.
    order_placed.send(
        sender=Order,
        order=order,
        note="gift wrap, " * 40,
        lines=[{"sku": f"SKU-{n:05}", "quantity": n} for n in range(50)],
    )


def checkout(request: HttpRequest) -> HttpResponse:
    place_order()
    return HttpResponse(PAGE.format("<h1>Order placed</h1>"))


async def checkout_async(request: HttpRequest) -> HttpResponse:
    await sync_to_async(place_order)()
    return HttpResponse(PAGE.format("<h1>Order placed, asynchronously</h1>"))


urlpatterns = [
    path("checkout/", checkout),
    path("checkout-async/", checkout_async),
    path("__debug__/", include("debug_toolbar.urls")),
]


def audit_order_saved(**kwargs: Any) -> None:
    pass


def send_the_order_confirmation_mail_once_the_order_is_stored(**kwargs: Any) -> None:
    pass


def index_order(**kwargs: Any) -> None:
    pass


@pytest.fixture
def receivers() -> Iterator[None]:
    post_save.connect(audit_order_saved, sender="shop.Order")
    post_save.connect(
        send_the_order_confirmation_mail_once_the_order_is_stored,
        sender="shop.Order",
        delivery="on_commit",
    )
    post_save.connect(index_order, sender="shop.Order", delivery=Queued(missing="skip"))
    many = [lambda **kwargs: None for _ in range(MANY)]
    for each in many:
        order_placed.connect(each)
    yield
    for each in many:
        order_placed.disconnect(each)
    post_save.disconnect(index_order, sender="shop.Order")
    post_save.disconnect(
        send_the_order_confirmation_mail_once_the_order_is_stored, sender="shop.Order"
    )
    post_save.disconnect(audit_order_saved, sender="shop.Order")


@pytest.fixture
def browser_page(live_server: Any, receivers: None) -> Iterator[Page]:
    # Set up after the live server and its database, so it closes first:
    # Playwright's event loop must be gone before the database is flushed,
    # which Django refuses to do from a thread running one.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=which("chromium"), args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def open_panel(page: Page, url: str, width: int) -> None:
    # Playwright's locators reach into the toolbar's shadow root; the
    # document's own querySelector() would not.
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto(url)
    page.locator("#djdt-SignalsAppPanel a").click()
    # The panel's stylesheet arrives with its content; measure once it applies.
    expect(panel_tables(page).first).to_have_css("table-layout", "fixed")


def panel_tables(page: Page) -> Locator:
    return page.locator("#SignalsAppPanel .djdt-signals-app table")


def cells_outside_the_panel(page: Page) -> list[str]:
    """Each table cell of the panel not wholly inside its visible area, or
    whose text does not fit inside it."""
    return page.locator("#SignalsAppPanel .djdt-scroll").evaluate(
        """(area) => {
            const box = area.getBoundingClientRect();
            // clientWidth leaves out a vertical scrollbar.
            const left = box.left + area.clientLeft;
            const right = Math.min(left + area.clientWidth, window.innerWidth);
            const outside = [];
            area.querySelectorAll("table").forEach((table, t) => {
                table.querySelectorAll("th, td").forEach((cell) => {
                    const r = cell.getBoundingClientRect();
                    const where = `table ${t + 1}, ${cell.tagName} `
                        + `${cell.textContent.trim().slice(0, 30)}`;
                    if (r.left < left - 0.5 || r.right > right + 0.5) {
                        outside.push(
                            `${where}: ${r.left}-${r.right} not in ${left}-${right}`
                        );
                    }
                    // Text running past its cell is cut or overlaps the next.
                    if (cell.scrollWidth > cell.clientWidth + 1) {
                        outside.push(`${where}: text wider than the cell`);
                    }
                });
            });
            if (area.scrollWidth > area.clientWidth) {
                outside.push(`scrolls sideways: ${area.scrollWidth} px`);
            }
            return outside;
        }"""
    )


def ran(page: Page) -> list[dict[str, str]]:
    """The rows of the table of receivers that ran: receiver cell and time."""
    return panel_tables(page).first.evaluate(
        """(table) => Array.from(
            table.querySelectorAll("tbody tr"),
            (row) => ({
                receiver: row.cells[3].innerText,
                time: row.cells[5].innerText,
            }),
        )"""
    )


@pytest.mark.parametrize("width", [1366, 1024])
@pytest.mark.parametrize("view", ["checkout", "checkout-async"])
@pytest.mark.urls(__name__)
def test_every_column_of_every_table_is_inside_the_panel(
    browser_page: Page, live_server: Any, view: str, width: int
):
    open_panel(browser_page, f"{live_server.url}/{view}/", width)

    ARTIFACTS.mkdir(exist_ok=True)
    shots = [ARTIFACTS / f"signals-panel-{view}-{width}x{HEIGHT}.png"]
    browser_page.screenshot(path=shots[0])
    # And the table of calls delivered later, below the fold.
    panel_tables(browser_page).nth(1).scroll_into_view_if_needed()
    shots.append(ARTIFACTS / f"signals-panel-{view}-{width}x{HEIGHT}-later.png")
    browser_page.screenshot(path=shots[1])

    assert panel_tables(browser_page).count() == 2
    assert cells_outside_the_panel(browser_page) == []
    assert all(shot.stat().st_size > 0 for shot in shots)


@pytest.mark.parametrize("view", ["checkout", "checkout-async"])
@pytest.mark.urls(__name__)
def test_receivers_run_in_the_request_are_listed_as_ran_with_their_timings(
    browser_page: Page, live_server: Any, view: str
):
    open_panel(browser_page, f"{live_server.url}/{view}/", 1366)

    rows = ran(browser_page)
    assert [row["receiver"].split("\n")[0] for row in rows[:2]] == [
        "tests.e2e.panel_browser_check.audit_order_saved",
        "tests.e2e.panel_browser_check"
        ".send_the_order_confirmation_mail_once_the_order_is_stored",
    ]
    assert "on_commit: ran when default committed" in rows[1]["receiver"]
    assert sum("<lambda>" in row["receiver"] for row in rows) == MANY
    assert all(float(row["time"]) >= 0 for row in rows)


@pytest.mark.urls(__name__)
def test_the_task_is_listed_as_delivered_later(browser_page: Page, live_server: Any):
    open_panel(browser_page, f"{live_server.url}/checkout/", 1366)

    later = panel_tables(browser_page).nth(1)
    assert later.locator("tbody tr").count() == 1
    text = later.inner_text()
    assert "tests.e2e.panel_browser_check.index_order" in text
    assert "written to default with the data" in text
