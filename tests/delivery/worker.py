"""Helpers for the tests of delivery="task": the real worker, run in this process."""

import signal
from typing import Any

from django.core.management import call_command

from signals_app.delivery import sealed

try:
    from django.tasks import task_backends

    _TASKS = "django.tasks"
except ImportError:
    from django_tasks import task_backends

    _TASKS = "django_tasks"

__all__ = ["backend", "run_worker", "task_backends", "unseal"]


def backend(name: str) -> dict[str, Any]:
    """A TASKS setting using the Tasks API's built-in ``"dummy"`` or ``"immediate"``."""
    cls = {"dummy": "DummyBackend", "immediate": "ImmediateBackend"}[name]
    return {"default": {"BACKEND": f"{_TASKS}.backends.{name}.{cls}"}}


def run_worker() -> None:
    """
    Run every task ready in the database, as ``manage.py db_worker --batch``.

    The worker installs its own SIGINT and SIGTERM handlers; pytest's are
    put back afterwards. Tests that run it use ``transactional_db``: the
    worker closes connections between tasks, as it does in production.
    """
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
    handlers = {each: signal.getsignal(each) for each in caught}
    try:
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0
        )
    finally:
        for each, handler in handlers.items():
            signal.signal(each, handler)


def unseal(task: Any) -> Any:
    """The signed payload of ``task``, a task row of django-tasks-db, read."""
    args, kwargs = task.args_kwargs["args"], task.args_kwargs["kwargs"]
    return sealed.unseal(args[0], **kwargs)
