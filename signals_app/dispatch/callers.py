"""
Receiver loops compiled for the keyword names a signal is sent with.

A call ``receiver(**kwargs)`` makes CPython spread the dict into a row of
values and a tuple of names before the receiver gathers them into its own
``**kwargs`` again; a call that spells each keyword out skips the spreading.
The names ``send()`` gets are few and fixed per call site (``post_save`` is
always sent with the same five), so for each set of names a loop is
generated once, from source written here, that calls every receiver with
those keywords spelled out, and kept for the next send with those names.

Names that cannot be spelled in source (not identifiers, Python keywords,
non-ASCII ones that source would normalise), and ``signal`` and ``self``,
which a send must refuse, get no loop: ``caller_for()`` answers None and the
send takes its general path.
"""

import keyword
from collections.abc import Callable
from typing import Any

__all__ = ["Caller", "caller_for", "no_caller"]

# (signal, sender, named, receiver references) -> [(receiver, response), ...],
# or None when ``named`` does not hold the loop's names.
Caller = Callable[[Any, Any, dict[str, Any], tuple[Any, ...]], list | None]

# Names come from the code that sends; a program that makes them up as it
# goes must not grow this without end, so it starts over past this many.
_MAX_CALLERS = 256
_callers: dict[tuple[str, ...], Caller] = {}

# Names a loop never takes: ``signal`` and ``self`` clash with send()'s own
# arguments and must fail as they do with Django's.
_REFUSED = frozenset({"signal", "self"})


def no_caller(
    signal: Any, sender: Any, named: dict[str, Any], refs: tuple[Any, ...]
) -> None:
    """The loop a signal tries before it has been sent: it takes no names."""
    return None


def caller_for(names: tuple[str, ...]) -> Caller | None:
    """
    The loop that calls receivers with the keywords ``names``, in that order;
    None when they cannot be spelled out.
    """
    try:
        return _callers[names]
    except KeyError:
        pass
    if not all(_spellable(name) for name in names):
        return None
    if len(_callers) >= _MAX_CALLERS:
        _callers.clear()
    caller = _callers[names] = _compile(names)
    return caller


def _spellable(name: str) -> bool:
    # ASCII only: source code reads identifiers through NFKC, so a name such
    # as "ﬁle" would reach receivers as "file".
    return (
        name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and name not in _REFUSED
    )


def _compile(names: tuple[str, ...]) -> Caller:
    # Values are bound to locals v0, v1, ...; the names themselves appear
    # only as keywords and string literals, so none can clash with a local.
    # A length check and a lookup per name make sure ``named`` holds exactly
    # these names: a mismatch answers None and the send looks again.
    lines = [
        "def call_receivers(signal, sender, named, refs):",
        f"    if len(named) != {len(names)}:",
        "        return None",
    ]
    if names:
        lines.append("    try:")
        lines.extend(f"        v{i} = named[{name!r}]" for i, name in enumerate(names))
        lines += ["    except KeyError:", "        return None"]
    spelled = "".join(f", {name}=v{i}" for i, name in enumerate(names))
    lines += [
        "    responses = []",
        "    for ref in refs:",
        "        receiver = ref()",
        "        if receiver is not None:",
        f"            response = receiver(signal=signal, sender=sender{spelled})",
        "            responses.append((receiver, response))",
        "    return responses",
    ]
    namespace: dict[str, Any] = {}
    code = compile("\n".join(lines), f"<signals_app loop for {names!r}>", "exec")
    exec(code, namespace)
    caller: Caller = namespace["call_receivers"]
    return caller
