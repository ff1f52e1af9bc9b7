"""
``manage.py demo`` (what ``./scripts/demo`` runs), end to end: its own
process, a SQLite file, and the ``db_worker`` it starts.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if k != "SIGNALS_APP_TEST_POSTGRES"},
        "DJANGO_SETTINGS_MODULE": "tests.e2e.settings_demo",
        "SIGNALS_APP_DEMO_DB": str(tmp_path_factory.mktemp("demo") / "db.sqlite3"),
    }
    for command in (["migrate", "--verbosity", "0"], ["demo", "--no-color"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def heard(shown: str) -> list[str]:
    """What the receivers said, in order."""
    return re.findall(r"^    -> (.*)$", shown, flags=re.MULTILINE)


def test_the_after_commit_receiver_runs_for_the_commit_and_not_the_rollback(shown):
    welcomes = [line for line in heard(shown) if line.startswith("welcome")]

    assert welcomes == ["welcome (after commit): mail to ada@demo.example.com"]


def test_the_change_condition_hears_the_one_change_it_names(shown):
    paid = [line for line in heard(shown) if line.startswith("order_paid")]

    assert paid == ["order_paid: order D-1, status 'new' -> 'paid'"]


def test_the_bulk_update_is_heard_with_old_and_new_values(shown):
    updated = [line for line in heard(shown) if line.startswith("orders_updated")]

    assert [line.split(", ", 1)[1] for line in updated] == [
        "status 'paid' -> 'shipped'",
        "status 'new' -> 'shipped'",
    ]


def test_the_queued_receiver_runs_in_the_worker_the_demo_starts(shown):
    [pid] = re.findall(r"worker started: process (\d+)", shown)
    indexed = [line for line in heard(shown) if line.startswith("index_order")]

    assert indexed == [f"index_order: order D-{n} in process {pid}" for n in (1, 2, 3)]
    assert "worker stopped by SIGTERM, exit code 0" in shown


def test_the_inspector_lists_the_demos_receivers(shown):
    for name in ("order_paid", "orders_updated", "welcome", "index_order"):
        assert f"testproject.demo.receivers.{name} " in shown


def test_the_trace_sums_up_the_receivers_that_ran(shown):
    assert re.search(r"testproject\.demo\.receivers\.welcome +1 +\d", shown)
    assert re.search(r"\d+ receiver calls in this process", shown)
