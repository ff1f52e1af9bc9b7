"""``manage.py signals``: the receivers of the project's signals, as table or JSON."""

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
from django.db.backends.signals import connection_created
from django.db.models import signals as django_signals

from signals_app import lazy, signals
from signals_app.changes import Changed
from signals_app.dispatch.names import signal_name
from testproject.shop.models import Article, Customer, Order

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests/management/test_signals_command.py"


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


def mine(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of receivers defined in the tests: apps connect their own."""
    return [r for r in records if (r["defined_at"] or "").startswith("tests/")]


def rows(output: str) -> list[list[str]]:
    """The cells of each line of a table, split on runs of spaces."""
    return [line.split() for line in output.splitlines()]


def defined(function: Any) -> str:
    """Where Python says ``function`` starts: its first decorator, else its def."""
    return f"{HERE}:{function.__code__.co_firstlineno}"


# The first cells of a receiver's row in the table.
ON_SAVE = ["tests.management.test_signals_command.on_save", defined(on_save)]
ON_DELETE = ["tests.management.test_signals_command.on_delete", defined(on_delete)]


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """Every test starts, and ends, with nothing of the tests connected."""
    assert mine(run_json("--django")) == []
    yield
    assert mine(run_json("--django")) == []


@pytest.fixture
def never_resolved() -> Iterator[None]:
    """on_save connected to post_save for "shop.Ordr", a model that doesn't exist."""
    signals.post_save.connect(on_save, sender="shop.Ordr", dispatch_uid="typo")
    yield
    signals.post_save.disconnect(sender="shop.Ordr", dispatch_uid="typo")
    assert lazy.pending(apps) == []


def test_no_receivers():
    assert run("--signal", "post_delete") == "No receivers.\n"
    assert run("--signal", "post_delete", "--format", "json") == "[]\n"
    assert run("--django", "--signal", "post_delete") == "No receivers.\n"


def test_no_receivers_says_what_django_would_add():
    # Django's auth and contenttypes apps connect theirs to post_migrate.
    hidden = len(run_json("--django", "--signal", "post_migrate"))

    output = run("--signal", "post_migrate")

    assert hidden > 0
    assert output == (
        f"No receivers. --django lists {hidden} more: receivers defined in "
        "Django, and those of signals on Django's own dispatcher.\n"
    )


def test_table(connect):
    connect(signals.post_save, on_save, sender=Order, dispatch_uid="test.saved")
    connect(signals.post_save, on_save, sender=Customer, weak=False)
    connect(signals.post_delete, on_delete)

    output = run("--signal", "post_save", "--signal", "post_delete")

    header = ["receiver", "defined", "at", "sender", "weak", "uid", "sync/async"]
    assert rows(output) == [
        ["django.db.models.signals.post_save"],
        [*header, "delivery", "when"],
        [*ON_SAVE, "shop.Order", "weak", "test.saved", "sync", "now", "-"],
        [*ON_SAVE, "shop.Customer", "strong", "-", "sync", "now", "-"],
        [],
        ["django.db.models.signals.post_delete"],
        [*header, "delivery", "when"],
        [*ON_DELETE, "any", "weak", "-", "async", "now", "-"],
        ANY,
    ]
    assert output.splitlines()[-1].startswith(
        "  Warning: tests.management.test_signals_command.on_delete receives "
        "django.db.models.signals.post_delete from any sender, which turns off "
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

    saved, deleted = mine(run_json())

    # Where connect() was called: the shared fixture.
    assert saved.pop("connected_at").startswith("tests/conftest.py:")
    assert saved == {
        "signal": "django.db.models.signals.post_save",
        "receiver": "tests.management.test_signals_command.on_save",
        "defined_at": defined(on_save),
        "sender": "shop.Order",
        "sender_kind": "model",
        "weak": True,
        "dispatch_uid": "test.saved",
        "is_async": False,
        "delivery": "now",
        "warnings": [],
        "condition": None,
    }
    assert deleted["sender"] == "any"
    assert deleted["is_async"] is True
    [warning] = deleted["warnings"]
    assert "turns off Django's fast delete for every model" in warning


def test_connected_at_with_higher_verbosity(connect):
    connect(signals.post_save, on_save, sender=Order)

    output = io.StringIO()
    call_command("signals", "--signal", "post_save", verbosity=2, stdout=output)

    header, row = rows(output.getvalue())[1:]
    assert header[-2:] == ["connected", "at"]
    assert row[-3:-1] == ["now", "-"]
    assert row[-1].startswith("tests/conftest.py:")


def test_each_receivers_condition_is_shown(connect):
    connect(signals.post_save, on_save, sender=Article, when=Changed("status"))

    [record] = run_json("--signal", "post_save", "--sender", "shop.Article")
    [table_row] = rows(run("--signal", "post_save", "--sender", "shop.Article"))[2:]

    assert record["condition"] == "Changed('status')"
    assert table_row[-1] == "Changed('status')"


def test_pending_lazy_sender(never_resolved, capsys):
    # The system checks report the typo as an error, and would stop a command
    # run from the command line; this one runs anyway.
    execute_from_command_line(["manage.py", "signals"])

    assert '"shop.Ordr" (pending: never resolved)' in capsys.readouterr().out
    [pending] = mine(run_json())
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
        return [
            (r["signal"].rpartition(".")[2], r["sender"]) for r in mine(run_json(*args))
        ]

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


def test_connected_through_djangos_module_or_ours_one_list(connect):
    connect(signals.post_save, on_save, sender=Order)
    connect(django_signals.post_save, on_delete, dispatch_uid="test.django")
    connect(signals.post_save, on_save, sender=Customer)

    output = run("--signal", "post_save")

    assert rows(output)[0] == ["django.db.models.signals.post_save"]
    assert [row for row in rows(output) if row[0].startswith("tests.")] == [
        [*ON_SAVE, "shop.Order", "weak", "-", "sync", "now", "-"],
        [*ON_DELETE, "any", "weak", "test.django", "async", "now", "-"],
        [*ON_SAVE, "shop.Customer", "weak", "-", "sync", "now", "-"],
    ]
    assert [(r["receiver"], r["sender"]) for r in mine(run_json())] == [
        ("tests.management.test_signals_command.on_save", "shop.Order"),
        ("tests.management.test_signals_command.on_delete", "any"),
        ("tests.management.test_signals_command.on_save", "shop.Customer"),
    ]


def test_django_adds_receivers_defined_in_django(connect):
    connect(django_signals.post_migrate, on_save)

    def receivers(*args: str) -> list[str]:
        return [r["receiver"] for r in run_json("--signal", "post_migrate", *args)]

    assert receivers() == ["tests.management.test_signals_command.on_save"]
    with_django = receivers("--django")
    assert "django.contrib.auth.management.create_permissions" in with_django
    assert with_django[-1] == "tests.management.test_signals_command.on_save"
    table = run("--django", "--signal", "post_migrate")
    assert rows(table)[0] == ["django.db.models.signals.post_migrate"]
    assert "django.contrib.auth.management.create_permissions" in table


def test_django_adds_signals_on_djangos_own_dispatcher(connect):
    connect(connection_created, on_save, sender=Order, dispatch_uid="test.created")

    [record] = mine(run_json("--django", "--signal", "connection_created"))

    assert record["signal"] == signal_name(connection_created)
    assert record["sender"] == "shop.Order"
    assert record["dispatch_uid"] == "test.created"
    # Django's dispatcher records no connect() location.
    assert record["connected_at"] is None
    assert mine(run_json()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--signal", "post_sve"], r"^No signal named 'post_sve'\.$"),
        (
            ["--signal", "connection_created"],
            r"^No signal named 'connection_created'\. It is on Django's own "
            r"dispatcher: add --django\.$",
        ),
        (["--app", "nosuchapp"], "nosuchapp"),
        (["--sender", "shop.Typo"], r"^Sender 'shop\.Typo': app 'shop' has no model"),
        (
            ["--sender", "nope.Order"],
            r"^Sender 'nope\.Order': no installed app has the label 'nope'\.$",
        ),
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
    assert [
        *saved,
        "shop.Order",
        "weak",
        "audit.order_saved",
        "sync",
        "now",
        "-",
    ] in rows(table)
    assert "Warning:" not in table
    [order_saved] = [r for r in records if r["dispatch_uid"] == "audit.order_saved"]
    assert order_saved.pop("connected_at").startswith("testproject/audit/signals.py:")
    assert order_saved == {
        "signal": "django.db.models.signals.post_save",
        "receiver": "testproject.audit.signals.saved",
        "defined_at": saved_at,
        "sender": "shop.Order",
        "sender_kind": "model",
        "weak": True,
        "dispatch_uid": "audit.order_saved",
        "is_async": False,
        "delivery": "now",
        "warnings": [],
        "condition": None,
    }
    audit = [r for r in records if r["receiver"].startswith("testproject.audit.")]
    assert {(r["signal"].rpartition(".")[2], r["sender"]) for r in audit} == {
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
