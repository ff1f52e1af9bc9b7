"""
Sentry's receiver spans on our signals and on Django's, side by side.

Run by ``test_patches`` in a process of its own (``python -m
tests.dispatch.sentry_probe``): Sentry's Django integration patches Django
for the rest of the process it is set up in, so it must not be set up in
the test run's. Sentry is set up as projects do, in their settings, before
Django loads the apps; its transactions are kept in memory (nothing is
sent). Prints, as JSON, the receiver spans of each scenario: ``ours`` and
``django`` must be equal.
"""

import json
from functools import partial

import sentry_sdk
from asgiref.sync import async_to_sync
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.transport import Transport

transactions: list[dict] = []


class NoNetwork(Transport):
    def capture_envelope(self, envelope):
        pass


def keep(event, hint):
    transactions.append(event)
    return None


sentry_sdk.init(
    dsn="https://key@sentry.invalid/1",
    integrations=[DjangoIntegration()],
    default_integrations=False,
    traces_sample_rate=1.0,
    transport=NoNetwork,
    before_send_transaction=keep,
)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

import tests.settings  # noqa: E402

settings.configure(
    **{
        name: getattr(tests.settings, name)
        for name in dir(tests.settings)
        if name.isupper()
    }
    | {
        "DATABASES": {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        }
    }
)
django.setup()

from django.db import connection  # noqa: E402
from django.db.models import signals as django_model_signals  # noqa: E402
from django.dispatch import Signal as DjangoSignal  # noqa: E402

from signals_app.dispatch import Signal  # noqa: E402
from signals_app.dispatch.patches import DJANGOS_LIVE_RECEIVERS  # noqa: E402
from testproject.shop.models import Customer  # noqa: E402


def first(**kwargs):
    return "first"


def second(**kwargs):
    return "second"


class Handler:
    def on_signal(self, **kwargs):
        return "method"


async def asynchronous(**kwargs):
    return "async"


def later(**kwargs):
    return "later"


handler = Handler()


def connect_all(signal):
    signal.connect(first, sender=Customer)
    signal.connect(second)
    signal.connect(handler.on_signal, sender=Customer)
    signal.connect(asynchronous)


def receiver_spans(work):
    with sentry_sdk.start_transaction(name="probe"):
        work()
    [event] = transactions
    transactions.clear()
    return [
        span["description"] for span in event["spans"] if span["op"] == "event.django"
    ]


def scenarios():
    with connection.schema_editor() as editor:
        editor.create_model(Customer)
    post_save = django_model_signals.post_save  # ours, with the app installed
    connect_all(post_save)
    post_save.connect(later, sender=Customer, delivery="on_commit")
    plain_post_save = DjangoSignal()
    connect_all(plain_post_save)
    customer = Customer(name="Ann", email="ann@example.com")

    yield (
        "saving a model",
        lambda: customer.save(),
        lambda: plain_post_save.send(Customer, instance=customer, created=True),
    )

    ours, theirs = Signal(), DjangoSignal()
    connect_all(ours)
    connect_all(theirs)
    for method in ["send", "send_robust"]:
        yield (
            method,
            partial(getattr(ours, method), Customer, n=1),
            partial(getattr(theirs, method), Customer, n=1),
        )
    for method in ["asend", "asend_robust"]:
        yield (
            method,
            partial(async_to_sync(getattr(ours, method)), Customer, n=1),
            partial(async_to_sync(getattr(theirs, method)), Customer, n=1),
        )


def main():
    report = {
        "patched_before_the_app_loaded": DJANGOS_LIVE_RECEIVERS is None,
        "scenarios": {
            name: {"ours": receiver_spans(ours), "django": receiver_spans(theirs)}
            for name, ours, theirs in scenarios()
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
