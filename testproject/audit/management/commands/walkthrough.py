"""Walk through the example shop and show each signal the audit receivers get."""

import asyncio
import io
import logging
from decimal import Decimal
from typing import Any
from wsgiref.util import setup_testing_defaults

from django.core.management import call_command
from django.core.management.base import BaseCommand

from testproject.asgi import application as asgi_application
from testproject.shop.models import Customer, Order, Tag
from testproject.wsgi import application as wsgi_application


class Command(BaseCommand):
    help = (
        "Create, update, tag and delete orders and send requests through the "
        "real WSGI and ASGI handlers, printing every signal the audit app gets."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        audit = logging.getLogger("testproject.audit.signals")
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("    %(message)s"))
        audit.addHandler(handler)
        audit.setLevel(logging.INFO)
        audit.propagate = False
        # The failing view's traceback would bury the walkthrough; the
        # got_request_exception line says what happened.
        logging.getLogger("django.request").setLevel(logging.CRITICAL)
        try:
            self._walk()
        finally:
            audit.removeHandler(handler)
            audit.propagate = True

    def _step(self, title: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(title))

    def _walk(self) -> None:
        Customer.objects.filter(email="ada@example.com").delete()

        self._step("Create a customer and two orders")
        ada = Customer.objects.create(name="Ada", email="ada@example.com")
        first = Order.objects.create(customer=ada, number="A-1", total=Decimal("12"))
        Order.objects.create(customer=ada, number="A-2", total=Decimal("30"))

        self._step("Update one field of an order")
        first.status = Order.Status.PAID
        first.save(update_fields=["status"])

        self._step("Tag the order, untag it from the tag's side, clear its tags")
        gift, urgent = (
            Tag.objects.get_or_create(name=n)[0] for n in ("gift", "urgent")
        )
        first.tags.add(gift, urgent)
        urgent.orders.remove(first)
        first.tags.clear()

        self._step("Requests through the WSGI handler")
        self._wsgi_get("/shop/orders/")
        self._wsgi_get("/shop/fail/")

        self._step("A request through the ASGI handler")
        asyncio.run(self._asgi_get("/shop/orders/count/"))

        self._step("Run the queued receivers, as manage.py db_worker does")
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0
        )

        self._step("Delete the customer: the delete cascades to the orders")
        ada.delete()
        Tag.objects.filter(name__in=["gift", "urgent"]).delete()

    def _wsgi_get(self, path: str) -> None:
        environ: dict[str, Any] = {"PATH_INFO": path, "wsgi.errors": io.StringIO()}
        setup_testing_defaults(environ)
        status: list[str] = []
        body = wsgi_application(environ, lambda s, headers: status.append(s))
        b"".join(body)
        # Closing the response is what sends request_finished.
        body.close()
        self.stdout.write(f"    -> GET {path}: {status[0]}")

    async def _asgi_get(self, path: str) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            # After the request, the client stays connected until the
            # response has gone out.
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asgi_application(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        self.stdout.write(f"    -> GET {path}: {status}")
