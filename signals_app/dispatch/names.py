"""
One naming rule for signals and callables: where the object is defined.

Every part of signals_app that shows or stores a name (the inspector, tracing,
the toolbar panel, system checks, the names of queued receivers) asks here.

* A callable is ``module.qualname`` of its definition: a bound method by its
  function, a ``functools.partial`` by what it wraps, a callable object by its
  class.
* A signal is ``module.attribute`` of the module that created it, under the
  attribute that module holds it by: ``django.db.models.signals.post_save``
  for the built-in, wherever it was imported from. For a signal whose creator
  is unknown (one of Django's own) or does not hold it, the first module in
  name order that holds it and whose name ends in ``signals``, else the first
  that holds it, else its repr (which then names the module that made it).
"""

import sys
import weakref
from contextlib import suppress
from functools import partial
from typing import Any

__all__ = ["callable_name", "module_level_name", "signal_name"]

_names: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
_unheld: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def callable_name(obj: Any) -> str:
    """``module.qualname`` where ``obj`` is defined; see the module docstring."""
    if isinstance(obj, partial):
        return f"functools.partial({callable_name(obj.func)})"
    obj = getattr(obj, "__func__", obj)
    if not hasattr(obj, "__qualname__"):
        obj = type(obj)
    return f"{getattr(obj, '__module__', None) or '?'}.{obj.__qualname__}"


def signal_name(signal: Any) -> str:
    """``module.attribute`` of the module that created ``signal``; see above."""
    with suppress(KeyError, TypeError):
        return _unheld[signal]
    name = module_level_name(signal)
    if name is None:
        name = repr(signal)
        # Searched for once: tracing names the signal of every call it records.
        with suppress(TypeError):
            _unheld[signal] = name
    return name


def module_level_name(signal: Any) -> str | None:
    """
    ``module.attribute`` of ``signal`` by the rule above, or None.

    None when no module holds the signal (one made inside a function). A miss
    is not remembered, so a signal assigned to a module later is found then.
    """
    with suppress(KeyError, TypeError):
        return _names[signal]
    home = getattr(signal, "defined_in", None)
    name = _attribute_in(sys.modules.get(home), signal) if home else None
    if name is None:
        holders = [
            found
            for _, module in sorted(sys.modules.copy().items())
            if (found := _attribute_in(module, signal)) is not None
        ]
        # Signals are declared in modules named for them by convention;
        # the others that hold one imported it.
        declared = [n for n in holders if n.rpartition(".")[0].endswith("signals")]
        candidates = declared or holders
        name = candidates[0] if candidates else None
    if name is not None:
        with suppress(TypeError):
            _names[signal] = name
    return name


def _attribute_in(module: Any, signal: Any) -> str | None:
    for attr, value in list(getattr(module, "__dict__", {}).items()):
        if value is signal:
            return f"{module.__name__}.{attr}"
    return None
