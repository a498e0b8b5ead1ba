"""create_app(config): wires the store, job runner, feed engine, controllers and middleware."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.stores.base import Store
from litestar.stores.registry import StoreRegistry
from threadpoolctl import threadpool_limits

from . import shared
from .access_log import AccessLogMiddleware
from .admin import AdminController
from .auth import AuthController, login_rate_limit
from .body_deadline import BodyDeadlineMiddleware
from .broker import Broker
from .captions import CaptionsController
from .comments import CommentsController
from .config import Config, default_data_dir
from .deps import DEPENDENCIES
from .edit_preview import edit_options, edit_preview
from .errors import http_exception_handler, internal_error_handler, problem_details_config
from .events import EventsController, StreamGate, end_streams_on_exit, total_cap
from .export import ExportController, Exports
from .feed import FeedChains, FeedController
from .feed_engine import FeedEngine
from .health import healthz
from .interactions import InteractionsController
from .job_queue import Dispatcher, QueueUnavailable, config_problem
from .jobs import JobRunner, TableRunner
from .lab import LabController
from .lab_worker import LabRunner
from .log_limits import install as limit_repeated_logs
from .login_limit import AccountLoginLimiter, LoginLimiter
from .maintenance import database_path, purge_loop, purge_removed, sweep_orphans
from .memory_stores import BoundedMemoryStore, sweep
from .moderation import ModerationController, ReportsController, SensitiveController
from .object_storage import MediaUrlsMiddleware, S3Storage
from .rate_limit import counting_rate_limit
from .request import ShortstackRequest
from .search import SearchController
from .security_headers import add_security_headers, html_headers_with_media_origin
from .storage import open_storage
from .store.db import Database
from .store.dialect import DatabaseUnreachable
from .users import UsersController
from .videos import VideosController
from .web import WEB_ROUTES, ApiDocsPlugin, template_config

log = logging.getLogger("shortstack.server")


def _logging_config(log_file: Path | None) -> LoggingConfig:
    handlers: dict[str, dict] = {}
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers["file"] = {
            "class": "logging.FileHandler",
            "filename": str(log_file),
            "formatter": "standard",
        }
    use = ["file"] if log_file is not None else ["queue_listener"]
    return LoggingConfig(
        handlers=handlers,
        root={"level": "INFO", "handlers": use},
        loggers={
            "shortstack": {"level": "INFO", "propagate": True},
            "httpx": {"level": "WARNING", "propagate": True},
            "litestar": {"level": "INFO", "propagate": True},
        },
        log_exceptions="debug",
        configure_root_logger=True,
    )


def create_app(
    config: Config | None = None, data_dir: Path | None = None, *, log_file: Path | None = None
) -> Litestar:
    """The Shortstack ASGI app over one SQLite file in data_dir.

    Logs go to stderr, or to log_file when given (the embedded server of `shortstack demo`
    must keep the terminal clean for the client)."""
    config = config or Config()
    data_dir = Path(data_dir or default_data_dir())
    db = Database(
        config.database.url or database_path(data_dir), readers=config.server.read_connections
    )
    storage = open_storage(config, data_dir)
    broker = Broker()
    runner: JobRunner
    if config.jobs.engine == "saq":  # `shortstack worker` processes run the jobs
        runner = Dispatcher(db, broker, config)
    else:  # this process claims and runs them
        runner = TableRunner(db, storage, broker, config)
    exports = Exports(db.path, storage, broker, config.accounts.export_hours * 3600)
    engine = FeedEngine(db, config, storage)
    broker.on_model = engine.model_published  # `shortstack refit` announced a new model
    if isinstance(runner, TableRunner):
        runner.on_ready = engine.video_ready
    broker.before_ready = engine.video_ready  # a video made ready by another process
    lab = LabRunner(queue=config.limits.lab_queue, wait_s=config.limits.lab_wait_s)
    limits = config.limits
    login_limiter: LoginLimiter = AccountLoginLimiter(
        limits.login_failures_per_account, limits.login_failure_window_s
    )
    made: list[BoundedMemoryStore] = []  # every in-memory store, for the expiry sweeps
    cache = shared.connect(config.cache.url) if config.cache.url else None
    if cache is not None:  # many processes: stores, limits and live events in Redis
        from litestar.stores.redis import RedisStore  # needs the redis client

        backplane: shared.RedisBackplane | None = shared.RedisBackplane(cache)
        broker.backplane = backplane
        login_limiter = shared.SharedLoginLimiter(
            cache, limits.login_failures_per_account, limits.login_failure_window_s
        )

        def new_store(name: str) -> Store:
            return RedisStore(cache, namespace=f"{shared.PREFIX}:{name}")

    else:
        backplane = None

        def new_store(name: str) -> Store:
            made.append(BoundedMemoryStore(config.server.store_max_entries))
            return made[-1]

    if cache is not None:
        chain_store: Store = new_store("feed_chains")
    else:
        chain_store = BoundedMemoryStore(config.feed.max_chains)
        made.append(chain_store)
    chains = FeedChains(chain_store, config.feed.chain_ttl_s)  # what each cursor chain served
    stores = StoreRegistry({"feed_chains": chain_store}, default_factory=new_store)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        limit_repeated_logs(config.server.log_repeat_s)
        broker.bind(asyncio.get_running_loop())
        if cache is not None and backplane is not None:
            try:
                chains.use_key(await shared.shared_key(cache, "feed_chains"))
                await backplane.start(broker)
            except Exception as exc:
                log.error("cannot reach the cache at [cache] url: %s", exc)
                raise shared.CacheUnavailable(f"cannot reach [cache] url: {exc}") from None
        try:
            await db.open()
        except DatabaseUnreachable as exc:  # one line naming the database (no password)
            log.error("%s", exc)
            raise
        try:
            await asyncio.to_thread(storage.check)  # a bucket: reachable with these credentials
        except Exception as exc:
            log.error("cannot use the media storage: %s", exc)
            raise
        with storage.alone() as alone:
            if alone:  # another API process of this data dir may be mid-upload: leave it be
                swept = await sweep_orphans(db, storage)
                if any(swept.values()):
                    log.info("start-up sweep removed %s", swept)
        # jobs left 'running' are re-queued at once only when no other process can be running
        # them: alone on a SQLite data dir. Else (a busy data dir, Postgres shared by other
        # machines) a job whose process died is claimed again when its lease runs out.
        recover = alone and db.dialect == "sqlite"
        storage.hold()
        purged = await purge_removed(db, storage, config.limits.removed_keep_days)
        if any(purged.values()):
            log.info("start-up sweep purged removed content past its appeal time: %s", purged)
        if isinstance(runner, Dispatcher):
            problem = config_problem(config)
            try:
                if problem is not None:
                    raise QueueUnavailable(problem)
                await runner.start()
            except QueueUnavailable as exc:
                log.error("%s", exc)
                raise
        else:
            await runner.start(recover=recover)
        await engine.start()
        sweeper = asyncio.create_task(
            sweep(lambda: list(made), config.server.store_sweep_s),
            name="store-sweep",
        )
        purger = asyncio.create_task(
            purge_loop(db, storage, config.limits.removed_keep_days), name="purge-removed"
        )
        # numpy's BLAS threads, process-wide, while serving (ranking and refits); the process's
        # own setting comes back at shutdown (an embedded server shares its process)
        blas = threadpool_limits(config.server.blas_threads or None, user_api="blas")
        restore_signals = end_streams_on_exit(broker)
        try:
            yield
        finally:
            restore_signals()
            blas.restore_original_limits()
            sweeper.cancel()
            purger.cancel()
            if backplane is not None:
                await backplane.stop()
            lab.close()
            await engine.stop()
            await runner.stop()
            storage.release()
            await db.close()
            if cache is not None:
                await cache.aclose()

    api_limit = counting_rate_limit(
        rate_limit=("minute", config.limits.api_rate_per_minute),
        # media bytes (Range requests while playing) and the event stream don't spend the API budget
        exclude=[
            "/healthz",
            "/schema",
            "/api/events",
            r"^/api/videos/[^/]+/(media/[^/]+|poster|hls/.+)$",
        ],
    )
    body_deadline = BodyDeadlineMiddleware(
        config.limits.body_timeout_s, config.limits.body_min_kib_per_s * 1024
    )
    streams = StreamGate(limits.event_streams_per_address, total_cap(limits.event_streams_total))
    middleware = [body_deadline, streams, api_limit.middleware, login_rate_limit(config).middleware]
    if config.server.log_requests:
        middleware.append(AccessLogMiddleware())
    if isinstance(storage, S3Storage):  # API responses name media by bucket or CDN URLs
        middleware.append(DefineMiddleware(MediaUrlsMiddleware, storage=storage))

    dependencies = dict(DEPENDENCIES)
    dependencies.update(
        # the app's own objects, without parameters: a provider taking `state` had its
        # arguments parsed and validated on every request
        db=Provide(lambda: db, sync_to_thread=False),
        config=Provide(lambda: config, sync_to_thread=False),
        storage=Provide(lambda: storage, sync_to_thread=False),
        jobs=Provide(lambda: runner, sync_to_thread=False),
        engine=Provide(lambda: engine, sync_to_thread=False),
        chains=Provide(lambda: chains, sync_to_thread=False),
        lab=Provide(lambda: lab, sync_to_thread=False),
        exports=Provide(lambda: exports, sync_to_thread=False),
    )

    app = Litestar(
        route_handlers=[
            AuthController,
            ExportController,
            AdminController,
            ModerationController,
            ReportsController,
            SensitiveController,
            UsersController,
            VideosController,
            CaptionsController,
            InteractionsController,
            CommentsController,
            FeedController,
            LabController,
            SearchController,
            EventsController,
            healthz,
            edit_preview,
            edit_options,
            *WEB_ROUTES,
        ],
        template_config=template_config(),
        dependencies=dependencies,
        middleware=middleware,
        before_send=[add_security_headers],
        plugins=[ProblemDetailsPlugin(problem_details_config())],
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        lifespan=[lifespan],
        stores=stores,
        request_class=ShortstackRequest,
        request_max_body_size=config.limits.max_json_kb * 1024,
        openapi_config=OpenAPIConfig(
            title="Shortstack",
            version=version("shortstack"),
            path="/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"bearer": []}],
            render_plugins=[ApiDocsPlugin()],
        ),
        logging_config=_logging_config(log_file),
        debug=False,
    )
    app.state.config = config
    app.state.db = db
    app.state.broker = broker
    app.state.hls_packaging = asyncio.Lock()  # one on-demand HLS packaging at a time
    app.state.streams = streams  # bench/streams.py reads the open-stream counts
    app.state.login_limiter = login_limiter
    app.state.engine = engine  # bench/feed_http.py waits for its first fit
    # the services hot handlers read here instead of injecting (see health.healthz)
    app.state.jobs = runner
    app.state.storage = storage
    if isinstance(storage, S3Storage):  # web pages may load media from the bucket or CDN
        app.state.html_headers = html_headers_with_media_origin(storage.media_origin())
    app.state.chains = chains
    app.state.exports = exports  # tests age an export past its expiry
    return app


def app_from_environment() -> Litestar:
    """The app each process of `shortstack serve --workers N` builds: the config file and the
    data dir come from $SHORTSTACK_CONFIG and $SHORTSTACK_DATA (set by the command)."""
    from .config import load_config

    return create_app(load_config(), default_data_dir())
