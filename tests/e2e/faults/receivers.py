"""
A queued receiver that blocks, so that a worker can be killed in the middle of it.

For a product named ``"doomed"`` it journals that it started, then waits for
the file ``release`` to appear in the scenario's directory before it
journals that it finished: a worker killed after the first line is killed
mid-task, whatever the timing. Other products go straight through.
"""

import json
import os
import time
from pathlib import Path
from typing import Any

from signals_app.dispatch import receiver
from signals_app.signals import post_save

BLOCKING = "doomed"
WAIT_SECONDS = 60


def _place() -> Path:
    return Path(os.environ["SIGNALS_APP_SCENARIO"])


def _write(what: str, name: str) -> None:
    line = json.dumps({"what": what, "name": name, "pid": os.getpid()})
    with open(_place() / "faults.jsonl", "a") as journal:
        journal.write(line + "\n")


@receiver(
    post_save, sender="shop.Product", dispatch_uid="faults.product", delivery="task"
)
def product_saved(instance: Any, **kwargs: Any) -> None:
    _write("started", instance.name)
    if instance.name == BLOCKING:
        deadline = time.monotonic() + WAIT_SECONDS
        while not (_place() / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("nobody released the doomed task")
            time.sleep(0.02)
    _write("finished", instance.name)
