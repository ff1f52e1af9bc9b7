"""
Django's built-in signals, running on signals_app's dispatcher.

``install()`` turns each of Django's 14 built-in signal objects
(``django.db.models.signals.post_save`` and the rest, ``django.core.signals``'
request signals and ``setting_changed``) into an instance of our ``Signal`` or
``ModelSignal``, in place, keeping the receivers it had. The app's
configuration calls it as Django loads the app; importing this module changes
nothing of Django's. The names exported here are those very objects, installed
or not: ``signals_app.signals.post_save is django.db.models.signals.post_save``.
So there is one list of receivers and one dispatch, whichever import a
receiver used, and Django's ORM and request handlers call our ``send()``
directly.

``ModelSignal`` accepts a lazy ``"app_label.ModelName"`` sender.

It also declares the signals signals_app adds for the bulk writes Django sends
none for (``signals_app.bulk`` sends them, and says how):

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

from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from django.apps.registry import Apps
from django.core import signals as core_signals
from django.db.models import signals as model_signals
from django.dispatch import Signal as DjangoSignal

from . import lazy
from .dispatch import Delivery, DeliveryName, Signal
from .dispatch.conditions import Condition
from .dispatch.connections import caller_location, check_receiver, weak_reference

__all__ = [
    "BUILTIN_NAMES",
    "BULK_SIGNALS",
    "ModelSignal",
    "class_prepared",
    "got_request_exception",
    "m2m_changed",
    "post_bulk_create",
    "post_bulk_update",
    "post_delete",
    "post_init",
    "post_migrate",
    "post_save",
    "post_update",
    "pre_bulk_create",
    "pre_bulk_update",
    "pre_delete",
    "pre_init",
    "pre_migrate",
    "pre_save",
    "pre_update",
    "request_finished",
    "request_started",
    "setting_changed",
]


class ModelSignal(Signal, model_signals.ModelSignal):
    """
    A signal whose sender may be named lazily, as ``"app_label.ModelName"``.

    Such a sender is looked up in the app registry (the project's, or the
    ``apps`` given). A connection to a model that is not registered yet waits
    for it, so receivers can connect before the models load. A string of
    another form is a ``ValueError`` at once; one that names no model by the
    time the project is checked is reported by ``manage.py check``.
    """

    def connect(
        self,
        receiver: Callable[..., Any],
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Hashable | None = None,
        apps: Apps | None = None,
        *,
        delivery: DeliveryName | Delivery = "now",
        when: Condition | None = None,
    ) -> None:
        """
        ``Signal.connect()``, where ``sender`` may also be a lazy model name,
        looked up in ``apps``.
        """
        connected_at = caller_location()
        if not isinstance(sender, str):
            self._connect(
                receiver, sender, weak, dispatch_uid, connected_at, delivery, when
            )
            return
        lazy.model_key(sender)
        # What connect() would refuse once the model is there, it refuses now.
        check_receiver(receiver)
        if weak:
            weak_reference(receiver)
        hash(dispatch_uid)
        if when is not None and not isinstance(when, Condition):
            raise TypeError(f"when= takes a Condition, not {when!r}.")
        how = self.delivery_for(receiver, delivery)
        if how is not None:
            how.connected(self, receiver, sender, dispatch_uid)
        lazy.when_registered(
            apps or _project_apps(),
            sender,
            lambda model: self._connect(
                receiver, model, weak, dispatch_uid, connected_at, delivery, when
            ),
            lazy.PendingConnection(
                self,
                receiver,
                sender,
                apps or _project_apps(),
                connected_at,
                dispatch_uid,
                weak,
                "now" if how is None else how.name,
                when,
            ),
        )

    # None for a lazy sender, as in Django: wider than Signal's bool.
    def disconnect(  # type: ignore[override]
        self,
        receiver: Callable[..., Any] | None = None,
        sender: Any = None,
        dispatch_uid: Hashable | None = None,
        apps: Apps | None = None,
    ) -> bool | None:
        """
        ``Signal.disconnect()``, where ``sender`` may also be a lazy model name.

        With a lazy name the result is None, as in Django. A connection still
        waiting for its model is withdrawn at once; otherwise the disconnection
        happens when the model is registered, or now if it already is.
        """
        if not isinstance(sender, str):
            return super().disconnect(receiver, sender, dispatch_uid)
        apps = apps or _project_apps()
        if lazy.withdraw(self, receiver, sender, apps, dispatch_uid):
            return None
        lazy.when_registered(
            apps,
            sender,
            lambda model: Signal.disconnect(self, receiver, model, dispatch_uid),
        )
        return None


def _project_apps() -> Apps:
    from django.apps import apps

    return apps


#: The names of Django's 14 built-in signals, which this module adopts.
BUILTIN_NAMES = (
    "class_prepared",
    "pre_init",
    "post_init",
    "pre_save",
    "post_save",
    "pre_delete",
    "post_delete",
    "m2m_changed",
    "pre_migrate",
    "post_migrate",
    "request_started",
    "request_finished",
    "got_request_exception",
    "setting_changed",
)


def install() -> None:
    """
    Switch Django's 14 built-in signal objects to our dispatcher, in place.

    Idempotent. ``SignalsAppConfig`` calls it as Django loads the app, before
    any app's ``ready()`` connects a receiver; a project has no reason to.
    """
    for name in BUILTIN_NAMES:
        module = model_signals if hasattr(model_signals, name) else core_signals
        builtin = getattr(module, name)
        ours = ModelSignal if isinstance(builtin, model_signals.ModelSignal) else Signal
        ours.adopt(builtin, module.__name__)
    _redirect_waiting(_project_apps())


def _redirect_waiting(apps: Apps) -> None:
    # A lazy sender connected before the switch ("shop.Order" given to
    # Django's ModelSignal.connect(), say from a manage.py that connects
    # before django.setup()) waits in the app registry as a call of Django's
    # own connect(), bound to the signal. Made once the model loads, that
    # call would run Django's code on our object: it takes the lock, then
    # reads ``receivers``, which takes it again, and the process hangs. So
    # each such call becomes the same call of our method, which takes the
    # model that Django passes as ``sender``.
    ours = {DjangoSignal.connect: "connect", DjangoSignal.disconnect: "disconnect"}
    for waiting in apps._pending_operations.values():
        for operation in waiting:
            call: Any = getattr(operation, "func", None)
            method = getattr(call, "func", None)
            name = ours.get(getattr(method, "__func__", None))
            signal = getattr(method, "__self__", None)
            if name is not None and isinstance(signal, Signal):
                operation.func = partial(
                    getattr(signal, name), *call.args, **call.keywords
                )


class_prepared: Signal = model_signals.class_prepared
pre_init: ModelSignal = model_signals.pre_init
post_init: ModelSignal = model_signals.post_init
pre_save: ModelSignal = model_signals.pre_save
post_save: ModelSignal = model_signals.post_save
pre_delete: ModelSignal = model_signals.pre_delete
post_delete: ModelSignal = model_signals.post_delete
m2m_changed: ModelSignal = model_signals.m2m_changed
pre_migrate: Signal = model_signals.pre_migrate
post_migrate: Signal = model_signals.post_migrate
request_started: Signal = core_signals.request_started
request_finished: Signal = core_signals.request_finished
got_request_exception: Signal = core_signals.got_request_exception
setting_changed: Signal = core_signals.setting_changed

# The instances these two carry are rows being deleted: a queued receiver gets
# their field values, since the rows are gone by the time a worker runs.
pre_delete.sends_deleted_instances = True
post_delete.sends_deleted_instances = True

# Django sends pre_save before the write, outside the transaction it opens
# for it (none at all for a plain model in autocommit), so a delivery made
# from it could be committed before the write fails. Every other pre_ signal
# is sent inside the write's own atomic block (the deletion collector, the
# m2m managers, signals_app.bulk), which takes its deliveries down with it.
pre_save.later_delivery_refused = (
    "Django sends pre_save before the write and outside any transaction it "
    "opens for it, so in autocommit the call would be delivered even when the "
    "write then fails (a unique constraint, a database error), for a row "
    "that never existed. A receiver delivered later runs after the write "
    "anyway: connect it to post_save, sent once the write succeeded, with "
    "the same arguments and created."
)

# The bulk writes' signals, sent by signals_app.bulk.
pre_update = ModelSignal()
post_update = ModelSignal()
pre_bulk_update = ModelSignal()
post_bulk_update = ModelSignal()
pre_bulk_create = ModelSignal()
post_bulk_create = ModelSignal()

#: The six bulk signals, each pre before its post.
BULK_SIGNALS: tuple[ModelSignal, ...] = (
    pre_update,
    post_update,
    pre_bulk_update,
    post_bulk_update,
    pre_bulk_create,
    post_bulk_create,
)
