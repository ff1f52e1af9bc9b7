"""
The change conditions decide as a plain-Python model of the row says they
should, whatever sequence of assignments, saves (whole or of some fields),
refreshes, and transactions and savepoints that commit or roll back led
there.

The model: one instance is the only writer of its row, so what the
instance should count as its baseline is what the row holds in the
transaction it is in. A change condition holds on a save when a field the
save writes holds a value other than the row's; ``changes_of()`` is every
field whose value differs from the row's.

The transactions commit for real (``transaction=True``), so that the
on_commit callbacks that settle a save's fate run as in production.
"""

import contextlib
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signals_app.changes import Change, Changed, changes_of
from signals_app.signals import post_save, pre_save
from testproject.shop.models import Article
from tests.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

_VALUES = {"status": ["draft", "published", "archived"], "title": ["a", "b"]}

_steps = st.one_of(
    st.sampled_from(sorted(_VALUES)).flatmap(
        lambda name: st.tuples(
            st.just("set"), st.just(name), st.sampled_from(_VALUES[name])
        )
    ),
    st.tuples(st.just("save"), st.sampled_from([None, ("status",), ("title",)])),
    st.tuples(st.just("refresh"), st.sampled_from([None, ("status",), ("title",)])),
)
# A step, or a block of steps in atomic() that commits or rolls back.
_operations = st.recursive(
    _steps,
    lambda inner: st.tuples(
        st.just("atomic"), st.lists(inner, max_size=5), st.booleans()
    ),
    max_leaves=14,
)


class _Rollback(Exception):
    pass


# Each condition, and the field and values it asks for.
_CONDITIONS = {
    "status": (Changed("status"), "status", None, None),
    "title": (Changed("title"), "title", None, None),
    "published": (
        Changed("status", from_="draft", to="published"),
        "status",
        "draft",
        "published",
    ),
}


def _expected(
    instance: Article, row: dict[str, Any], fields: tuple[str, ...] | None
) -> dict[str, dict[str, Change]]:
    # For each condition that should hold on a save of ``fields``: the
    # changes its receiver should get.
    heard = {}
    for key, (_, name, from_, to) in _CONDITIONS.items():
        old, new = row[name], getattr(instance, name)
        if (fields is not None and name not in fields) or old == new:
            continue
        if from_ is not None and (old != from_ or new != to):
            continue
        heard[key] = {name: Change(old, new)}
    return heard


def _heard(recorders: dict[str, Recorder]) -> dict[str, dict[str, Change]]:
    heard = {}
    for key, recorder in recorders.items():
        calls = recorder.received()
        assert len(calls) <= 1
        if calls:
            heard[key] = dict(calls[0]["changes"])
        recorder.calls.clear()
    return heard


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(_operations, max_size=6))
def test_change_conditions_decide_as_the_row_says(operations):
    article = Article.objects.create(title="a", status="draft")
    instance = Article.objects.get(pk=article.pk)
    row = {"status": "draft", "title": "a"}
    pre = {key: Recorder() for key in _CONDITIONS}
    post = {key: Recorder() for key in _CONDITIONS}
    for key, (condition, *_) in _CONDITIONS.items():
        pre_save.connect(pre[key], sender=Article, when=condition, weak=False)
        post_save.connect(post[key], sender=Article, when=condition, weak=False)
    try:
        for operation in operations:
            _run(instance, row, operation, pre, post)
    finally:
        for key in _CONDITIONS:
            pre_save.disconnect(pre[key], sender=Article)
            post_save.disconnect(post[key], sender=Article)


def _run(
    instance: Article,
    row: dict[str, Any],
    operation: tuple,
    pre: dict[str, Recorder],
    post: dict[str, Recorder],
) -> None:
    kind, *args = operation
    if kind == "set":
        setattr(instance, args[0], args[1])
    elif kind == "save":
        fields = args[0]
        expected = _expected(instance, row, fields)
        instance.save(update_fields=fields)
        assert _heard(pre) == expected, "pre_save"
        assert _heard(post) == expected, "post_save"
        for name in fields or _VALUES:
            row[name] = getattr(instance, name)
    elif kind == "refresh":
        instance.refresh_from_db(fields=args[0])
    else:
        steps, commits = args
        before = dict(row)
        with contextlib.suppress(_Rollback), transaction.atomic():
            for step in steps:
                _run(instance, row, step, pre, post)
            if not commits:
                raise _Rollback
        if not commits:
            row.update(before)
    assert changes_of(instance) == {
        name: Change(row[name], getattr(instance, name))
        for name in _VALUES
        if row[name] != getattr(instance, name)
    }
