"""
``manage.py demo``: what signals_app adds to Django's signals, on the example
shop, in under a minute. ``./scripts/demo`` sets up and runs it.
"""

import logging
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from signals_app import tracing
from testproject.demo.receivers import INDEXED
from testproject.shop.models import Customer, Note, Order

# Customers and orders of the demo, removed again when it starts over.
DOMAIN = "demo.example.com"
# How long the worker gets to run the queued receivers, in seconds.
WORKER_PATIENCE = 30


class Cancelled(Exception):
    """Raised inside a transaction to roll it back."""


class Command(BaseCommand):
    help = (
        "Show signals_app at work on the example shop: receivers after commit, "
        "change conditions, bulk update signals, a queued receiver run by a "
        "db_worker, the inspector and a trace."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Every receiver is timed from here on, for the trace at the end.
        tracing.install()
        self._start_over()
        with self._receivers_speaking(), tracing.trace() as traced:
            ada = self._after_commit()
            self._change_condition(ada)
            self._bulk_update(ada)
            self._worker(ada)
        self._inspector()
        self._trace(traced)

    # -- The scenes --------------------------------------------------------

    def _after_commit(self) -> Customer:
        self._heading(
            "1. After commit: a receiver that waits for the transaction",
            '@receiver(post_save, sender="shop.Customer", delivery="on_commit")',
        )
        self._code(
            "with transaction.atomic():",
            f'    ada = Customer.objects.create(name="Ada", email="ada@{DOMAIN}")',
        )
        with transaction.atomic():
            ada = Customer.objects.create(name="Ada", email=f"ada@{DOMAIN}")
            self._say("inside the transaction: welcome has not run yet")
        self._code(
            "with transaction.atomic():",
            f'    Customer.objects.create(name="Bob", email="bob@{DOMAIN}")',
            "    raise Cancelled",
        )
        try:
            with transaction.atomic():
                Customer.objects.create(name="Bob", email=f"bob@{DOMAIN}")
                raise Cancelled
        except Cancelled:
            pass
        self._say("rolled back: Bob was not stored, and welcome was not called")
        return ada

    def _change_condition(self, ada: Customer) -> None:
        self._heading(
            "2. Change conditions: a receiver for one change, with old and new",
            '@receiver(post_save, sender="shop.Order", '
            'when=Changed("status", to="paid"))',
        )
        self._code(
            'order = Order.objects.create(customer=ada, number="D-1", total=12)',
            'Order.objects.create(customer=ada, number="D-2", total=30)',
        )
        order = Order.objects.create(customer=ada, number="D-1", total=Decimal(12))
        Order.objects.create(customer=ada, number="D-2", total=Decimal(30))
        self._say("created, not paid: order_paid was not called")
        self._code('order.status = "paid"', "order.save()")
        order.status = Order.Status.PAID
        order.save()
        self._code("order.total = 15", "order.save()")
        order.total = Decimal(15)
        order.save()
        self._say("the status did not change: order_paid was not called")

    def _bulk_update(self, ada: Customer) -> None:
        self._heading(
            "3. Bulk writes: QuerySet.update() heard, with old and new values",
            '@receiver(post_update, sender="shop.Order", when=OldValues())',
        )
        self._code('Order.objects.filter(customer=ada).update(status="shipped")')
        Order.objects.filter(customer=ada).update(status=Order.Status.SHIPPED)

    def _worker(self, ada: Customer) -> None:
        self._heading(
            "4. In a worker: a receiver queued as a task, run by db_worker",
            '@receiver(post_save, sender="shop.Order", when=Created(), '
            'delivery=Queued(missing="skip"))',
        )
        self._code('Order.objects.create(customer=ada, number="D-3", total=8)')
        Order.objects.create(customer=ada, number="D-3", total=Decimal(8))
        self._say("each order created in this demo queued index_order as a task,")
        self._say("written to the task table in the order's own transaction:")
        self.stdout.write(self.style.SQL_KEYWORD("  $ python manage.py db_worker"))
        with self._running_worker() as pid:
            self._say(f"worker started: process {pid}")
            for note in self._notes_of_the_worker(expected=3):
                self._heard(f"index_order: {note.removeprefix(INDEXED).strip()}")

    def _inspector(self) -> None:
        self._heading(
            "5. The inspector: every receiver, where it was defined, how delivered",
            "$ python manage.py signals --app demo",
        )
        call_command("signals", app=["demo"], stdout=self.stdout)

    def _trace(self, traced: tracing.Trace) -> None:
        self._heading(
            "6. Tracing: which receivers ran, how often, for how long",
            "with signals_app.tracing.trace() as t: (scenes 1 to 4)",
        )
        by_receiver: dict[str, list[float]] = defaultdict(list)
        for call in traced.calls:
            by_receiver[call.receiver_name].append(call.duration_ms or 0.0)
        self.stdout.write(f"  {'receiver':<50} {'calls':>5} {'total ms':>9}")
        for name, times in sorted(by_receiver.items(), key=lambda item: -sum(item[1])):
            self.stdout.write(f"  {name:<50} {len(times):>5} {sum(times):>9.3f}")
        self.stdout.write(
            self.style.SUCCESS(
                f"  {len(traced.calls)} receiver calls in this process, "
                f"{traced.total_ms:.3f} ms in all (the worker's are its own)"
            )
        )

    # -- Helpers -----------------------------------------------------------

    def _start_over(self) -> None:
        # A second run shows the same as the first.
        Note.objects.filter(text__startswith=INDEXED).delete()
        Customer.objects.filter(email__endswith=f"@{DOMAIN}").delete()

    @contextmanager
    def _receivers_speaking(self) -> Iterator[None]:
        # The demo's receivers log what they hear; here it is printed.
        heard = logging.getLogger("testproject.demo")
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("    -> %(message)s"))
        heard.addHandler(handler)
        heard.setLevel(logging.INFO)
        heard.propagate = False
        try:
            yield
        finally:
            heard.removeHandler(handler)
            heard.propagate = True

    @contextmanager
    def _running_worker(self) -> Iterator[int]:
        manage = Path(settings.BASE_DIR) / "manage.py"
        with tempfile.TemporaryFile(mode="w+") as output:
            worker = subprocess.Popen(
                [
                    *(sys.executable, str(manage), "db_worker"),
                    *("--no-startup-delay", "--interval", "0.2"),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                yield worker.pid
            except BaseException:
                worker.kill()
                worker.wait()
                output.seek(0)
                self.stderr.write(output.read())
                raise
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=WORKER_PATIENCE)
            self._say(f"worker stopped by SIGTERM, exit code {code}")

    def _notes_of_the_worker(self, expected: int) -> list[str]:
        deadline = time.monotonic() + WORKER_PATIENCE
        while time.monotonic() < deadline:
            notes = list(
                Note.objects.filter(text__startswith=INDEXED)
                .order_by("pk")
                .values_list("text", flat=True)
            )
            if len(notes) >= expected:
                return notes
            time.sleep(0.2)
        raise CommandError(
            f"The worker ran {len(notes)} of {expected} queued receivers "
            f"in {WORKER_PATIENCE} s."
        )

    def _heading(self, title: str, shown: str) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        self.stdout.write(f"  {shown}")

    def _code(self, *lines: str) -> None:
        for line in lines:
            # As Python's prompt shows them: "..." continues a block.
            prompt = "..." if line.startswith(" ") else ">>>"
            self.stdout.write(self.style.SQL_KEYWORD(f"  {prompt} {line}"))

    def _say(self, text: str) -> None:
        self.stdout.write(f"    # {text}")

    def _heard(self, text: str) -> None:
        self.stdout.write(f"    -> {text}")
