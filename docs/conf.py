"""Sphinx settings of the documentation site (``./scripts/docs`` builds it)."""

import os
import sys
from pathlib import Path

import django

# The reference pages import the app, its models and settings: from the
# checkout, with the example project's settings, as the tests run.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

import signals_app  # noqa: E402  (needs django.setup() first)

project = "signals_app"
author = "signals_app contributors"
copyright = "signals_app contributors"
release = signals_app.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
# _incoming/ holds notes other branches leave for these pages, not pages.
exclude_patterns = ["_build", "_incoming", "conftest.py"]

# Colons for directives, so a page shows ```python blocks only for code that
# the docs' tests run; headings get anchors for links between pages.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
# Signatures show the annotations; the text says what each argument means.
autodoc_typehints = "signature"

html_theme = "furo"
html_title = f"signals_app {release}"

# Every reference to a name of ours must resolve. Names of Python, Django and
# the toolbar have no inventory here (the build runs offline, as CI does), so
# references to them are let through; so are the type variables and internal
# classes that annotations name.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|contextlib|typing|django|debug_toolbar)\..*"),
    (r"py:.*", r"signals_app\..*\._\w+"),
    (r"py:class", r"signals_app\.delivery\.common\.WatchedDelivery"),
    (r"py:class", r"signals_app\.dispatch\.registry\.Registry"),
    (r"py:(meth|attr)", r"(record_stats|nav_title)"),
]
