"""``/healthz`` (database, Redis, upload storage; JSON, no login, no secrets) and ``/metrics``."""
from __future__ import annotations

import io
import os
import time
import uuid

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from models import db, storage

bp = Blueprint("health", __name__)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as error:  # the kind of failure, never its text (it may hold a URL)
        return {"ok": False, "error": type(error).__name__,
                "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, **(result or {}), "ms": round((time.perf_counter() - started) * 1000, 1)}


def check_database() -> dict:
    db.session.execute(sa.text("SELECT 1"))
    db.session.rollback()
    return {"dialect": db.engine.dialect.name}


def check_redis() -> dict | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"skipped": "embedded (no REDIS_URL)"}
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return None


def check_storage() -> dict:
    """A probe file is written to the store and removed (either backend)."""
    store = storage.backend()
    key = f"healthz/{uuid.uuid4().hex}"
    try:
        store.save(key, io.BytesIO(b"ok"))
    finally:
        store.delete(key)
    return {"backend": store.kind}


@bp.get("/healthz")
def healthz():
    checks = {"database": _timed(check_database), "redis": _timed(check_redis),
              "storage": _timed(check_storage)}
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "fail", "checks": checks}), \
        200 if healthy else 503


@bp.get("/metrics")
def metrics():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
