"""
``send()`` compiled for the keyword names a signal is sent with.

A send with keywords gathered into ``**named`` costs CPython a dict, and a
call ``receiver(**named)`` spreads that dict again for every receiver. The
names ``send()`` gets are few and fixed per call site (``post_save`` is
always sent with the same five), so for each set of names a ``send`` is
generated once, from source written here, whose parameters are those names:
it receives them without building a dict and calls every receiver with them
spelled out. The dispatcher installs it on a signal as the instance's own
``send`` once the signal has been sent with those names.

A compiled send checks what the class's send would: that no instrument or
tool's patch has replaced the class's method or Django's, and that the
sender's plan is known. If any of that fails, or the call's names are not
exactly its own, it hands the same arguments to the general path; a plan
with asynchronous receivers or deliveries later goes straight to
``sending.send_now()``.

Receivers with a condition, all synchronous and called now (a change-aware
``post_save`` receiver), stay on the compiled path: the names go into one
dict for the conditions, ``conditions.admitted()`` asks them all before
the first receiver runs, as the general path does, and each receiver is
called with the names spelled out. What a condition adds goes through a
caller compiled, once per compiled send, for the names it added (``changes``
for the change conditions), so it too arrives as a keyword rather than
through a merged dict. A name that is both sent and added keeps its place
and takes the added value, the others come last in the order added:
``{**sent, **added}``, as on the general path. Added names that cannot be
spelled as keywords get that very dict.

Names that cannot be spelled in source (not identifiers, Python keywords,
non-ASCII ones that source would normalise), ``signal`` and ``self``, which
a send must refuse, and the compiled function's own names get no send:
``send_for()`` answers None and the signal keeps the class's.
"""

import keyword
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from django.dispatch import Signal as DjangoSignal

from .conditions import admitted
from .patches import DJANGOS_LIVE_RECEIVERS, DJANGOS_SEND
from .sending import send_now

__all__ = ["is_compiled_send", "send_for"]

# (signal, sender, named, *extra) -> responses: the class's send, general path.
General = Callable[..., list]

# Names come from the code that sends; a program that makes them up as it
# goes must not grow this without end, so it starts over past this many.
_MAX_SENDS = 256
# None for names that cannot be spelled: asked again on every send with them.
_sends: dict[tuple[str, ...], Callable[..., list] | None] = {}
# Every function compiled here, to tell a signal's compiled send from one
# that someone else set on it.
_made: "weakref.WeakSet[Callable[..., list]]" = weakref.WeakSet()

# Stands for a keyword the call did not pass.
_ABSENT = object()

# The generated function's own names: a keyword spelled the same would
# shadow them. ``signal`` and ``self`` must fail as they do with Django's.
_OWN_NAMES = frozenset(
    {
        "_signal",
        "sender",
        "_rest",
        "_extra",
        "_ABSENT",
        "_type",
        "_id",
        "_general",
        "_named",
        "_own",
        "_DjangoSignal",
        "_LIVE",
        "_SEND",
        "_refs",
        "_plan",
        "_now",
        "_ref",
        "_receiver",
        "_responses",
        "_sent",
        "_added",
        "_admitted",
        "_call",
        "_gated",
        "_with",
        "_with_added",
    }
)
_REFUSED = _OWN_NAMES | {"signal", "self"}


def send_for(
    names: tuple[str, ...], general: General, own: Callable[..., Any]
) -> Callable[..., list] | None:
    """
    The ``send(signal, /, sender, **named)`` compiled for the keywords
    ``names``; None when they cannot be spelled out. ``own`` is the class's
    ``send``, which it checks is still in place; ``general(signal, sender,
    named)`` is where it hands any other call. Both are the dispatcher's,
    the same on every call.
    """
    try:
        return _sends[names]
    except KeyError:
        pass
    if len(_sends) >= _MAX_SENDS:
        _sends.clear()
    spellable = all(_spellable(name) for name in names)
    send = _sends[names] = _compile(names, general, own) if spellable else None
    return send


def is_compiled_send(method: Any) -> bool:
    """Whether ``method`` is a send compiled here, bound to some signal."""
    return getattr(method, "__func__", None) in _made


def _spellable(name: str) -> bool:
    return _keyword_spellable(name) and name not in _REFUSED


