"""
Where code is, as ``path:line`` short enough to read in a table or a message.

A path is shown relative to the deepest of the current directory and the
``sys.path`` entries that holds it: ``testproject/audit/signals.py:31``,
``django/contrib/auth/apps.py:19``; a path none of them holds stays absolute.
"""

import os
import sys
from functools import partial
from inspect import getsourcefile, unwrap
from types import MethodType
from typing import Any

__all__ = ["defined_at", "short_location", "short_path"]


def defined_at(obj: Any) -> str | None:
    """
    ``path:line`` where the code that runs when ``obj`` is called starts.

    The function behind a bound method, a ``functools.partial`` or a
    decorator that sets ``__wrapped__`` (``functools.wraps``); for a callable
    object, its class's ``__call__``. The line is the one Python gives the
    function: its first decorator's, else its ``def``. None when ``obj`` has
    no Python code (a builtin, a C extension).
    """
    function = _function(obj)
    code = getattr(function, "__code__", None)
    if code is None:
        function = _function(type(obj).__call__)
        code = getattr(function, "__code__", None)
        if code is None:
            return None
    try:
        path = getsourcefile(function) or code.co_filename
    except TypeError:
        path = code.co_filename
    return f"{short_path(path)}:{code.co_firstlineno}"


def short_location(location: str | None) -> str | None:
    """``location`` (``path:line``) with its path shortened; None stays None."""
    if location is None:
        return None
    path, _, line = location.rpartition(":")
    return f"{short_path(path)}:{line}" if path else location


def short_path(path: str) -> str:
    """``path`` relative to the deepest current directory or ``sys.path`` entry."""
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


def _function(obj: Any) -> Any:
    # Down to the function whose code runs. Bounded, because a partial may
    # wrap a partial may wrap ... and __wrapped__ chains are user data.
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
