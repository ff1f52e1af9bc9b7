"""
The debug toolbar panel in Chromium: runs ``tests/e2e/panel_browser_check.py``
in a process of its own, whose settings install the toolbar.

Needs Debian's ``chromium`` on PATH and the ``browser`` extra (Playwright);
``.ci/run`` installs both. Playwright's own browser downloads are never used.
"""

import os
import subprocess
import sys
from pathlib import Path
from shutil import which

import pytest

pytest.importorskip("debug_toolbar")
pytest.importorskip(
    "playwright", reason="Playwright is not installed: pip install -e '.[browser]'"
)

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [
    pytest.mark.skipif(
        which("chromium") is None,
        reason="No chromium on PATH: apt-get install chromium",
    ),
    # The inner run is on SQLite whatever this one uses: once is enough.
    pytest.mark.skipif(
        bool(os.environ.get("SIGNALS_APP_TEST_POSTGRES")),
        reason="runs in the SQLite pass of ./scripts/test",
    ),
]


def test_signals_panel_fits_and_lists_what_ran_in_chromium():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--ds=tests.settings_toolbar",
            "-q",
            "tests/e2e/panel_browser_check.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout
