"""The file store's contract (models/storage.py), the same on both backends: a local directory
and S3 through boto3 against moto's server over real HTTP."""
from __future__ import annotations

import hashlib
import io
import uuid

import pytest

from models import storage
from models.storage import BadKey, LocalStorage, S3Storage
from settings import Settings, SettingsError
from tests.conftest import S3_BUCKET


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "root")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(S3_BUCKET, f"contract-{uuid.uuid4().hex[:8]}", endpoint, "path")


class Generated(io.RawIOBase):
    """``size`` bytes of a repeating pattern, produced as they are read (never held whole),
    and not seekable: the store must stream it."""

    def __init__(self, size: int, fail_at: int | None = None) -> None:
        self.left, self.sent, self.fail_at = size, 0, fail_at
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        if self.fail_at is not None and self.sent + size > self.fail_at:
            raise OSError("the client went away")
        block = (b"wangban-" * (size // 8 + 1))[:size]
        self.left -= size
        self.sent += size
        self.digest.update(block)
        return block


def test_save_open_exists_delete(store):
    assert not store.exists("materials/ab/one")
    assert store.save("materials/ab/one", io.BytesIO(b"%PDF-1.4 hello")) == 14
    assert store.exists("materials/ab/one")
    with store.open("materials/ab/one") as stream:
        assert stream.read() == b"%PDF-1.4 hello"
    assert store.save("materials/ab/one", io.BytesIO(b"second")) == 6
    with store.open("materials/ab/one") as stream:
        assert stream.read() == b"second"
    assert list(store.keys("materials/")) == ["materials/ab/one"]
    store.delete("materials/ab/one")
    assert not store.exists("materials/ab/one")
    store.delete("materials/ab/one")  # absent is fine
    with pytest.raises(FileNotFoundError):
        store.open("materials/ab/one")


def test_a_large_file_streams_both_ways(store):
    size = 40 * 1024 * 1024 + 123  # several multipart parts on S3
    source = Generated(size)
    assert store.save("exports/big.bin", source) == size
    digest, read = hashlib.sha256(), 0
    with store.open("exports/big.bin") as stream:
        while chunk := stream.read(storage.CHUNK):
            assert len(chunk) <= storage.CHUNK
            digest.update(chunk)
            read += len(chunk)
    assert read == size and digest.hexdigest() == source.digest.hexdigest()
    if isinstance(store, S3Storage):  # sent as a multipart upload, not one PUT
        etag = store.client.head_object(Bucket=store.bucket, Key=store._name("exports/big.bin"))
        assert etag["ETag"].strip('"').endswith(f"-{-(-size // storage.PART)}")


def test_a_failed_save_leaves_the_old_file_and_nothing_half_written(store):
    store.save("materials/cd/two", io.BytesIO(b"old content"))
    with pytest.raises(OSError):
        store.save("materials/cd/two", Generated(20 * 1024 * 1024, fail_at=9 * 1024 * 1024))
    with store.open("materials/cd/two") as stream:
        assert stream.read() == b"old content"
    with pytest.raises(OSError):
        store.save("materials/cd/three", Generated(3 * 1024 * 1024, fail_at=1024 * 1024))
    assert not store.exists("materials/cd/three")
    assert list(store.keys()) == ["materials/cd/two"]
    if isinstance(store, LocalStorage):  # no temporary file left behind either
        assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == ["two"]


BAD_KEYS = ["", "../escape", "a/../../escape", "/etc/passwd", "a//b", "a/./b", ".", "..",
            "a\\..\\b", "a/\x00b", "a/b\n", "materials/中文", "x" * 600, "a/../b"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_never_escape_the_root(store, key, tmp_path):
    for call in (lambda: store.save(key, io.BytesIO(b"x")), lambda: store.open(key),
                 lambda: store.exists(key), lambda: store.delete(key)):
        with pytest.raises(BadKey):
            call()
    assert not list(tmp_path.rglob("escape")) and not list(store.keys())


def test_a_symlink_inside_the_root_does_not_lead_out(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    store = LocalStorage(root)
    with pytest.raises(BadKey):
        store.save("link/planted", io.BytesIO(b"x"))
    with pytest.raises(BadKey):
        store.open("link/planted")
    assert not (outside / "planted").exists()


def test_a_local_save_is_atomic_a_temporary_file_renamed(tmp_path, monkeypatch):
    """While a save runs, the key is absent (or the old file): the bytes go to a temporary
    file beside it, renamed into place at the end."""
    store = LocalStorage(tmp_path)
    seen = []

    class Watching(io.BytesIO):
        def read(self, size=-1):
            seen.append((store.exists("k/file"), sorted(p.name for p in tmp_path.rglob("*"))))
            return super().read(size)

    store.save("k/file", Watching(b"abc"))
    assert seen[0][0] is False and any(name.startswith(".part-") for name in seen[0][1])
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["file"]


def test_storage_url_chooses_the_backend(tmp_path, s3_endpoint):
    assert isinstance(storage.backend({"UPLOAD_DIR": str(tmp_path)}), LocalStorage)
    local = storage.backend({"STORAGE_URL": f"file://{tmp_path}/files", "UPLOAD_DIR": "x"})
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "files"
    s3 = storage.backend({"STORAGE_URL": f"s3://{S3_BUCKET}/prod/uploads",
                          "S3_ENDPOINT_URL": s3_endpoint, "S3_ADDRESSING_STYLE": "path"})
    assert isinstance(s3, S3Storage) and (s3.bucket, s3.prefix) == (S3_BUCKET, "prod/uploads")
    s3.save("materials/x", io.BytesIO(b"1"))
    assert s3.client.head_object(Bucket=S3_BUCKET, Key="prod/uploads/materials/x")


@pytest.mark.parametrize("url", ["s3://", "s3://Bad_Bucket/x", "ftp://host/x", "/srv/uploads",
                                 "file://host/path"])
def test_a_malformed_storage_url_stops_the_start(url):
    with pytest.raises(SettingsError, match="STORAGE_URL"):
        Settings.from_env({"STORAGE_URL": url})


def test_storage_settings_reach_the_app_config():
    config = Settings.from_env({"STORAGE_URL": "s3://office-files/wangban",
                                "S3_ENDPOINT_URL": "http://minio:9000",
                                "S3_ADDRESSING_STYLE": "path"}).app_config()
    assert (config["STORAGE_URL"], config["S3_ENDPOINT_URL"], config["S3_ADDRESSING_STYLE"]) \
        == ("s3://office-files/wangban", "http://minio:9000", "path")
    with pytest.raises(SettingsError, match="S3_ADDRESSING_STYLE"):
        Settings.from_env({"S3_ADDRESSING_STYLE": "sideways"})


def test_storage_migrate_copies_local_uploads_into_the_object_store_once(
        app, storage_kind, tmp_path):
    if storage_kind == "local":  # the store is the source: refused, nothing copied
        result = app.test_cli_runner().invoke(args=["storage-migrate"])
        assert result.exit_code != 0 and "STORAGE_URL" in result.output
        return
    source = LocalStorage(tmp_path / "uploads")
    files = {"ab/" + "ab" * 32: b"%PDF-1.4 old layout", "materials/cd/" + "cd" * 32: b"new",
             "probe": b"%PDF-1.4 x"}
    for key, data in files.items():
        source.save(key, io.BytesIO(data))
    (tmp_path / "uploads" / "ab" / ".part-unfinished").write_bytes(b"half")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["storage-migrate", "--source", f"file://{tmp_path}/uploads"])
    assert first.exit_code == 0 and "已复制 3 个文件，已存在 0 个" in first.output, first.output
    again = runner.invoke(args=["storage-migrate", "--source", f"file://{tmp_path}/uploads"])
    assert "已复制 0 个文件，已存在 3 个" in again.output
    with app.app_context():
        target = storage.backend()
        assert isinstance(target, S3Storage)
        for key, data in files.items():
            with target.open(key) as stream:
                assert stream.read() == data
        assert not target.exists("ab/.part-unfinished")
        for key in files:
            target.delete(key)
