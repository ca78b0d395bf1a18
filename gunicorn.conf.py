"""gunicorn's configuration (``make serve``, ``make run``): every value comes from settings.py.

Memory bound: a worker answers at most GUNICORN_THREADS requests at once (sync: one), and a
login holds one argon2 block (64 MiB at the production cost) while it verifies, so a worker
peaks near its idle size + GUNICORN_THREADS × 64 MiB whatever the burst of logins, and the
server near WEB_CONCURRENCY times that (README, Production).
"""
import gc
import os
import shutil
import tempfile

from settings import Settings

settings = Settings.from_env()

wsgi_app = "app:create_app()"
bind = settings.BIND
workers = settings.WEB_CONCURRENCY
worker_class = settings.GUNICORN_WORKER_CLASS
threads = settings.GUNICORN_THREADS if settings.GUNICORN_WORKER_CLASS == "gthread" else 1
timeout = 60
graceful_timeout = 30
keepalive = 2
# A worker is replaced after this many requests: whatever a library leaks stays bounded.
max_requests = 2000
max_requests_jitter = 200
accesslog = None  # the app writes one log line per request (observability.py)
errorlog = "-"
if (settings.LOG_FORMAT or ("json" if settings.WANGBAN_ENV == "production" else "text")) \
        == "json":
    # gunicorn's own lines (boot, worker timeouts, an error while streaming a body, with its
    # traceback) as JSON too, so one parser reads the whole stream.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level"}}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO",
                                       "propagate": False}},
    }
forwarded_allow_ips = "*" if settings.TRUSTED_PROXIES else "127.0.0.1"
# No control socket: it lives at one path per user, so two servers on a machine would share it.
control_socket_disable = True


_own_metrics_dir = None


def on_starting(server):
    """Metrics from every worker add up in one directory (prometheus_client multiprocess)."""
    global _own_metrics_dir
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = _own_metrics_dir = tempfile.mkdtemp(prefix="wangban-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    else:  # values of a previous run would be added to this one's
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)


def post_worker_init(worker):
    """The app is built: move what it holds for its lifetime (routes, templates, mappers,
    compiled SQL) out of the collector's generations, so a request's collections scan only
    what requests make (issue 18: the full collections cost 0.35-1 ms a request)."""
    settle_heap()


def settle_heap():
    """Collect once, then freeze what survives (``gc.freeze``): long-lived objects are no
    longer traversed by any collection. The benchmarks call it where gunicorn would."""
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
