"""``manage.py signals``: the receivers of our signals, as a table or as JSON."""

import ast
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from django.apps import apps
from django.core.management import (
    CommandError,
    call_command,
    execute_from_command_line,
)
from django.db.models import signals as django_signals

from signals_app import lazy, signals
from testproject.shop.models import Customer, Order

ROOT = Path(__file__).resolve().parent.parent
HERE = "tests/test_command_signals.py"


def on_save(sender: Any, **kwargs: Any) -> None:
    pass


async def on_delete(sender: Any, **kwargs: Any) -> None:
    pass


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("signals", *args, stdout=out)
    return out.getvalue()


def run_json(*args: str) -> list[dict[str, Any]]:
    return json.loads(run("--format", "json", *args))


def rows(output: str) -> list[list[str]]:
    """The cells of each line of a table, split on runs of spaces."""
    return [line.split() for line in output.splitlines()]


def defined(function: Any) -> str:
    """Where Python says ``function`` starts: its first decorator, else its def."""
    return f"{HERE}:{function.__code__.co_firstlineno}"


# The first cells of a receiver's row in the table.
ON_SAVE = ["tests.test_command_signals.on_save", defined(on_save)]
ON_DELETE = ["tests.test_command_signals.on_delete", defined(on_delete)]
FORWARDER = ["signals_app", "forwarder", "→", "signals_app.signals.post_save"]


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """Every test starts, and ends, with nothing connected to our signals."""
    assert run_json() == []
    yield
    assert run_json() == []


@pytest.fixture
def never_resolved() -> Iterator[None]:
    """on_save connected to post_save for "shop.Ordr", a model that doesn't exist."""
    signals.post_save.connect(on_save, sender="shop.Ordr", dispatch_uid="typo")
    yield
    signals.post_save.disconnect(sender="shop.Ordr", dispatch_uid="typo")
    assert lazy.pending(apps) == []


def test_no_receivers():
    assert run() == "No receivers.\n"
    assert run("--format", "json") == "[]\n"


def test_table(connect):
    connect(signals.post_save, on_save, sender=Order, dispatch_uid="test.saved")
    connect(signals.post_save, on_save, sender=Customer, weak=False)
    connect(signals.post_delete, on_delete)

    output = run()

    header = ["receiver", "defined", "at", "sender", "weak", "uid", "sync/async"]
    assert rows(output) == [
        ["signals_app.signals.post_save"],
        [*header, "delivery"],
        [*ON_SAVE, "shop.Order", "weak", "test.saved", "sync", "now"],
        [*ON_SAVE, "shop.Customer", "strong", "-", "sync", "now"],
        [],
        ["signals_app.signals.post_delete"],
        [*header, "delivery"],
        [*ON_DELETE, "any", "weak", "-", "async", "now"],
        ANY,
    ]
    assert output.splitlines()[-1].startswith(
        "  Warning: tests.test_command_signals.on_delete receives "
        "signals_app.signals.post_delete from any sender, which turns off "
        "Django's fast delete for every model in the project"
    )
    # Columns line up across blocks.
    lines = output.splitlines()
    assert {
        lines[1].index("defined at"),
        lines[2].index(defined(on_save)),
        lines[3].index(defined(on_save)),
        lines[6].index("defined at"),
        lines[7].index(defined(on_delete)),
    } == {lines[1].index("defined at")}


def test_json(connect):
    connect(signals.post_save, on_save, sender=Order, dispatch_uid="test.saved")
    connect(signals.post_delete, on_delete)

    saved, deleted = run_json()

    # Where connect() was called: the shared fixture.
    assert saved.pop("connected_at").startswith("tests/conftest.py:")
    assert saved == {
        "signal": "signals_app.signals.post_save",
        "receiver": "tests.test_command_signals.on_save",
        "defined_at": defined(on_save),
        "sender": "shop.Order",
        "sender_kind": "model",
        "weak": True,
        "dispatch_uid": "test.saved",
        "is_async": False,
        "delivery": "now",
        "forwards_to": None,
        "warnings": [],
    }
    assert deleted["sender"] == "any"
    assert deleted["is_async"] is True
    [warning] = deleted["warnings"]
    assert "turns off Django's fast delete for every model" in warning


def test_connected_at_with_higher_verbosity(connect):
    connect(signals.post_save, on_save, sender=Order)

    output = io.StringIO()
    call_command("signals", verbosity=2, stdout=output)

    header, row = rows(output.getvalue())[1:]
    assert header[-2:] == ["connected", "at"]
    assert row[-2] == "now"
    assert row[-1].startswith("tests/conftest.py:")


