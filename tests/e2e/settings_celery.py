"""Settings of the Celery scenario: ``tests/e2e/celery_scenario.py`` and its workers.

The worker scenario's settings (its databases, its receivers), with the
Tasks API backed by Celery through django-tasks-fennel, on the Redis server
that ``SIGNALS_APP_TEST_REDIS`` names (redis://host:port/db), as both
Celery's broker and its result backend. The queue is named after
``SIGNALS_APP_SCENARIO_ID``, so that runs sharing a server never take each
other's messages.

django-tasks-celery, the package the issue named, needs Python 3.12 and
Django 6's ``django.tasks``; django-tasks-fennel runs on the Django 5.2 and
the django-tasks backport this suite runs on, and on Django 6 alike.
"""

import os

from tests.e2e.settings_worker import *  # noqa: F403
from tests.e2e.settings_worker import _SCENARIO_ID, INSTALLED_APPS

# First, so that its ready() makes its Celery app the current one before
# any other app's ready() declares a task.
INSTALLED_APPS = ["django_tasks_fennel", *INSTALLED_APPS]

_REDIS = os.environ["SIGNALS_APP_TEST_REDIS"]
CELERY_BROKER_URL = _REDIS
CELERY_RESULT_BACKEND = _REDIS
# worker_ids on finished results, which the scenario counts per worker.
CELERY_RESULT_EXTENDED = True
# Celery's default: the message is acknowledged as the worker takes it. The
# fault scenario sets SIGNALS_APP_CELERY_ACKS_LATE to acknowledge it only
# once the task has returned, and to have Redis give an unacknowledged
# message back to the queue after 3 s, not the broker's hour, so that a
# worker's death shows in seconds. (Only there: a message prefetched longer
# than that would be given back, and run twice, while its worker lives.)
CELERY_TASK_ACKS_LATE = bool(os.environ.get("SIGNALS_APP_CELERY_ACKS_LATE"))
CELERY_TASK_REJECT_ON_WORKER_LOST = CELERY_TASK_ACKS_LATE
if CELERY_TASK_ACKS_LATE:
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

CELERY_QUEUE = _SCENARIO_ID
# The scenario's queue alone, no "default": signals_app declares its task on
# the queue SIGNALS_APP_TASK_QUEUE names, in the driver and in the workers.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_fennel.CeleryBackend",
        "QUEUES": [CELERY_QUEUE],
    },
}
SIGNALS_APP_TASK_QUEUE = CELERY_QUEUE
