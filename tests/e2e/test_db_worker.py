"""
Queued delivery end to end: real ``manage.py db_worker`` processes.

``tests/e2e/worker_scenario.py`` runs in a process of its own, with databases of
its own (SQLite files, or PostgreSQL databases when the suite runs on
PostgreSQL), which the worker processes it starts share. This test reads its
report.
"""

from collections import Counter

import pytest

from tests.e2e.worker_scenario import (
    assert_each_committed_event_delivered_once,
    assert_no_rolled_back_event_delivered,
    run_scenario,
)

pytest.importorskip("django_tasks_db")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_scenario(
        "tests.e2e.worker_scenario",
        "tests.e2e.settings_worker",
        tmp_path_factory.mktemp("scenario"),
    )


def test_every_committed_event_is_delivered_exactly_once(report):
    assert_each_committed_event_delivered_once(report)


def test_no_rolled_back_event_is_delivered(report):
    assert_no_rolled_back_event_delivered(report)


def test_the_worker_restart_loses_nothing(report):
    # The first worker stopped after 10 tasks, the queue still filling; what
    # was enqueued meanwhile waited, and the second one ran it, before it
    # was stopped with SIGTERM.
    assert report["first_worker_exit"] == 0
    assert report["second_worker_exit"] == 0
    assert report["waiting_while_stopped"] > 0
    assert report["by_worker"]["first"] == 10
    assert sum(report["by_worker"].values()) == len(report["expected"])
    assert len(report["pids"]["task"]) == 2
    assert report["driver_pid"] not in report["pids"]["task"]


def test_deleted_rows_arrive_as_unsaved_instances(report):
    assert any(event[0] == "deleted" for event in report["delivered"]["task"])
    assert report["unsaved_on_delete"]


def test_on_commit_receivers_got_the_same_events_in_the_sending_process(report):
    assert Counter(map(tuple, report["delivered"]["on_commit"])) == Counter(
        map(tuple, report["expected"])
    )
    assert report["pids"]["on_commit"] == [report["driver_pid"]]
