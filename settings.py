"""Every setting the environment can give, typed, with its default: the one place they are listed.

``create_app`` maps these onto ``app.config`` (a test's ``create_app({...})`` dict still
overrides them); ``gunicorn.conf.py`` reads the server ones. README's Production section
mirrors this table.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass

ENVIRONMENTS = ("development", "production")
LOG_FORMATS = ("json", "text")
WORKER_CLASSES = ("sync", "gthread")
ADDRESSING_STYLES = ("auto", "path", "virtual")


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    """The environment, parsed. Names are the environment variables'."""

    #: ``development`` (the embedded default) or ``production`` (refuses unsafe settings).
    WANGBAN_ENV: str = "development"
    #: SQLAlchemy URL; None = SQLite in ``instance/wangban.sqlite3``.
    DATABASE_URL: str | None = None
    #: ``redis://host:port/db``; None = embedded (rate limits in memory).
    REDIS_URL: str | None = None
    #: Signs sessions and CSRF tokens; None = generated once into ``instance/secret_key``
    #: (development only).
    SECRET_KEY: str | None = None
    #: A session ends after this much inactivity …
    SESSION_IDLE_SECONDS: int = 1800
    #: … and at the latest this long after login.
    SESSION_ABSOLUTE_SECONDS: int = 43200
    #: Served over HTTPS: session cookie ``Secure``.
    HTTPS: bool = False
    #: Where uploaded materials are stored; None = ``instance/uploads``.
    UPLOAD_DIR: str | None = None
    #: The file store (``models/storage.py``): ``file:///dir`` or ``s3://bucket/prefix``;
    #: None = the local directory UPLOAD_DIR.
    STORAGE_URL: str | None = None
    #: An S3-compatible store's endpoint (MinIO, OSS, COS …); None = AWS. Credentials and
    #: region come from the environment as boto3 reads them (AWS_ACCESS_KEY_ID, …).
    S3_ENDPOINT_URL: str | None = None
    #: ``auto``, ``path`` (bucket in the path: MinIO, moto) or ``virtual`` (bucket in the host).
    S3_ADDRESSING_STYLE: str = "auto"
    #: Import path ``package.module:callable`` of an SMS sender ``(phone, text)``; None = outbox.
    SMS_SENDER: str | None = None
    #: The office's time zone: what "today" and working days mean.
    OFFICE_TIMEZONE: str = "Asia/Shanghai"
    #: How many reverse proxies in front set X-Forwarded-For (0 = none, trust no header).
    TRUSTED_PROXIES: int = 0
    #: Rate-limit storage; None = REDIS_URL if set, else ``memory://``.
    RATELIMIT_STORAGE_URI: str | None = None
    #: Log lines as ``json`` or ``text``; None = json in production, text in development.
    LOG_FORMAT: str | None = None
    #: The most rows one list export writes.
    EXPORT_MAX_ROWS: int = 100_000
    #: An upload of more rows than this is checked by a background job (progress page).
    IMPORT_JOB_ROWS: int = 2_000
    #: An export of more rows than this is written by a background job, then downloaded.
    EXPORT_JOB_ROWS: int = 20_000
    #: An export job's file is deleted this many hours after it is written.
    EXPORT_FILE_HOURS: int = 24
    #: A running job whose worker wrote no progress for this long is run again.
    JOB_STALE_SECONDS: int = 120
    #: The RQ queue jobs go to (several deployments may share one Redis database).
    JOB_QUEUE: str = "wangban"
    #: gunicorn (``make serve``): worker processes, worker class, threads per worker, address.
    WEB_CONCURRENCY: int = 2
    GUNICORN_WORKER_CLASS: str = "gthread"
    GUNICORN_THREADS: int = 4
    BIND: str = "127.0.0.1:8000"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every field from ``environ`` (default ``os.environ``); empty means unset."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(field.name, "").strip()
            if raw:
                values[field.name] = _parse(field.name, raw, hints[field.name])
        settings = cls(**values)
        settings._check_choices()
        return settings

    def _check_choices(self) -> None:
        for name, allowed in (("WANGBAN_ENV", ENVIRONMENTS), ("LOG_FORMAT", LOG_FORMATS),
                              ("GUNICORN_WORKER_CLASS", WORKER_CLASSES),
                              ("S3_ADDRESSING_STYLE", ADDRESSING_STYLES)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise SettingsError(f"设置 {name}={value!r} 无效：应为 {' / '.join(allowed)} 之一")
        for name in ("SESSION_IDLE_SECONDS", "SESSION_ABSOLUTE_SECONDS", "EXPORT_MAX_ROWS",
                     "IMPORT_JOB_ROWS", "EXPORT_JOB_ROWS", "EXPORT_FILE_HOURS",
                     "JOB_STALE_SECONDS", "WEB_CONCURRENCY", "GUNICORN_THREADS"):
            if getattr(self, name) < 1:
                raise SettingsError(f"设置 {name} 必须大于 0")
        if self.TRUSTED_PROXIES < 0:
            raise SettingsError("设置 TRUSTED_PROXIES 不能为负数")
        if self.STORAGE_URL:
            from models.storage import StorageSettingError, parse_url

            try:
                parse_url(self.STORAGE_URL)
            except StorageSettingError as error:
                raise SettingsError(f"设置 {error}") from None

    def app_config(self) -> dict:
        """The ``app.config`` keys these settings give (None where the factory decides)."""
        production = self.WANGBAN_ENV == "production"
        config = {
            "WANGBAN_ENV": self.WANGBAN_ENV,
            "REDIS_URL": self.REDIS_URL,
            "SESSION_IDLE_SECONDS": self.SESSION_IDLE_SECONDS,
            "SESSION_ABSOLUTE_SECONDS": self.SESSION_ABSOLUTE_SECONDS,
            "PERMANENT_SESSION_LIFETIME": self.SESSION_IDLE_SECONDS,
            "HTTPS": self.HTTPS,
            "SESSION_COOKIE_SECURE": self.HTTPS,
            "SMS_SENDER": self.SMS_SENDER,
            "OFFICE_TIMEZONE": self.OFFICE_TIMEZONE,
            "BABEL_DEFAULT_TIMEZONE": self.OFFICE_TIMEZONE,
            "TRUSTED_PROXIES": self.TRUSTED_PROXIES,
            "RATELIMIT_STORAGE_URI": self.RATELIMIT_STORAGE_URI or self.REDIS_URL or "memory://",
            "LOG_FORMAT": self.LOG_FORMAT or ("json" if production else "text"),
            "EXPORT_MAX_ROWS": self.EXPORT_MAX_ROWS,
            "STORAGE_URL": self.STORAGE_URL,
            "S3_ENDPOINT_URL": self.S3_ENDPOINT_URL,
            "S3_ADDRESSING_STYLE": self.S3_ADDRESSING_STYLE,
            "IMPORT_JOB_ROWS": self.IMPORT_JOB_ROWS,
            "EXPORT_JOB_ROWS": self.EXPORT_JOB_ROWS,
            "EXPORT_FILE_HOURS": self.EXPORT_FILE_HOURS,
            "JOB_STALE_SECONDS": self.JOB_STALE_SECONDS,
            "JOB_QUEUE": self.JOB_QUEUE,
        }
        if self.DATABASE_URL:
            config["SQLALCHEMY_DATABASE_URI"] = self.DATABASE_URL
        if self.SECRET_KEY:
            config["SECRET_KEY"] = self.SECRET_KEY
        if self.UPLOAD_DIR:
            config["UPLOAD_DIR"] = self.UPLOAD_DIR
        return config


def _parse(name: str, raw: str, hint) -> object:
    kinds = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    kind = kinds[0]
    if kind is bool:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"设置 {name}={raw!r} 无效：应为 true 或 false")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"设置 {name}={raw!r} 无效：应为整数") from None
    return raw


def check_production(config: Mapping) -> None:
    """A production start refuses what is only safe on one desk: no secret key, SQLite."""
    if config.get("WANGBAN_ENV") != "production":
        return
    problems = []
    if not config.get("SECRET_KEY"):
        problems.append("未设置 SECRET_KEY（生产环境必须由环境变量提供，例如 "
                        "python -c 'import secrets; print(secrets.token_hex(32))' 生成）")
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        problems.append("DATABASE_URL 为 SQLite（生产环境请使用 PostgreSQL："
                        "postgresql+psycopg://用户@主机/库名）")
    if problems:
        raise SettingsError("生产环境（WANGBAN_ENV=production）拒绝启动：" + "；".join(problems))


def main() -> int:
    """``python -m settings``: check the environment as a start would, without a traceback."""
    import sys

    try:
        settings = Settings.from_env()
        check_production({**settings.app_config(),
                          "SQLALCHEMY_DATABASE_URI": settings.DATABASE_URL or "sqlite://"})
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
