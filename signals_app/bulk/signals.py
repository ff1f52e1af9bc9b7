"""
The bulk-write signals: one pair for each kind of write Django sends nothing for.

Every one is a ``ModelSignal`` (a lazy ``"app_label.Model"`` sender works) sent
with the model as ``sender`` and these keyword arguments; a write of more rows
than the chunk size (``signals_app.bulk.chunk_size()``) sends each signal once
per chunk, so nothing is ever truncated and no send holds more than a chunk.

``pre_update`` / ``post_update`` — ``QuerySet.update()``
    ``using``, ``fields`` (the attribute names written, a tuple), ``pks``
    (a list). ``post_update`` adds ``values``: ``{attname: [value per pk]}``,
    what the database wrote, expressions such as ``F()`` resolved.
    ``old_values``, shaped like ``values``, holds what the rows held before
    the write when a connected receiver asked for it (see ``OldValues``),
    else None. ``pre_update`` is sent after the rows are read and locked,
    before they are written.
``pre_bulk_update`` / ``post_bulk_update`` — ``QuerySet.bulk_update()``
    The same arguments, plus ``objs``: the instances of the chunk. One send
    per chunk for the whole call, however many ``UPDATE`` statements Django
    runs for it.
``pre_bulk_create`` / ``post_bulk_create`` — ``QuerySet.bulk_create()``
    ``using``, ``objs``, ``conflicts`` (None, ``"ignore"`` or ``"update"``).
    ``post_bulk_create`` adds ``pks`` (None where the database did not say),
    ``created`` (True for a row certainly inserted, None where it may have
    been skipped or updated instead: with ``conflicts``), and ``values``
    (``{attname: [value per obj]}``, what the instances held).
"""

from ..signals import ModelSignal

__all__ = [
    "BULK_SIGNALS",
    "post_bulk_create",
    "post_bulk_update",
    "post_update",
    "pre_bulk_create",
    "pre_bulk_update",
    "pre_update",
]

pre_update = ModelSignal()
post_update = ModelSignal()
pre_bulk_update = ModelSignal()
post_bulk_update = ModelSignal()
pre_bulk_create = ModelSignal()
post_bulk_create = ModelSignal()

#: The six signals, pre before post.
BULK_SIGNALS: tuple[ModelSignal, ...] = (
    pre_update,
    post_update,
    pre_bulk_update,
    post_bulk_update,
    pre_bulk_create,
    post_bulk_create,
)
