"""
Asserting on changes in tests.

``assert_changes(instance, {"status": ("draft", "published")})`` checks what
``changes_of()`` reports; ``assert_changes(instance, ["status"])`` checks
only which fields changed; ``assert_changes(instance, {})`` that nothing did.
It also takes a ``Changes`` mapping a receiver got, in place of an instance.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model

from .tracking import changes_of
from .values import Change, Changes

__all__ = ["assert_changes"]


def assert_changes(
    instance_or_changes: Model | Changes,
    expected: Mapping[str, tuple[Any, Any]] | Iterable[str],
) -> None:
    """
    Raise ``AssertionError`` unless the changes are ``expected``: a mapping of
    field name to ``(old, new)``, or just the names of the fields changed.
    """
    changes = (
        instance_or_changes
        if isinstance(instance_or_changes, Changes)
        else changes_of(instance_or_changes)
    )
    if isinstance(expected, Mapping):
        wanted = {name: Change(*pair) for name, pair in expected.items()}
        got = dict(changes)
    else:
        wanted = set(expected)  # type: ignore[assignment]
        got = set(changes)  # type: ignore[assignment]
    if got != wanted:
        raise AssertionError(f"expected changes {wanted!r}, got {changes!r}")