def test_pending_lazy_sender(never_resolved, capsys):
    # The system checks report the typo as an error, and would stop a command
    # run from the command line; this one runs anyway.
    execute_from_command_line(["manage.py", "signals"])

    assert '"shop.Ordr" (pending: never resolved)' in capsys.readouterr().out
    [pending] = run_json()
    assert pending["sender"] == "shop.Ordr"
    assert pending["sender_kind"] == "pending"
    assert pending["weak"] is True
    assert pending["dispatch_uid"] == "typo"


def test_filters(connect, never_resolved):
    connect(signals.post_save, on_save, sender=Order)
    connect(signals.pre_save, on_save, sender=Customer)
    connect(signals.post_delete, on_delete, sender="auth.User")
    connect(signals.request_started, on_save)

    def found(*args: str) -> list[tuple[str, str]]:
        return [(r["signal"].rpartition(".")[2], r["sender"]) for r in run_json(*args)]

    assert found("--signal", "post_save") == [
        ("post_save", "shop.Order"),
        ("post_save", "shop.Ordr"),
    ]
    assert found("--signal", "pre_save", "--signal", "request_started") == [
        ("pre_save", "shop.Customer"),
        ("request_started", "any"),
    ]
    assert found("--sender", "shop.order") == [("post_save", "shop.Order")]
    assert found("--app", "shop") == [
        ("pre_save", "shop.Customer"),
        ("post_save", "shop.Order"),
        ("post_save", "shop.Ordr"),
    ]
    assert found("--app", "auth", "--signal", "post_delete") == [
        ("post_delete", "auth.User")
    ]
    assert run("--sender", "shop.Tag") == "No receivers.\n"


def test_django_signals(connect):
    connect(signals.post_save, on_save, sender=Order)
    connect(django_signals.post_save, on_save, dispatch_uid="test.django")

    output = run("--django", "--signal", "post_save")

    blocks = output.split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [
        "signals_app.signals.post_save",
        "django.db.models.signals.post_save",
    ]
    assert rows(blocks[1])[2:] == [
        [*FORWARDER, ANY, "shop.Order", "strong", "-", "sync", "now"],
        [*ON_SAVE, "any", "weak", "test.django", "sync", "now"],
    ]
    theirs = "django.db.models.signals.post_save"
    [forwarder, receiver] = run_json("--django", "--signal", theirs)
    assert forwarder["forwards_to"] == "signals_app.signals.post_save"
    assert forwarder["connected_at"] is None
    assert receiver["dispatch_uid"] == "test.django"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--signal", "post_sve"], "No signal named 'post_sve'"),
        (["--signal", "django.core.signals.request_started"], "listed with --django"),
        (["--app", "nosuchapp"], "nosuchapp"),
        (["--format", "yaml"], "invalid choice: 'yaml'"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def first_line(path: Path, name: str) -> int:
    """The line Python gives a function as its start: its first decorator's."""
    tree = ast.parse(path.read_text())
    [node] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name == name
    ]
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def manage(*args: str) -> str:
    """Run the example project's manage.py, with its audit app installed."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_example_project():
    audit = ROOT / "testproject" / "audit" / "signals.py"
    saved_at = f"testproject/audit/signals.py:{first_line(audit, 'saved')}"

    table = manage("signals")
    records = json.loads(manage("signals", "--format", "json"))

    saved = ["testproject.audit.signals.saved", saved_at]
    assert [*saved, "shop.Order", "weak", "audit.order_saved", "sync", "now"] in rows(
        table
    )
    assert "Warning:" not in table
    [order_saved] = [r for r in records if r["dispatch_uid"] == "audit.order_saved"]
    assert order_saved.pop("connected_at").startswith("testproject/audit/signals.py:")
    assert order_saved == {
        "signal": "signals_app.signals.post_save",
        "receiver": "testproject.audit.signals.saved",
        "defined_at": saved_at,
        "sender": "shop.Order",
        "sender_kind": "model",
        "weak": True,
        "dispatch_uid": "audit.order_saved",
        "is_async": False,
        "delivery": "now",
        "forwards_to": None,
        "warnings": [],
    }
    assert {(r["signal"].rpartition(".")[2], r["sender"]) for r in records} == {
        ("post_save", "shop.Customer"),
        ("post_save", "shop.Order"),
        ("pre_delete", "shop.Customer"),
        ("post_delete", "shop.Customer"),
        ("post_delete", "shop.Order"),
        ("post_delete", "shop.OrderLine"),
        ("m2m_changed", "shop.Order_tags"),
        ("request_started", "any"),
        ("request_finished", "any"),
        ("got_request_exception", "any"),
    }
