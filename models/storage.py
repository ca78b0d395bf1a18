"""Where stored files live: a local directory or an S3-compatible object store.

``STORAGE_URL`` chooses: ``file:///srv/wangban/uploads`` (the default is ``UPLOAD_DIR``,
``instance/uploads``) or ``s3://bucket/prefix`` (boto3; ``S3_ENDPOINT_URL`` for a store other
than AWS, credentials and region from the environment as boto3 reads them). Every server
process of an installation must point at the same store.

The interface, the same on both backends (keys are ``/``-separated relative names)::

    save(key, stream) -> int     # bytes written; readers never see a half-written file
    open(key) -> BinaryIO        # a readable stream; FileNotFoundError when absent
    delete(key) -> None          # absent is fine
    exists(key) -> bool

and ``send(key, ...)``, a Flask response that streams the file in chunks. Nothing here
decides who may read a file: callers check scope first.
"""
from __future__ import annotations

import functools
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

#: Bytes read and written at a time, both ways.
CHUNK = 256 * 1024
#: Multipart uploads to the object store: parts of this size, at most this many in memory.
PART = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 2
MAX_KEY = 512
_SEGMENT = re.compile(r"[A-Za-z0-9._\-]+")


class BadKey(ValueError):
    """A key that could name something outside the store's root."""


class StorageSettingError(ValueError):
    """``STORAGE_URL`` is not a ``file://`` or ``s3://`` URL."""


def check_key(key: str) -> str:
    """``key`` if it is a plain relative name (segments of letters, digits, ``._-``), else
    BadKey: no absolute paths, ``..``, empty segments, backslashes or control characters."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise BadKey(f"bad storage key {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise BadKey(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under one directory; a save writes a temporary file beside the target and
    renames it into place (atomic on one filesystem)."""

    kind = "local"

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # A symlink inside the root could still lead out: resolve and compare.
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise BadKey(f"bad storage key {key!r}")
        return path

    def save(self, key: str, stream: BinaryIO) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            written = 0
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path.open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under ``prefix`` (temporary files of unfinished saves left out)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith((".part-", ".healthz-")):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key


class _Counting:
    """A read-only wrapper that counts the bytes read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.count = stream, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


class S3Storage:
    """Objects in one bucket under one prefix, through boto3: multipart uploads of PART-sized
    parts (at most PARTS_IN_FLIGHT in memory), downloads streamed from get_object's Body."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 addressing_style: str = "auto") -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url,
            config=Config(s3={"addressing_style": addressing_style},
                          retries={"max_attempts": 3, "mode": "standard"}))
        # use_threads=False: the stream is read in the caller's thread, part after part.
        # A stream may be a generator that needs its caller's context (an export job's
        # rows are read inside the job's request context); a transfer thread has none.
        self.transfer = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART,
                                       max_concurrency=PARTS_IN_FLIGHT, io_chunksize=CHUNK,
                                       use_threads=False)
        # boto3 does not take this one as an argument; s3transfer's default is 10 parts.
        self.transfer.max_in_memory_upload_chunks = PARTS_IN_FLIGHT

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key: str, stream: BinaryIO) -> int:
        counting = _Counting(stream)
        self.client.upload_fileobj(counting, self.bucket, self._name(key), Config=self.transfer)
        return counting.count

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise
        body = response["Body"]
        body.length = response["ContentLength"]  # what send() announces
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise
        return True

    def keys(self, prefix: str = "") -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(start):]


Storage = LocalStorage | S3Storage


def parse_url(url: str) -> tuple[str, str, str]:
    """``(kind, bucket or directory, prefix)`` of a STORAGE_URL, or StorageSettingError."""
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path and not parts.netloc:
        return "local", unquote(parts.path), ""
    if parts.scheme == "s3" and re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", parts.netloc):
        return "s3", parts.netloc, parts.path.strip("/")
    raise StorageSettingError(
        f"STORAGE_URL={url!r}：应为 file:///目录 或 s3://桶名/前缀")


@functools.lru_cache(maxsize=8)
def _s3(bucket: str, prefix: str, endpoint_url: str | None, style: str) -> S3Storage:
    # One client per store and process: boto3 clients are thread-safe, building one is not cheap.
    return S3Storage(bucket, prefix, endpoint_url, style)


def backend(config: Mapping | None = None) -> Storage:
    """The store ``config`` (default: the current app's) names."""
    if config is None:
        from flask import current_app

        config = current_app.config
    url = config.get("STORAGE_URL")
    if not url:
        return LocalStorage(config["UPLOAD_DIR"])
    kind, where, prefix = parse_url(url)
    if kind == "local":
        return LocalStorage(where)
    return _s3(where, prefix, config.get("S3_ENDPOINT_URL") or None,
               config.get("S3_ADDRESSING_STYLE") or "auto")


def save(key: str, stream: BinaryIO) -> int:
    """Store ``stream`` (read to its end, in chunks) under ``key``; returns the bytes written."""
    return backend().save(key, stream)


def open(key: str) -> BinaryIO:  # noqa: A001 - the interface's name
    """A readable stream of the file under ``key``; FileNotFoundError when there is none."""
    return backend().open(key)


def delete(key: str) -> None:
    """Remove the file under ``key`` (nothing happens when there is none)."""
    backend().delete(key)


def exists(key: str) -> bool:
    """Whether a file is stored under ``key``."""
    return backend().exists(key)


def send(key: str, mimetype: str, download_name: str, as_attachment: bool = True):
    """A response streaming the file under ``key`` CHUNK bytes at a time (404 when it is
    missing). The caller has already checked that the viewer may read it."""
    from flask import abort, current_app

    try:
        stream = open(key)
    except (FileNotFoundError, BadKey):
        abort(404)
    response = current_app.response_class(_chunks(stream), mimetype=mimetype,
                                          direct_passthrough=True)
    response.headers.set("Content-Disposition", "attachment" if as_attachment else "inline",
                         **_file_names(download_name))
    response.headers["Cache-Control"] = "private, no-store"
    size = _length(stream)
    if size is not None:
        response.content_length = size
    return response


def _length(stream: BinaryIO) -> int | None:
    """The stored size of an opened file (the store's own figure, not the database's)."""
    length = getattr(stream, "length", None)
    if isinstance(length, int):
        return length
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    # The server closes the response when it is sent or the client goes away; closing this
    # generator closes the stream (a file handle, or the object store's connection).
    try:
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()


def _file_names(name: str) -> dict:
    """Content-Disposition's names: ASCII ``filename`` and RFC 5987 ``filename*`` (as
    werkzeug's send_file writes them)."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"}
    return {"filename": name}


def copy(source: Storage, target: Storage, say=None) -> tuple[int, int]:
    """Copy every file of ``source`` that ``target`` lacks (idempotent); ``(copied, kept)``."""
    copied = kept = 0
    for key in source.keys():
        try:
            check_key(key)
        except BadKey:
            continue
        if target.exists(key):
            kept += 1
            continue
        with source.open(key) as stream:
            target.save(key, stream)
        copied += 1
        if say:
            say(key)
    return copied, kept


__all__ = ["BadKey", "LocalStorage", "S3Storage", "backend", "check_key", "copy", "delete",
           "exists", "open", "parse_url", "save", "send"]
