"""
What is connected to which signal: the data behind ``manage.py signals``.

``collect()`` returns one ``SignalReport`` per signal that has receivers,
each listing its ``ReceiverReport``\\ s in the order they are called, then the
receivers still waiting for a lazy sender. The reports hold plain strings,
booleans and tuples, ready to print or to serialise.

Which signals are looked at:

* ours: the built-in signals of ``signals_app.signals``, and every other
  ``signals_app.dispatch.Signal`` held by a module-level name of an
  already-imported module of an installed app (found through
  ``sys.modules``; a signal that nobody imported has no receivers). A signal
  held by several modules is named after the first one, in
  ``INSTALLED_APPS`` order, then by module name; built-ins are always
  ``signals_app.signals.<name>``.
* with ``django=True``, Django's own: those of ``django.db.models.signals``
  and ``django.core.signals``. Django keeps only the id of a receiver's
  sender, so a sender is named when it is a model or an app config and
  shown as ``<id 0x...>`` otherwise; where a receiver was connected is
  unknown, and Django's own lazy senders are not listed until they resolve.
"""

import os
import sys
import weakref
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from inspect import getsourcefile, unwrap
from types import MethodType, ModuleType
from typing import Any, Literal, NamedTuple

from asgiref.sync import iscoroutinefunction
from django.apps import apps
from django.core import signals as django_core_signals
from django.db import models
from django.db.models import signals as django_model_signals
from django.dispatch import Signal as DjangoSignal

from . import lazy, wiring
from . import signals as builtin_signals
from .dispatch import Signal

__all__ = ["ReceiverReport", "SignalReport", "UnknownSignal", "collect"]

SenderKind = Literal["any", "model", "object", "pending"]

_DJANGO_SIGNAL_MODULES = (django_model_signals, django_core_signals)
# Django's deletion collector gives up its fast path (one DELETE query, no
# rows loaded) for a model with listeners on either of these.
_DELETE_SIGNALS = (
    builtin_signals.pre_delete,
    builtin_signals.post_delete,
    django_model_signals.pre_delete,
    django_model_signals.post_delete,
)


