"""Where files the app writes live (export results, uploads waiting for a job), by key.

A minimal local-directory store under the app's UPLOAD_DIR; the shared-storage work
(issue 17, part B) replaces this module with one that also speaks S3, same four functions.
Keys are relative paths such as ``exports/12-ab12.xlsx``; they never leave the root.
"""
from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK = 64 * 1024


def _path(key: str) -> Path:
    root = Path(current_app.config["UPLOAD_DIR"]).resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        raise ValueError(f"bad storage key {key!r}")
    return path


def save(key: str, stream: BinaryIO) -> int:
    """Write ``stream`` under ``key`` a chunk at a time (atomically); returns its size."""
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    with builtins.open(partial, "wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)
        size = out.tell()
    os.replace(partial, path)
    return size


def open(key: str) -> BinaryIO:  # noqa: A001 - the interface's name
    """A readable binary stream of the file under ``key`` (FileNotFoundError if none)."""
    return _path(key).open("rb")


def delete(key: str) -> None:
    """Remove the file under ``key``; nothing happens if it is already gone."""
    _path(key).unlink(missing_ok=True)


def exists(key: str) -> bool:
    return _path(key).is_file()
