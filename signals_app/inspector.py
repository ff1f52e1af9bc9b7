"""
What is connected to which signal: the data behind ``manage.py signals``.

``collect()`` returns one ``SignalReport`` per signal that has receivers,
each listing its ``ReceiverReport``\\ s in the order they are called, then the
receivers still waiting for a lazy sender: plain strings, booleans and
tuples, ready to print or to serialise. Signals looked at:

* On our dispatcher: Django's 14 built-in signals, which are instances of our
  classes (so receivers connected through ``django.db.models.signals`` and
  through ``signals_app.signals`` are one list), and every other
  ``signals_app.dispatch.Signal`` held at module level by a loaded module of
  an installed app (a signal nobody imported has no receivers).
* With ``django=True``, also those still on Django's own dispatcher
  (``connection_created``, ``user_logged_in``...) held by loaded modules of
  Django and of installed apps. Django records neither where they were
  connected nor, before 6.0, more than the id of a sender: such a sender is
  named when it is a model or an app config, else shown as ``<id 0x...>``.

Signals are named where they are defined (``signals_app.dispatch.names``):
``django.db.models.signals.post_save``. Receivers defined in Django itself
(``django.db.close_old_connections``...) or in signals_app's own machinery
are listed only with ``django=True``; those of third-party apps always are.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from asgiref.sync import iscoroutinefunction
from django.apps import apps
from django.db import models

from . import lazy
from . import signals as builtin_signals
from .discovery import Link, SignalNames, links, project_signals
from .dispatch.names import callable_name, signal_name
from .locations import defined_at, short_location

__all__ = [
    "ReceiverReport",
    "SignalReport",
    "UnknownSender",
    "UnknownSignal",
    "collect",
    "slow_delete_warning",
]

SenderKind = Literal["any", "model", "object", "pending"]

# Django's deletion collector gives up its fast path (one DELETE query, no
# rows loaded) for a model with listeners on either of these.
_DELETE_SIGNALS = (builtin_signals.pre_delete, builtin_signals.post_delete)


class UnknownSignal(LookupError):
    """A signal filter of ``collect()`` that names none of the signals looked at."""


class UnknownSender(LookupError):
    """A sender filter of ``collect()`` that names no model of the project."""


@dataclass(frozen=True)
class ReceiverReport:
    """One receiver of one signal, described for people and tools."""

    #: ``module.qualname`` of the receiver (of its class, for a callable object).
    receiver: str
    #: ``path:line`` of its definition, relative to the current directory or
    #: to the ``sys.path`` entry it was imported from; None when unknown.
    defined_at: str | None
    #: ``app_label.Model`` for a model, ``"any"`` for any sender, the lazy
    #: ``"app_label.Model"`` string while pending, else a qualname or repr.
    sender: str
    sender_kind: SenderKind
    #: Whether it is held by a weak reference; None when unknown.
    weak: bool | None
    #: The ``dispatch_uid`` it was connected with (non-strings as their repr).
    dispatch_uid: str | None
    is_async: bool
    #: When it is called: ``"now"``, inside ``send()``; ``"on_commit"``, once
    #: the transaction commits; ``"task"``, in a worker (see
    #: ``signals_app.delivery``). Receivers of signals on Django's own
    #: dispatcher, and receivers still waiting for a lazy sender, show ``"now"``.
    delivery: str
    #: ``path:line`` of the ``connect()`` call or ``@receiver``; None when
    #: unknown: on Django's own dispatcher, and for receivers connected before
    #: signals_app was imported.
    connected_at: str | None
    warnings: tuple[str, ...] = ()
    #: The ``when=`` condition it was connected with, as its repr
    #: (``Changed('status', to='paid')``); None without one.
    condition: str | None = None


@dataclass(frozen=True)
class SignalReport:
    """A signal and its receivers."""

    #: Where the signal is defined, e.g. ``django.db.models.signals.post_save``.
    name: str
    receivers: tuple[ReceiverReport, ...]


def collect(
    *,
    signals: Iterable[str] = (),
    senders: Iterable[str] = (),
    app_labels: Iterable[str] = (),
    django: bool = False,
) -> list[SignalReport]:
    """
    Describe the receivers of the project's signals.

    Arguments:

        signals
            Keep only these signals, each named by its dotted path (where it
            is defined, or any module it is imported into, such as
            ``signals_app.signals.post_save``) or by its last part
            (``post_save``).

        senders
            Keep only receivers connected for these models (``app_label.Model``,
            compared case-insensitively), including pending lazy senders.

        app_labels
            Keep only receivers connected for a model of these apps, or
            defined in one of their modules.

        django
            Also list the receivers defined in Django itself and in
            signals_app's machinery, and the signals still on Django's own
            dispatcher.

    Each filter keeps what matches any of its values; filters combine. Signals
    left without receivers are left out. Raise ``UnknownSignal`` for a signal
    name that names none of the signals looked at (those on Django's own
    dispatcher are looked at only with ``django``), ``UnknownSender`` for a
    sender that names neither a model nor a pending lazy sender, and
    ``LookupError`` for an app label not installed.
    """
    signals, senders, app_labels = list(signals), list(senders), list(app_labels)
    found = project_signals(django=django)
    waiting: dict[Any, list[lazy.PendingConnection]] = {}
    for pending in lazy.pending(apps):
        waiting.setdefault(pending.signal, []).append(pending)
        # A signal declared somewhere not scanned still shows its pending ones.
        found.setdefault(pending.signal, SignalNames(signal_name(pending.signal)))
    for wanted in signals:
        if not any(names.match(wanted) for names in found.values()):
            raise UnknownSignal(f"No signal named {wanted!r}.")
    _check_senders(senders, waiting)
    app_modules = [apps.get_app_config(label).name for label in app_labels]

    # What a sender known by its id alone can be: a model, or an app config
    # (they send pre_migrate and post_migrate).
    senders_by_id: dict[Hashable, Any] = {
        id(sender): sender
        for sender in [
            *apps.get_models(include_auto_created=True, include_swapped=True),
            *apps.get_app_configs(),
        ]
    }
    reports = []
    for signal, names in found.items():
        if signals and not any(names.match(wanted) for wanted in signals):
            continue
        receivers = [
            _describe(link, signal, names.name, senders_by_id) for link in links(signal)
        ]
        receivers += [_describe_pending(p) for p in waiting.get(signal, ())]
        receivers = [
            report
            for report in receivers
            if (django or not _infrastructure(report))
            and _keeps(report, senders, app_labels, app_modules)
        ]
        if receivers:
            reports.append(SignalReport(names.name, tuple(receivers)))
    return reports


def slow_delete_warning(receiver: str, signal_name: str) -> str:
    """The warning for a receiver of a delete signal connected for any sender."""
    return (
        f"{receiver} receives {signal_name} from any sender, which turns off "
        "Django's fast delete for every model in the project (deletes and "
        "cascades load each row to send the signal). Connect it with sender= "
        "for the models it needs."
    )


def _check_senders(
    senders: list[str], waiting: dict[Any, list[lazy.PendingConnection]]
) -> None:
    # A sender filter names a model, or the string of a pending lazy sender
    # (which is how a typo in one is found); anything else would silently
    # filter everything out.
    known = {
        model._meta.label_lower
        for model in apps.get_models(include_auto_created=True, include_swapped=True)
    }
    known.update(p.model.lower() for pendings in waiting.values() for p in pendings)
    for sender in senders:
        if sender.lower() in known:
            continue
        app_label, _, model_name = sender.partition(".")
        if not app_label or not model_name:
            raise UnknownSender(
                f"Sender {sender!r} is not of the form app_label.ModelName."
            )
        labels = {config.label.lower() for config in apps.get_app_configs()}
        if app_label.lower() not in labels:
            raise UnknownSender(
                f"Sender {sender!r}: no installed app has the label {app_label!r}."
            )
        raise UnknownSender(
            f"Sender {sender!r}: app {app_label!r} has no model {model_name!r}."
        )


def _infrastructure(report: ReceiverReport) -> bool:
    # Django's own receivers, and signals_app's, are the framework's
    # housekeeping rather than the project's.
    return report.receiver.startswith(("django.", "signals_app."))


def _describe(
    link: Link,
    signal: Any,
    signal_name: str,
    senders_by_id: dict[Hashable, Any],
) -> ReceiverReport:
    receiver = link.receiver
    name = callable_name(receiver)
    sender, sender_kind = _describe_sender(link, senders_by_id)
    warnings: tuple[str, ...] = ()
    if sender_kind == "any" and any(signal is s for s in _DELETE_SIGNALS):
        warnings = (slow_delete_warning(name, signal_name),)
    return ReceiverReport(
        receiver=name,
        defined_at=defined_at(receiver),
        sender=sender,
        sender_kind=sender_kind,
        weak=link.weak,
        dispatch_uid=_uid(link.dispatch_uid),
        is_async=link.is_async,
        delivery=link.delivery,
        connected_at=short_location(link.connected_at),
        condition=link.condition,
        warnings=warnings,
    )


def _describe_pending(pending: lazy.PendingConnection) -> ReceiverReport:
    return ReceiverReport(
        receiver=callable_name(pending.receiver),
        defined_at=defined_at(pending.receiver),
        sender=pending.model,
        sender_kind="pending",
        weak=pending.weak,
        dispatch_uid=_uid(pending.dispatch_uid),
        is_async=iscoroutinefunction(pending.receiver),
        delivery=pending.delivery,
        connected_at=short_location(pending.connected_at),
        condition=None if pending.condition is None else repr(pending.condition),
    )


def _describe_sender(
    link: Link, senders_by_id: dict[Hashable, Any]
) -> tuple[str, SenderKind]:
    sender = link.sender
    if sender is None and link.sender_id is not None:
        sender = senders_by_id.get(link.sender_id)
        if sender is None:
            sender_id = link.sender_id
            shown = hex(sender_id) if isinstance(sender_id, int) else repr(sender_id)
            return f"<id {shown}>", "object"
    if sender is None:
        return "any", "any"
    if isinstance(sender, type) and issubclass(sender, models.Model):
        model: type[models.Model] = sender
        return model._meta.label, "model"
    return getattr(sender, "__qualname__", None) or repr(sender), "object"


def _keeps(
    report: ReceiverReport,
    senders: list[str],
    app_labels: list[str],
    app_modules: list[str],
) -> bool:
    names_model = report.sender_kind in ("model", "pending")
    if senders and not (
        names_model and report.sender.lower() in {s.lower() for s in senders}
    ):
        return False
    if app_labels:
        sender_app = report.sender.partition(".")[0] if names_model else None
        defined_in_app = any(
            report.receiver.startswith(module + ".") for module in app_modules
        )
        if sender_app not in app_labels and not defined_in_app:
            return False
    return True


def _uid(dispatch_uid: Hashable | None) -> str | None:
    if dispatch_uid is None or isinstance(dispatch_uid, str):
        return dispatch_uid
    return repr(dispatch_uid)
