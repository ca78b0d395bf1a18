"""The application factory and the command-line entry points (``flask --app app ...``)."""
from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask, current_app, has_request_context, redirect, request, url_for
from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.utils import import_string

import observability
from models import db
from models.base import configure_engine
from settings import Settings, check_production

csrf = CSRFProtect()
migrate = Migrate()

#: OWASP Password Storage Cheat Sheet's argon2id profile (19 MiB, 2 passes, 1 lane); with at
#: most PASSWORD_HASH_CONCURRENCY computations at once, hashing holds at most 4 x 19 MiB.
ARGON2_PRODUCTION = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}


def _secret_key(instance: Path) -> str:
    # A stable per-installation key, so sessions survive restarts without a config step.
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _request_writes() -> bool:
    """A request that may write: its SQLite transactions take the write lock up front.
    That is every POST, and a GET whose view says it writes (``models.base.writes_on_get``)."""
    import tasks

    if tasks.writing():  # a background job: it writes its result at the end
        return True
    if not has_request_context():
        return False
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then the environment, then ``config`` (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'wangban.sqlite3'}",
        ARGON2_PARAMS=ARGON2_PRODUCTION,
        BABEL_DEFAULT_LOCALE="zh_Hans_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=1800,
        UPLOAD_DIR=str(instance / "uploads"),
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        OFFICE_TIMEZONE="Asia/Shanghai",
    )
    app.config.update(Settings.from_env().app_config())
    app.config.update(config or {})
    check_production(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    if isinstance(app.config.get("SMS_SENDER"), str):
        app.config["SMS_SENDER"] = import_string(app.config["SMS_SENDER"])

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, write_intent=_request_writes)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    from views import security

    security.init_app(app)  # defaults of the account-security settings, limiter, headers
    Babel(app, locale_selector=lambda: "zh_Hans_CN")

    observability.init_app(app)
    from views import errors, health
    from views import init_app as init_views

    init_views(app)
    errors.init_app(app)
    health.init_app(app)
    _register_commands(app)

    @app.get("/")
    def home():
        return redirect(url_for("auth.login"))

    return app


def _register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the deterministic demo data into an empty database."""
        from models.demo import load_demo

        summary = load_demo()
        click.echo(summary)

    @app.cli.command("seed-scale")
    @click.option("--people", default=1_000_000, show_default=True)
    @click.option("--units", default=100_000, show_default=True)
    @click.option("--filings", default=1_000_000, show_default=True)
    def seed_scale_command(people: int, units: int, filings: int) -> None:
        """Add a city's scale of synthetic units, people, enrollments, contributions and
        filings (``--people 0 --units 0`` adds filings to a scale database)."""
        from models.scale import seed_scale

        seed_scale(people=people, units=units, filings=filings, say=click.echo)

    @app.cli.command("load-catalogue")
    def load_catalogue_command() -> None:
        """Seed the code tables, add the catalogue's items a database lacks and publish a newer
        bundled definition of an item the office has not edited (make run)."""
        from models import db
        from models.catalogue import load_catalogue

        notes: list[str] = []
        added = load_catalogue(notes=notes)
        db.session.commit()
        click.echo(f"事项目录：新增{len(added)}项" + (f"（{'、'.join(added)}）" if added else ""))
        for note in notes:
            click.echo(note)

    @app.cli.command("storage-migrate")
    @click.option("--source", default=None, metavar="URL",
                  help="file:///dir to copy from; default: UPLOAD_DIR")
    def storage_migrate(source: str | None) -> None:
        """Copy local uploads into the configured store (STORAGE_URL); files it already
        holds are kept, so the command can be run again."""
        from models import storage

        origin = storage.backend({"STORAGE_URL": source,
                                  "UPLOAD_DIR": current_app.config["UPLOAD_DIR"]})
        target = storage.backend()
        if not isinstance(origin, storage.LocalStorage):
            raise click.UsageError("--source 应为本地目录 file:///目录")
        if isinstance(target, storage.LocalStorage) and \
                target.root.resolve() == origin.root.resolve():
            raise click.UsageError("STORAGE_URL 指向的就是源目录：请先设置对象存储 STORAGE_URL")
        copied, kept = storage.copy(origin, target)
        click.echo(f"已复制 {copied} 个文件，已存在 {kept} 个（{origin.root} → {target!r}）")
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="stop when the queue is empty")
    def worker_command(burst: bool) -> None:
        """Run background jobs from Redis (REDIS_URL): long imports, exports, scheduled work."""
        if not app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL 未设置：没有 Redis 时任务在请求中直接执行，无需 worker")
        import tasks

        tasks.work(burst=burst)

    @app.cli.command("scheduler")
    def scheduler_command() -> None:
        """Enqueue the scheduled work for the workers at its times (RQ cron; run one)."""
        if not app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL 未设置：请用 cron 定时运行 flask run-scheduled")
        import tasks

        tasks.schedule()

    @app.cli.command("run-scheduled")
    @click.argument("names", nargs=-1)
    def run_scheduled_command(names: tuple[str, ...]) -> None:
        """Run the scheduled work now, every task or those named (for cron users)."""
        import tasks

        unknown = set(names) - set(tasks.SCHEDULE)
        if unknown:
            raise click.ClickException(f"没有这些定时任务：{'、'.join(sorted(unknown))}；"
                                       f"可用：{'、'.join(tasks.SCHEDULE)}")
        for name in names or tasks.SCHEDULE:
            click.echo(tasks.run_scheduled(name))

    @app.cli.command("seed-demo-if-empty")
    def seed_demo_if_empty() -> None:
        """Load the demo data only when the database has no units yet (used by make run)."""
        from models.demo import demo_accounts_text, is_empty, load_demo

        if is_empty():
            click.echo(load_demo())
        click.echo(demo_accounts_text())
