"""
``ChangedRows``: a ``Changed`` condition of ``signals_app.changes``, for bulk writes.

``Changed("status", to="paid")`` is a condition of ``pre_save`` and
``post_save``. ``ChangedRows(Changed("status", to="paid"))`` reads the same
public attributes (``fields``, ``from_``, ``to``) and keeps, of the rows a
bulk write reports with their written values (``post_update``,
``post_bulk_update``), those where one of those fields changed that way:
old values are read for it, the receiver gets only those rows, and is not
called when there are none. On ``pre_save`` and ``post_save`` it is the
``Changed`` it wraps, so one receiver can hear both kinds of write::

    @receiver([post_save, post_update], sender="shop.Order",
              when=ChangedRows(Changed("status", to="paid")))
"""

from typing import Any

from ..changes import ANY, Changed
from ..dispatch.conditions import Condition, Selection
from ..signals import BULK_SIGNALS, post_bulk_update, post_update
from .rows import OLD_VALUES, Row, kept_rows, rows

__all__ = ["ChangedRows"]


class ChangedRows(Condition):
    """The rows of a bulk write that ``changed`` (a ``Changed``) holds for."""

    bulk_asks = OLD_VALUES

    def __init__(self, changed: Changed) -> None:
        if not isinstance(changed, Changed):
            raise TypeError(
                f"ChangedRows() takes a Changed condition, not {changed!r}."
            )
        #: The ``Changed`` condition whose fields and values it reads.
        self.changed = changed

    def connected(self, signal: Any, sender: Any) -> None:
        """
        On a save signal, the ``Changed`` starts watching its fields; a bulk
        signal that reports no written values is refused.
        """
        if signal in (post_update, post_bulk_update):
            return
        if signal in BULK_SIGNALS:
            # Its sends carry no written values to compare (or no keys at
            # all): no row could ever be kept, nor the call fall back on a
            # save's Changed, which reads an instance.
            raise ValueError(
                f"{self!r} is a condition of post_update, post_bulk_update, "
                "pre_save and post_save."
            )
        self.changed.connected(signal, sender)

    def select(self, sender: Any, named: dict[str, Any]) -> Selection | None:
        """The rows that changed as asked; on a save, what ``Changed`` selects."""
        if "pks" not in named:
            return self.changed.select(sender, named)
        names = self.changed.fields
        wanted = (
            None
            if names is None
            else {sender._meta.get_field(name).attname for name in names}
        )
        kept = [
            index for index, row in enumerate(rows(named)) if self._changed(row, wanted)
        ]
        return Selection({}, kept_rows(named, kept))

    def _changed(self, row: Row, wanted: set[str] | None) -> bool:
        old = row.old or {}
        for attname, new in row.values.items():
            if wanted is not None and attname not in wanted:
                continue
            if attname not in old or old[attname] == new:
                continue
            if self.changed.from_ is not ANY and old[attname] != self.changed.from_:
                continue
            if self.changed.to is not ANY and new != self.changed.to:
                continue
            return True
        return False

    def __repr__(self) -> str:
        return f"ChangedRows({self.changed!r})"
