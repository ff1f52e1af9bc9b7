"""
Know what changed: change-aware ``pre_save`` and ``post_save`` receivers.

::

    from signals_app.changes import Changed
    from signals_app.dispatch import receiver
    from signals_app.signals import post_save

    @receiver(post_save, sender="blog.Post", when=Changed("status", to="published"))
    def announce(sender, instance, changes, **kwargs):
        changes["status"].old  # "draft"

Only the models and fields that a connected condition names are watched,
and only written values cost anything (see ``tracking``). ``changes_of()``
asks outside a signal; ``signals_app.changes.testing`` asserts on changes.
"""

from typing import Any

from ..delivery.payload import register_type
from .conditions import ANY, ChangeCondition, Changed, Created, Updated, WithChanges
from .tracking import ALL, changes_of, track, tracked_fields
from .values import DATABASE, UNKNOWN, Change, Changes, Marker

__all__ = [
    "ALL",
    "ANY",
    "DATABASE",
    "UNKNOWN",
    "Change",
    "ChangeCondition",
    "Changed",
    "Changes",
    "Created",
    "Marker",
    "Updated",
    "WithChanges",
    "changes_of",
    "track",
    "tracked_fields",
]

_MARKERS = {"UNKNOWN": UNKNOWN, "DATABASE": DATABASE}


def _encode_changes(changes: Changes) -> dict[str, Any]:
    # Field by field, each value as the payload encodes any other, so dates,
    # decimals and UUIDs come back as such; the markers by name.
    return {
        "fields": {name: [change.old, change.new] for name, change in changes.items()},
        "aliases": changes.aliases,
    }


def _decode_changes(data: dict[str, Any]) -> Changes:
    items = {}
    for name, (old, new) in data["fields"].items():
        items[name] = Change(old, new)
    return Changes(items, data["aliases"])


def _decode_marker(name: str) -> Marker:
    return _MARKERS[name]


register_type(Changes, "changes", _encode_changes, _decode_changes)
register_type(Marker, "marker", lambda marker: marker.name, _decode_marker)
