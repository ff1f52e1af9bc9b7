"""
Signals for the writes Django sends none for: ``QuerySet.update()``,
``bulk_create()`` and ``bulk_update()``.

As Django loads the app, ``install()`` replaces those three ``QuerySet``
methods, once, with wrappers that send the signals of ``signals_app.signals``
for every model someone listens to, and call Django's own at once for every
other (``signals_app.bulk.patch``), unless the setting
``SIGNALS_APP_BULK_PATCH`` is False. Importing this package replaces nothing.
The payloads are concrete: keys, the values written, and on request the
values before (``signals_app.bulk.rows``).
"""

from ..signals import (
    BULK_SIGNALS,
    post_bulk_create,
    post_bulk_update,
    post_update,
    pre_bulk_create,
    pre_bulk_update,
    pre_update,
)
from .changed import ChangedRows
from .patch import (
    BulkSignalsManager,
    BulkSignalsMixin,
    BulkSignalsQuerySet,
    install,
    installed,
)
from .rows import (
    NewValues,
    OldValues,
    Row,
    RowFilter,
    asks,
    kept_rows,
    narrow,
    rows,
)
from .writes import DEFAULT_CHUNK_SIZE, chunk_size

__all__ = [
    "BULK_SIGNALS",
    "DEFAULT_CHUNK_SIZE",
    "BulkSignalsManager",
    "BulkSignalsMixin",
    "BulkSignalsQuerySet",
    "ChangedRows",
    "NewValues",
    "OldValues",
    "Row",
    "RowFilter",
    "asks",
    "chunk_size",
    "install",
    "installed",
    "kept_rows",
    "narrow",
    "post_bulk_create",
    "post_bulk_update",
    "post_update",
    "pre_bulk_create",
    "pre_bulk_update",
    "pre_update",
    "rows",
]
