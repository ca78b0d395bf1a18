"""Python's cyclic garbage collector paused while a batch builds its rows.

A 10,000-row import creates a few hundred thousand short-lived objects (cells, row dicts,
parameter tuples); reference counting frees them all, but their allocation count triggers
the cyclic collector, and each full pass walks every object the worker holds (the app,
Flask-Admin, SQLAlchemy's caches): 0.1-0.2 s a request. Paused for the batch's work, the
collector runs as usual afterwards, so any cycle made meanwhile is still reclaimed.
"""
from __future__ import annotations

import gc
import threading
from contextlib import ContextDecorator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


class paused(ContextDecorator):  # noqa: N801 - used as a decorator and a with-block
    """``@paused()`` or ``with paused():``; nested and concurrent uses (threads of one
    worker) keep the collector off until the last one ends, then restore it as it was."""

    def __enter__(self):
        global _depth, _was_enabled
        with _lock:
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1
        return self

    def __exit__(self, *exc):
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
        return False
