"""
The project's signals, and their connections, whichever dispatcher they are on.

``project_signals()`` finds the signals the inspector looks at (see
``signals_app.inspector``) and what each may be called; ``links()`` reads one
signal's live connections the same way for ours and for Django's own.
"""

import sys
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from django.apps import apps
from django.dispatch import Signal as DjangoSignal

from . import signals as builtin_signals
from .dispatch import Connection, Signal
from .dispatch.connections import NONE_ID, make_id
from .dispatch.names import signal_name

__all__ = ["Link", "SignalNames", "links", "project_signals"]


@dataclass
class SignalNames:
    """What a signal is called, and what else a filter may call it."""

    #: Where it is defined (``signals_app.dispatch.names.signal_name``).
    name: str
    #: ``module.attribute`` of each scanned module that holds it, such as
    #: ``signals_app.signals.post_save``.
    aliases: set[str] = field(default_factory=set)

    def match(self, wanted: str) -> bool:
        """Whether ``wanted`` is its name, an alias, or its name's last part."""
        return wanted in (self.name, self.name.rpartition(".")[2]) or (
            wanted in self.aliases
        )


class Link(NamedTuple):
    """A live connection, read from either kind of signal."""

    receiver: Any
    #: The sender object; None for any sender, or when only its id is known.
    sender: Any
    #: Set only when the sender is known by its id alone.
    sender_id: Hashable | None
    weak: bool | None
    dispatch_uid: Hashable | None
    is_async: bool
    #: ``path:line`` of the ``connect()`` call; None when unknown.
    connected_at: str | None
    delivery: str = "now"
    #: The ``when=`` condition, shown by its repr; None without one.
    condition: str | None = None


def project_signals(*, django: bool = False) -> dict[Any, SignalNames]:
    """
    The signals on our dispatcher: the built-ins first, in the order
    ``signals_app.signals`` declares them, then every ``Signal`` held at module
    level by a loaded module of an installed app. With ``django``, then those
    still on Django's own dispatcher, held by loaded modules of Django or of
    an installed app.
    """
    found = {
        value: SignalNames(signal_name(value), {f"{builtin_signals.__name__}.{attr}"})
        for attr, value in vars(builtin_signals).items()
        if attr in builtin_signals.__all__ and isinstance(value, Signal)
    }
    # type(), not isinstance(): isinstance() would evaluate lazy objects.
    _scan(found, lambda kind: issubclass(kind, Signal))
    if django:
        _scan(
            found,
            lambda kind: (
                issubclass(kind, DjangoSignal) and not issubclass(kind, Signal)
            ),
            roots=["django"],
        )
    return found


def links(signal: Any) -> list[Link]:
    """The live connections of ``signal``, ours or Django's, in calling order."""
    if isinstance(signal, Signal):
        return [
            Link(
                conn.receiver,
                conn.sender,
                _id_only(conn),
                conn.weak,
                conn.dispatch_uid,
                conn.is_async,
                conn.connected_at,
                conn.delivery_name,
                None if conn.condition is None else repr(conn.condition),
            )
            for conn in signal.connections()
        ]
    return _django_links(signal)


def _id_only(conn: Connection) -> Hashable | None:
    # The sender's id when that is all there is of it: connections a tool
    # assigned to ``receivers``, or that Django made before we adopted its
    # signal (Django 5.2 keeps no reference to a sender).
    if conn.sender is not None or conn.sender_id == NONE_ID:
        return None
    return conn.sender_id


def _django_links(signal: DjangoSignal) -> list[Link]:
    # Django's entries: ((receiver key, sender id), receiver or weak
    # reference, [since 6.0: weak reference to the sender or None,] is_async).
    # The receiver key is the dispatch_uid when one was given.
    with signal.lock:
        entries = list(signal.receivers)
    found = []
    for (receiver_key, sender_id), receiver_ref, *sender_ref, is_async in entries:
        weak = isinstance(receiver_ref, weakref.ReferenceType)
        receiver = receiver_ref() if weak else receiver_ref
        sender_weakref = sender_ref[0] if sender_ref else None
        sender = sender_weakref() if sender_weakref is not None else None
        if receiver is None or (sender_weakref is not None and sender is None):
            continue  # dead: Django drops it at its next connect or send
        uid = None if receiver_key == make_id(receiver) else receiver_key
        by_id = sender is None and sender_id != NONE_ID
        found.append(
            Link(
                receiver,
                sender,
                sender_id if by_id else None,
                weak,
                uid,
                is_async,
                None,
            )
        )
    return found


def _scan(
    found: dict[Any, SignalNames],
    wanted: Callable[[type], bool],
    roots: Iterable[str] = (),
) -> None:
    # Every module-level name, of a loaded module under an installed app or
    # one of ``roots``, that holds a signal of a wanted class.
    app_names = [config.name for config in apps.get_app_configs()]
    for module_name, module in _loaded_modules([*app_names, *roots]):
        for attr, value in list(vars(module).items()):
            if wanted(type(value)):
                names = found.setdefault(value, SignalNames(signal_name(value)))
                names.aliases.add(f"{module_name}.{attr}")


def _loaded_modules(roots: list[str]) -> Iterator[tuple[str, ModuleType]]:
    loaded = sorted(
        (name, module)
        for name, module in list(sys.modules.items())
        if isinstance(module, ModuleType)
    )
    for root in dict.fromkeys(roots):
        for name, module in loaded:
            if name == root or name.startswith(root + "."):
                yield name, module
