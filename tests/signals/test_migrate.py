"""pre_migrate and post_migrate reach our receivers for every migrated app."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.migrations.state import StateApps
from django.db.models import signals as django_signals

from signals_app import signals
from tests.recorder import assert_same_calls

# migrate runs outside a test transaction, as it would in a deployment.
pytestmark = pytest.mark.django_db(transaction=True)

# signals_app has no models module, so migrate sends nothing for it;
# changes_tests is the app of tests/changes' models.
MIGRATED_APPS = [
    "auth",
    "contenttypes",
    "django_tasks_database",
    "shop",
    "changes_tests",
]


def test_migrate_sends_pre_and_post_migrate_for_each_app(record):
    ours = record([signals.pre_migrate, signals.post_migrate])
    theirs = record([django_signals.pre_migrate, django_signals.post_migrate])

    call_command("migrate", verbosity=0, interactive=False)

    assert_same_calls(ours, theirs)
    configs = [apps.get_app_config(label) for label in MIGRATED_APPS]
    assert [(call.signal, call.sender) for call in ours.calls] == [
        *((signals.pre_migrate, config) for config in configs),
        *((signals.post_migrate, config) for config in configs),
    ]
    for call in ours.calls:
        assert call.kwargs["app_config"] is call.sender
        assert call.kwargs["plan"] == []
        assert isinstance(call.kwargs["apps"], StateApps)
        assert (
            call.kwargs["using"],
            call.kwargs["verbosity"],
            call.kwargs["interactive"],
        ) == ("default", 0, False)
    post_apps = ours.calls[-1].kwargs["apps"]
    assert post_apps.get_model("shop", "Order")._meta.db_table == "shop_order"


def test_receiver_for_one_app_config(record):
    shop = apps.get_app_config("shop")
    ours = record(signals.post_migrate, sender=shop)

    call_command("migrate", verbosity=0, interactive=False)

    assert ours.senders == [shop]
