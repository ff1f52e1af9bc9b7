"""Test settings: the example project without its audit and demo receivers.

The audit and demo apps connect receivers to the shop's models from
ready(); tests start from signals with no receivers, so that what they
connect is all there is (and Django's fast-delete path is in use, as in a
project that listens to nothing). The walkthrough test runs the example
project with them.
"""

from testproject.settings import *  # noqa: F403
from testproject.settings import INSTALLED_APPS

INSTALLED_APPS = [
    app
    for app in INSTALLED_APPS
    if app not in {"testproject.audit", "testproject.demo"}
]
# Models of the change-tracking tests: a field of each kind Django ships.
INSTALLED_APPS += ["tests.changes"]