class UnknownSignal(LookupError):
    """A signal filter of ``collect()`` that names none of the signals looked at."""


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
    #: ``signals_app.delivery``). Django's own receivers, and receivers still
    #: waiting for a lazy sender, show ``"now"``.
    delivery: str
    #: ``path:line`` of the ``connect()`` call or ``@receiver``; None when unknown.
    connected_at: str | None
    #: For signals_app's own forwarder on a Django signal: the signal of ours
    #: it re-sends on.
    forwards_to: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignalReport:
    """A signal and its receivers."""

    #: Dotted path of the signal, e.g. ``signals_app.signals.post_save``.
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
    Describe the receivers of our signals and, with ``django``, of Django's.

    Arguments:

        signals
            Keep only these signals, each named by its dotted path or by its
            last part (``post_save`` names ours and, with ``django``,
            Django's).

        senders
            Keep only receivers connected for these models (``app_label.Model``,
            compared case-insensitively), including pending lazy senders.

        app_labels
            Keep only receivers connected for a model of these apps, or
            defined in one of their modules.

        django
            Also describe Django's built-in signals.

    Each filter keeps what matches any of its values; filters combine. Signals
    left without receivers are left out. Raise ``UnknownSignal`` for a signal
    name that names none of them (Django's are looked at only with
    ``django``), ``LookupError`` for an app label not installed.
    """
    signals, senders, app_labels = list(signals), list(senders), list(app_labels)
    named = _our_signals()
    if django:
        named.update(_django_signals())
    for wanted in signals:
        if not any(_signal_matches(wanted, name) for name in named.values()):
            raise UnknownSignal(f"No signal named {wanted!r}.")
    app_modules = [apps.get_app_config(label).name for label in app_labels]

    # What Django's entries name by id alone: models, and the app configs
    # that send pre_migrate and post_migrate.
    senders_by_id: dict[Hashable, Any] = {
        id(sender): sender
        for sender in [
            *apps.get_models(include_auto_created=True, include_swapped=True),
            *apps.get_app_configs(),
        ]
    }
    waiting: dict[Any, list[lazy.PendingConnection]] = {}
    for pending in lazy.pending(apps):
        waiting.setdefault(pending.signal, []).append(pending)
        # A signal declared somewhere not scanned still shows its pending ones.
        named.setdefault(pending.signal, repr(pending.signal))
    forwarded = _forwarded_by_django_signal(named)

    reports = []
    for signal, name in named.items():
        if signals and not any(_signal_matches(wanted, name) for wanted in signals):
            continue
        if isinstance(signal, DjangoSignal):
            links = _django_links(signal)
        else:
            links = _links(signal)
        receivers = [
            _describe(link, signal, name, senders_by_id, forwarded) for link in links
        ]
        receivers += [_describe_pending(p) for p in waiting.get(signal, ())]
        receivers = [
            report
            for report in receivers
            if _keeps(report, senders, app_labels, app_modules)
        ]
        if receivers:
            reports.append(SignalReport(name, tuple(receivers)))
    return reports


class _Link(NamedTuple):
    """A live connection, read from either kind of signal."""

    receiver: Any
    # The sender object; None for any sender, or when only its id is known.
    sender: Any
    # Set only when the sender is known by its id alone.
    sender_id: Hashable | None
    weak: bool | None
    dispatch_uid: Hashable | None
    is_async: bool
    connected_at: str | None
    delivery: str = "now"


def _links(signal: Signal) -> list[_Link]:
    # The one place that reads the dispatcher's private per-connection
    # attributes (a public ``Signal.connections()`` returning these would
    # replace it). ``receivers`` returns the live connections themselves, in
    # registration order, after dropping dead ones and telling the wiring.
    links = []
    for conn in signal.receivers:
        receiver = conn.deref()
        if conn.sender_ref is not None:
            sender, sender_id = conn.sender_ref(), None
            if sender is None:
                continue
        else:
            sender = None
            sender_id = None if conn.sender_id == id(None) else conn.sender_id
        if receiver is not None:
            links.append(
                _Link(
                    receiver,
                    sender,
                    sender_id,
                    conn.weak,
                    conn.dispatch_uid,
                    conn.is_async,
                    conn.connected_at,
                    _delivery_name(conn.delivery),
                )
            )
    return links


def _delivery_name(delivery: Any) -> str:
    # A connection's delivery is None for "now", else an object naming itself.
    return "now" if delivery is None else str(getattr(delivery, "name", delivery))


def _django_links(signal: DjangoSignal) -> list[_Link]:
    # Entries are ((receiver key, sender id), receiver or weak reference,
    # [sender weak reference on Django 6,] is_async). The receiver key is the
    # dispatch_uid when one was given, else the receiver's id.
    with signal.lock:
        entries = list(signal.receivers)
    links = []
    for (receiver_key, sender_id), receiver_ref, *_, is_async in entries:
        weak = isinstance(receiver_ref, weakref.ReferenceType)
        receiver = receiver_ref() if weak else receiver_ref
        if receiver is None:
            continue
        uid = None if receiver_key == _django_id(receiver) else receiver_key
        any_sender = sender_id == id(None)
        links.append(
            _Link(
                receiver,
                None,
                None if any_sender else sender_id,
                weak,
                uid,
                is_async,
                None,
            )
        )
    return links


def _django_id(receiver: Any) -> Hashable:
    # How Django keys a receiver connected without a dispatch_uid.
    if hasattr(receiver, "__func__"):
        return (id(receiver.__self__), id(receiver.__func__))
    return id(receiver)


def _our_signals() -> dict[Any, str]:
    named: dict[Any, str] = {}
    for attr, value in vars(builtin_signals).items():
        if attr in builtin_signals.__all__ and issubclass(type(value), Signal):
            named[value] = f"{builtin_signals.__name__}.{attr}"
    for module_name, module in _app_modules():
        for attr, value in list(vars(module).items()):
            # type(), not isinstance(): isinstance() would evaluate lazy objects.
            if issubclass(type(value), Signal):
                named.setdefault(value, f"{module_name}.{attr}")
    return named


def _app_modules() -> Iterator[tuple[str, ModuleType]]:
    loaded = sorted(
        (name, module)
        for name, module in list(sys.modules.items())
        if isinstance(module, ModuleType)
    )
    for config in apps.get_app_configs():
        for name, module in loaded:
            if name == config.name or name.startswith(config.name + "."):
                yield name, module


def _django_signals() -> dict[Any, str]:
    return {
        value: f"{module.__name__}.{attr}"
        for module in _DJANGO_SIGNAL_MODULES
        for attr, value in vars(module).items()
        if issubclass(type(value), DjangoSignal)
    }


def _forwarded_by_django_signal(named: dict[Any, str]) -> dict[int, str]:
    # Our wired signals name the Django signal they forward from.
    return {
        id(signal.mirrors): name
        for signal, name in named.items()
        if isinstance(getattr(signal, "mirrors", None), DjangoSignal)
    }


def _signal_matches(wanted: str, name: str) -> bool:
    return wanted in (name, name.rpartition(".")[2])


def _describe(
    link: _Link,
    signal: Any,
    signal_name: str,
    senders_by_id: dict[Hashable, Any],
    forwarded: dict[int, str],
) -> ReceiverReport:
    receiver = link.receiver
    name = _dotted_name(receiver)
    sender, sender_kind = _describe_sender(link, senders_by_id)
    forwards_to = None
    if wiring.forwards_to(receiver) is not None:
        forwards_to = forwarded.get(id(signal), "a signal of signals_app")
    warnings: tuple[str, ...] = ()
    if sender_kind == "any" and any(signal is s for s in _DELETE_SIGNALS):
        warnings = (_slow_delete_warning(name, signal_name, forwards_to),)
    return ReceiverReport(
        receiver=name,
        defined_at=_defined_at(receiver),
        sender=sender,
        sender_kind=sender_kind,
        weak=link.weak,
        dispatch_uid=_uid(link.dispatch_uid),
        is_async=link.is_async,
        delivery=link.delivery,
        connected_at=_short_location(link.connected_at),
        forwards_to=forwards_to,
        warnings=warnings,
    )


def _describe_pending(pending: lazy.PendingConnection) -> ReceiverReport:
    return ReceiverReport(
        receiver=_dotted_name(pending.receiver),
        defined_at=_defined_at(pending.receiver),
        sender=pending.model,
        sender_kind="pending",
        weak=pending.weak,
        dispatch_uid=_uid(pending.dispatch_uid),
        is_async=iscoroutinefunction(pending.receiver),
        delivery=pending.delivery,
        connected_at=_short_location(pending.connected_at),
    )


def _describe_sender(
    link: _Link, senders_by_id: dict[Hashable, Any]
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
        return sender._meta.label, "model"
    return getattr(sender, "__qualname__", None) or repr(sender), "object"


def _slow_delete_warning(
    receiver: str, signal_name: str, forwards_to: str | None
) -> str:
    if forwards_to is None:
        subject = receiver
        remedy = "Connect it with sender= for the models it needs."
    else:
        subject = f"The signals_app forwarder to {forwards_to}"
        remedy = f"It is there because a receiver of {forwards_to} has no sender."
    return (
        f"{subject} receives {signal_name} from any sender, which turns off "
        "Django's fast delete for every model in the project (deletes and "
        f"cascades load each row to send the signal). {remedy}"
    )


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


def _dotted_name(receiver: Any) -> str:
    if isinstance(receiver, partial):
        return f"functools.partial({_dotted_name(receiver.func)})"
    owner = receiver if hasattr(receiver, "__qualname__") else type(receiver)
    return f"{getattr(owner, '__module__', None) or '?'}.{owner.__qualname__}"


def _defined_at(receiver: Any) -> str | None:
    function = _function(receiver)
    code = getattr(function, "__code__", None)
    if code is None:
        # A callable object: what runs is its class's __call__.
        function = _function(type(receiver).__call__)
        code = getattr(function, "__code__", None)
        if code is None:
            return None
    try:
        path = getsourcefile(function) or code.co_filename
    except TypeError:
        path = code.co_filename
    return f"{_short_path(path)}:{code.co_firstlineno}"


def _function(obj: Any) -> Any:
    # Down to the function whose code runs: through partials, bound methods
    # and decorators that set __wrapped__ (functools.wraps).
    for _ in range(100):
        if isinstance(obj, partial):
            obj = obj.func
        elif isinstance(obj, MethodType):
            obj = obj.__func__
        elif hasattr(obj, "__wrapped__") and not isinstance(obj, type):
            try:
                obj = unwrap(obj)
            except ValueError:  # a __wrapped__ cycle
                return obj
        else:
            break
    return obj


def _uid(dispatch_uid: Hashable | None) -> str | None:
    if dispatch_uid is None or isinstance(dispatch_uid, str):
        return dispatch_uid
    return repr(dispatch_uid)


def _short_location(location: str | None) -> str | None:
    if location is None:
        return None
    path, _, line = location.rpartition(":")
    return f"{_short_path(path)}:{line}" if path else location


def _short_path(path: str) -> str:
    # Relative to the deepest of the current directory and the sys.path
    # entries that holds it: "testproject/audit/signals.py",
    # "django/db/__init__.py".
    path = os.path.abspath(path)
    bases = [os.getcwd(), *(entry for entry in sys.path if entry)]
    holders = [
        base
        for base in map(os.path.abspath, bases)
        if path.startswith(base.rstrip(os.sep) + os.sep)
    ]
    if not holders:
        return path
    return os.path.relpath(path, max(holders, key=len))