def _compile(
    names: tuple[str, ...], general: General, own: Callable[..., Any]
) -> Callable[..., list]:
    # Each name is a keyword-only parameter defaulting to _ABSENT, and
    # **_rest catches any other: either means the call's names differ.
    # *_extra takes positional arguments past sender, so that the class's
    # send refuses them with Django's message, which names no keywords.
    params = "".join(f", {name}=_ABSENT" for name in names)
    absent = "".join(f" or {name} is _ABSENT" for name in names)
    spelled = "".join(f", {name}={name}" for name in names)
    values = "".join(f", {name}" for name in names)
    items = ", ".join(f"{name!r}: {name}" for name in names)
    lines = [
        f"def send(_signal, /, sender, *_extra{params}, **_rest):",
        f"    if (_extra or _rest{absent}",
        "            or _type(_signal).send is not _own",
        "            or _DjangoSignal._live_receivers is not _LIVE",
        "            or _DjangoSignal.send is not _SEND):",
        f"        return _general(_signal, sender, _named(_rest{values}), *_extra)",
        # No plans are kept while nothing is connected: a signal whose
        # receivers all went answers here, without raising KeyError below.
        "    if not _signal._connections:",
        "        return []",
        # A miss is handled after the except block: a send made inside it
        # would carry the KeyError as the context of what its receivers raise.
        "    try:",
        "        _plan = _signal._plans[_id(sender)]",
        "    except KeyError:",
        "        _plan = None",
        "    if _plan is None:",
        f"        return _general(_signal, sender, _named(_rest{values}))",
        "    _refs = _plan[0]",
        # Receivers not all plain: apart, so that this function's frame
        # stays as small as the plain path needs.
        "    if _refs is None:",
        f"        return _gated(_signal, sender{values}, _plan)",
        "    _responses = []",
        "    for _ref in _refs:",
        "        _receiver = _ref()",
        "        if _receiver is not None:",
        "            _responses.append((_receiver, "
        f"_receiver(signal=_signal, sender=sender{spelled})))",
        "    return _responses",
        f"def _gated(_signal, sender{values}, _plan):",
        f"    _sent = {{{items}}}",
        # Asynchronous receivers or deliveries later: the class's send would
        # only repeat the checks above and the plan lookup before this call.
        "    if _plan[2] or _plan[3]:",
        "        return _now(_signal, sender, _sent, _plan)",
        # Synchronous receivers called now, some with a condition: the
        # conditions all asked first, by the general path's own admitted(),
        # then each receiver called with the names spelled out, through a
        # caller compiled for the names its condition adds, if any.
        "    _responses = []",
        "    for _receiver, _added in _admitted(_plan[1], _plan[4], sender, _sent):",
        "        if _added:",
        "            try:",
        "                _call = _with[tuple(_added)]",
        "            except KeyError:",
        "                _call = None",
        "            if _call is None:",
        "                _call = _with_added(_with, tuple(_added))",
        "            _responses.append((_receiver, "
        f"_call(_receiver, _signal, sender{values}, _added)))",
        "        else:",
        "            _responses.append((_receiver, "
        f"_receiver(signal=_signal, sender=sender{spelled})))",
        "    return _responses",
    ]

    def named(rest: dict[str, Any], *values: Any) -> dict[str, Any]:
        passed = {n: v for n, v in zip(names, values, strict=True) if v is not _ABSENT}
        return {**passed, **rest}

    namespace: dict[str, Any] = {
        "_ABSENT": _ABSENT,
        "_type": type,
        "_id": id,
        "_general": general,
        "_own": own,
        "_named": named,
        "_now": send_now,
        "_admitted": admitted,
        "_with": {},
        "_with_added": partial(_caller_into, names),
        "_DjangoSignal": DjangoSignal,
        "_LIVE": DJANGOS_LIVE_RECEIVERS,
        "_SEND": DJANGOS_SEND,
    }
    send = _function("\n".join(lines), f"send for {names!r}", namespace, "send")
    # Errors in binding the arguments then read "Signal.send() ...", and
    # help(signal.send) reads as the class's.
    send.__code__ = send.__code__.replace(co_qualname="Signal.send")
    send.__qualname__ = "Signal.send"
    send.__doc__ = own.__doc__
    _made.add(send)
    return send


def _caller_into(
    names: tuple[str, ...], callers: dict[tuple, Callable[..., Any]], added: tuple
) -> Callable[..., Any]:
    # The caller for a receiver whose condition adds the names ``added`` to
    # a send with ``names``, compiled once and kept in ``callers``, the
    # compiled send's own (bounded, as the sends are).
    if len(callers) >= _MAX_SENDS:
        callers.clear()
    call = callers[added] = _compile_caller(names, added)
    return call


def _compile_caller(names: tuple[str, ...], added: tuple) -> Callable[..., Any]:
    # call(receiver, signal, sender, *values of names, added) calls the
    # receiver as the general path does with {**sent, **added}: a name both
    # sent and added keeps its place and takes the added value, the others
    # follow in the order they were added. Names that cannot be spelled as
    # keywords get exactly that dict.
    values = "".join(f", {name}" for name in names)
    if all(isinstance(name, str) and _keyword_spellable(name) for name in added):
        sent = {"signal": "_signal", "sender": "sender", **{n: n for n in names}}
        spelled = [
            f"{name}=_added[{name!r}]" if name in added else f"{name}={local}"
            for name, local in sent.items()
        ]
        spelled += [f"{name}=_added[{name!r}]" for name in added if name not in sent]
        body = f"_receiver({', '.join(spelled)})"
    else:
        items = "".join(f", {name!r}: {name}" for name in names)
        body = f"_receiver(**{{'signal': _signal, 'sender': sender{items}, **_added}})"
    source = f"def call(_receiver, _signal, sender{values}, _added):\n    return {body}"
    return _function(source, f"call for {names!r} + {added!r}", {}, "call")


def _function(
    source: str, title: str, namespace: dict[str, Any], name: str
) -> Callable[..., Any]:
    # The function ``name`` that ``source`` defines, run in ``namespace``;
    # ``title`` is what tracebacks show as its file.
    exec(compile(source, f"<signals_app {title}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def _keyword_spellable(name: str) -> bool:
    # ASCII only: source code reads identifiers through NFKC, so a name such
    # as "ﬁle" would reach receivers as "file".
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
