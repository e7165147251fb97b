"""Diagnostics of tracing: the error a tracer raises, and where in the user's code it broke.

    >>> try:
    ...     raise ValueError("bad shape\\nmore detail")
    ... except ValueError as e:
    ...     one_line(e)
    'ValueError: bad shape'
"""

from __future__ import annotations

import os
import traceback

import torch

from explorer.graph.dag import Dag

_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # explorer/


class TraceError(ValueError):
    """No tracer could turn the model into a graph. `.partial` holds what was built (or None)."""

    def __init__(self, message: str, partial: Dag | None = None, attempts: tuple[str, ...] = ()):
        super().__init__(message)
        self.partial = partial
        self.attempts = attempts



def user_frame(e: BaseException) -> str:
    """'file.py:LINE: code' of the innermost frame outside torch — where the model's code broke."""
    skip = (os.path.dirname(torch.__file__), _LIBRARY)
    best = ""
    for fs in traceback.extract_tb(e.__traceback__):
        if not os.path.abspath(fs.filename).startswith(skip):
            best = f"{os.path.basename(fs.filename)}:{fs.lineno}: {(fs.line or '').strip()}"
    return best


def one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return f"{type(e).__name__}: {s[0] if s else ''}"[:300]


def user_stack_line() -> str:
    """'file.py:LINE: code' of the innermost frame of the current stack outside torch and this
    package: the line of the user's model that is running now."""
    skip = (os.path.dirname(torch.__file__), _LIBRARY)
    for fs in reversed(traceback.extract_stack()):
        if not os.path.abspath(fs.filename).startswith(skip):
            return f"{os.path.basename(fs.filename)}:{fs.lineno}: {(fs.line or '').strip()}"
    return ""
