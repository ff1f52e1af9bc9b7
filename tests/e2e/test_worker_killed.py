"""
What becomes of a queued event whose worker is killed (SIGKILL) mid-task, per backend.

``tests/e2e/fault_scenario.py`` runs in a process of its own for each
backend, kills the process running a blocked receiver, and reports; these
tests read the reports. The RQ and Celery ones run only when
``SIGNALS_APP_TEST_REDIS`` names a Redis server.
"""

import importlib.util
import os

import pytest

from tests.e2e.worker_scenario import run_scenario

pytest.importorskip("django_tasks_db")

needs_redis = pytest.mark.skipif(
    not os.environ.get("SIGNALS_APP_TEST_REDIS"),
    reason="SIGNALS_APP_TEST_REDIS does not name a Redis server",
)


def _needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed"
    )


def _killed(backend: str, place: pytest.TempPathFactory) -> dict:
    return run_scenario(
        "tests.e2e.fault_scenario",
        "tests.e2e.settings_faults",
        place.mktemp(backend),
        SIGNALS_APP_FAULT_BACKEND=backend,
    )


@pytest.fixture(scope="module")
def db_worker(tmp_path_factory):
    return _killed("db", tmp_path_factory)


@pytest.fixture(scope="module")
def rq(tmp_path_factory):
    return _killed("rq", tmp_path_factory)


@pytest.fixture(scope="module")
def celery(tmp_path_factory):
    return _killed("celery", tmp_path_factory)


@pytest.fixture(scope="module")
def celery_acks_late(tmp_path_factory):
    return _killed("celery-acks-late", tmp_path_factory)


def test_db_worker_leaves_the_task_running_and_never_runs_it_again(db_worker):
    assert db_worker["killed_the_worker_itself"]
    assert db_worker["first_worker_exit"] == -9
    # The next worker ran the next task, not the one marked running.
    assert db_worker["status_after_kill"] == "RUNNING"
    assert db_worker["next_status"] == "SUCCESSFUL"
    assert db_worker["doomed_status"] == "RUNNING"


@needs_redis
@_needs("django_tasks_rq")
def test_rq_fails_the_job_when_its_work_horse_is_killed(rq):
    # rqworker runs each job in a forked work horse: that is what died, and
    # the worker itself recorded the job as failed and went on.
    assert not rq["killed_the_worker_itself"]
    assert rq["doomed_status"] == "FAILED"
    assert "Work-horse terminated unexpectedly" in rq["doomed_error"]
    assert "signal 9" in rq["doomed_error"]
    assert rq["next_status"] == "SUCCESSFUL"
    assert (rq["doomed_started"], rq["doomed_finished"]) == (1, 0)
    assert len(rq["worker_pids"]) == 1


@needs_redis
@_needs("django_tasks_fennel")
def test_celery_loses_a_task_it_acknowledged_on_receipt(celery):
    # Celery's default acknowledges the message as the worker takes it: with
    # the worker gone, so is the message; its result stays "started".
    assert celery["killed_the_worker_itself"]
    assert celery["first_worker_exit"] == -9
    assert celery["doomed_status"] == "RUNNING"
    assert celery["next_status"] == "SUCCESSFUL"
    assert (celery["doomed_started"], celery["doomed_finished"]) == (1, 0)


@needs_redis
@_needs("django_tasks_fennel")
def test_celery_with_acks_late_runs_the_task_again(celery_acks_late):
    # Unacknowledged, the message went back to the queue once Redis's
    # visibility timeout passed, and the next worker ran it from the start:
    # at least once, so the receiver started twice.
    assert celery_acks_late["killed_the_worker_itself"]
    assert celery_acks_late["doomed_status"] == "SUCCESSFUL"
    assert celery_acks_late["doomed_started"] == 2
    assert celery_acks_late["doomed_finished"] == 1
