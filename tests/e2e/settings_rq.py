"""Settings of the RQ scenario: ``tests/e2e/rq_scenario.py`` and its RQ workers.

The worker scenario's settings (its databases, its receivers), with the
Tasks API backed by django-tasks-rq on the Redis server that
``SIGNALS_APP_TEST_REDIS`` names (redis://host:port/db). Its queue is named
after ``SIGNALS_APP_SCENARIO_ID``, so that runs sharing a server never take
each other's jobs.
"""

import os

from tests.e2e.settings_worker import *  # noqa: F403
from tests.e2e.settings_worker import _SCENARIO_ID, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]

RQ_QUEUE = _SCENARIO_ID
# django-rq's "default" queue too: django-tasks-rq looks results up through
# its connection.
RQ_QUEUES = {
    name: {"URL": os.environ["SIGNALS_APP_TEST_REDIS"]}
    for name in ("default", RQ_QUEUE)
}
# The scenario's queue alone, no "default": signals_app declares its task on
# the queue SIGNALS_APP_TASK_QUEUE names, in the driver and in the workers.
TASKS = {
    "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [RQ_QUEUE]},
}
SIGNALS_APP_TASK_QUEUE = RQ_QUEUE
