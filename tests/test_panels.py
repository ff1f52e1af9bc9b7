import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("debug_toolbar")

ROOT = Path(__file__).resolve().parent.parent


def test_debug_toolbar_panel_through_real_requests():
    # The toolbar must be an installed app, which a running project cannot
    # gain: the checks run in a process of their own, with their own settings.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--ds=tests.settings_toolbar",
            "-q",
            "tests/toolbar_panel_check.py",
        ],
        cwd=ROOT,
        # On SQLite: on PostgreSQL the inner run would create and then drop
        # the very test database this run is using.
        env={k: v for k, v in os.environ.items() if k != "SIGNALS_APP_TEST_POSTGRES"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "16 passed" in result.stdout
