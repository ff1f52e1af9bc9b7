"""signals_app.delivery.backend: which Tasks API a configured backend is built on."""

import importlib.util

import pytest
from django.test import override_settings

from signals_app.delivery import backend
from signals_app.delivery.tasks import task_for

BOTH_APIS = all(
    importlib.util.find_spec(name) is not None
    for name in ("django.tasks", "django_tasks")
)
needs_both = pytest.mark.skipif(
    not BOTH_APIS, reason="needs Django 6's django.tasks and the django-tasks backport"
)


@needs_both
@override_settings(TASKS={"rq": {"BACKEND": "django_tasks_rq.RQBackend"}})
def test_a_backend_built_on_the_backport_gets_the_backports_task():
    api = backend.tasks_api("rq")

    assert api.__name__ == "django_tasks"
    assert task_for(api).module_path.endswith(".deliver_on_backport")


@needs_both
@override_settings(
    TASKS={"db": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
)
def test_a_backend_built_on_djangos_api_gets_djangos_task():
    api = backend.tasks_api("db")

    assert api.__name__ == "django.tasks"
    assert task_for(api).module_path == "signals_app.delivery.tasks.deliver"


def test_without_an_alias_the_api_is_djangos_where_there_is_one():
    expected = (
        "django.tasks" if importlib.util.find_spec("django.tasks") else "django_tasks"
    )

    assert backend.tasks_api().__name__ == expected
