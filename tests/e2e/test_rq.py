"""
Queued delivery on a second backend: RQ, with a real Redis server and real
``manage.py rqworker`` processes.

The receivers of the db_worker scenario, unchanged, with ``TASKS`` on
django-tasks-rq. ``tests/e2e/rq_scenario.py`` runs in a process of its own (see
``tests/e2e/test_db_worker.py``); this test reads its report. Runs only when
``SIGNALS_APP_TEST_REDIS`` names a Redis server (redis://host:port/db), as
``.ci/run`` sets it.
"""

import os

import pytest

from tests.e2e.worker_scenario import (
    assert_each_committed_event_delivered_once,
    assert_no_rolled_back_event_delivered,
    run_scenario,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get("SIGNALS_APP_TEST_REDIS"),
    reason="SIGNALS_APP_TEST_REDIS does not name a Redis server",
)
pytest.importorskip("django_tasks_rq")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_scenario(
        "tests.e2e.rq_scenario", "tests.e2e.settings_rq", tmp_path_factory.mktemp("rq")
    )


def test_every_committed_event_is_delivered_exactly_once(report):
    assert_each_committed_event_delivered_once(report)


def test_only_committed_transactions_reach_the_broker(report):
    # Enqueued on commit: one job per committed event, none for the others.
    assert report["enqueued"] == len(report["expected"])
    waiting = report["waiting_before_first_worker"]
    assert waiting == report["committed_before_first_worker"]


def test_no_rolled_back_event_is_delivered(report):
    assert_no_rolled_back_event_delivered(report)


def test_jobs_wait_in_redis_for_a_worker(report):
    # The burst worker ran what had waited and exited; the second one ran
    # the rest as it was enqueued, and stopped cleanly on SIGTERM.
    queue = report["queue"]
    assert report["waiting_before_first_worker"] > 0
    assert report["first_worker_exit"] == 0
    assert report["waiting_after_first_worker"] == 0
    assert report["second_worker_exit"] == 0
    assert report["by_worker"] == {
        f"{queue}-first": report["waiting_before_first_worker"],
        f"{queue}-second": report["enqueued"] - report["waiting_before_first_worker"],
    }
    assert report["driver_pid"] not in report["pids"]["task"]


def test_deleted_rows_arrive_as_unsaved_instances(report):
    assert any(event[0] == "deleted" for event in report["delivered"]["task"])
    assert report["unsaved_on_delete"]
