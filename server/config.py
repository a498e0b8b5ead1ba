"""Typed configuration: config.toml -> msgspec Structs, with SHORTSTACK_* environment overrides."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

import msgspec
import platformdirs

from shortstack.recommender.weights import BlendWeights, SignalWeights

APP_NAME = "shortstack"


class ConfigError(Exception):
    """A configuration file or override is invalid; the message names the file and key."""


class ServerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    """Address `shortstack serve` binds to."""
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    """Port `shortstack serve` listens on (1-65535)."""
    public_url: str = ""
    """Base URL used in share links; empty means the address the request reached."""
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    """Reverse-proxy addresses whose X-Forwarded-For/-Proto are believed; empty: none."""
    registration: Literal["open", "closed", "invite"] = "open"
    """Who may register: anyone ("open"), holders of an admin's invite code ("invite"), or
    nobody: admins create accounts ("closed")."""
    workers: int = 1
    """Transcode worker processes running beside the server."""
    read_connections: int = 4
    """SQLite read connections in the pool (writes always go through one writer)."""
    blas_threads: int = 1
    """BLAS threads for ranking and fitting inside an API process (0: the library's default,
    one per core). One keeps a request's ranking from fighting the event loop and the
    database threads for the cores; `shortstack refit`, a process of its own, uses them all."""
    log_requests: bool = True
    """Log one line per HTTP request."""
    log_repeat_s: float = 10.0
    """A repeated error (same logger, message and exception) is logged once per this many
    seconds, as one line when it is running out of file descriptors; repeats are counted."""
    store_max_entries: int = 100_000
    """Most entries each in-memory store (rate-limit counters) holds; the oldest go first."""
    store_sweep_s: float = 60.0
    """How often expired entries are swept out of the in-memory stores, in seconds."""
    media_accel_redirect: str = ""
    """URI prefix of a reverse proxy's internal location serving the data dir's media/
    folder (nginx: `location /_media/ { internal; alias DATA/media/; }`): media, posters and
    HLS files are then answered with X-Accel-Redirect after the server's checks and the proxy
    sends the bytes (sendfile, Range); empty: the server sends them itself."""


class LimitsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    max_upload_mb: int = 200
    """Largest accepted upload, in MiB (413 beyond)."""
    max_duration_s: float = 180.0
    """Longest accepted video, in seconds (422 beyond)."""
    max_dimension: int = 8192
    """Largest accepted width or height in pixels (422 beyond)."""
    probe_timeout_s: float = 30.0
    """Longest the check of a received upload (its probe), or the making of an edit preview,
    may take, in seconds (422 beyond); reading the body is bounded by the body_* keys."""
    body_timeout_s: float = 20.0
    """Longest wait for the next bytes of a request body, and the grace period before
    body_min_kib_per_s applies, in seconds (408 beyond)."""
    body_min_kib_per_s: float = 8.0
    """Slowest average rate a request body (an upload) may arrive at once body_timeout_s has
    passed, in KiB/s; 0 turns the rate check off (408 beyond)."""
    max_json_kb: int = 64
    """Largest accepted JSON request body, in KiB (413 beyond)."""
    uploads_per_day: int = 50
    """Videos one user may upload in any 24 hours, deleted ones included; 0 for no limit;
    admins have none (429 with Retry-After beyond)."""
    upload_mb_per_day: int = 2048
    """MiB one user may upload in any 24 hours, deleted videos included; 0 for no limit;
    admins have none (429 with Retry-After beyond)."""
    api_rate_per_minute: int = 1200
    """Requests per minute per client address for the whole API (429 beyond)."""
    login_rate_per_minute: int = 10
    """Login and register attempts per minute per client address (429 beyond)."""
    login_failures_per_account: int = 10
    """Failed logins per handle within login_failure_window_s, from any address (429 beyond)."""
    login_failure_window_s: float = 900.0
    """The window of login_failures_per_account, in seconds (counted from the first failure)."""
    comment_max_chars: int = 2000
    """Longest comment body in characters."""
    event_streams_per_address: int = 8
    """Open /api/events streams per client address (429 beyond)."""
    event_streams_total: int = 1000
    """Open /api/events streams in all (429 beyond); at most half the open-file limit."""
    event_heartbeat_s: float = 15.0
    """Seconds between comment heartbeats on an event stream (keeps it alive, finds dead peers)."""
    event_idle_timeout_s: float = 300.0
    """An event stream that delivered no event for this long ends (clients reconnect), seconds."""
    lab_queue: int = 4
    """Feed-lab runs that may wait for the lab, one per user, admins first (503 beyond)."""
    lab_wait_s: float = 30.0
    """Longest a feed-lab run waits for its turn, in seconds (503 with its place after)."""
    hls_package_per_minute: int = 6
    """On-demand HLS packagings (videos made before HLS was made at transcode) per minute
    per client address (429 beyond); one runs at a time."""
    reports_per_hour: int = 20
    """Reports one user may file in any hour (429 beyond); 0 for no limit."""
    removed_keep_days: float = 30.0
    """Days a video or comment removed by a moderator is kept (hidden) for an appeal before
    it is purged (rows and files): at start-up, hourly while the server runs, and by
    `shortstack doctor --fix`."""


class AccountsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    password_min_length: int = 10
    """Shortest accepted password in characters (common and easily guessed ones are refused too)."""
    token_idle_days: float = 30.0
    """A login token unused this long stops working; every use renews it (sliding expiry)."""
    token_max_days: float = 365.0
    """A login token stops working this long after login, however often it is used."""
    invite_days: float = 7.0
    """Default lifetime of an invite code, in days."""
    export_hours: float = 24.0
    """A finished data export (POST /api/me/export) can be downloaded, once, for this many hours."""


class MediaConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    renditions: list[int] = msgspec.field(default_factory=lambda: [360, 240])
    """Short sides of the rendition ladder; never upscaled."""
    preset: str = "veryfast"
    """libx264 preset for renditions."""
    crf: int = 26
    """libx264 constant rate factor (lower is better quality, bigger files)."""
    audio_bitrate: int = 96000
    """AAC bitrate in bits per second."""
    job_max_attempts: int = 3
    """Attempts before a transcode job is marked failed."""
    job_timeout_s: float = 600.0
    """Hard timeout for one transcode attempt, in seconds."""
    job_lease_s: float = 30.0
    """How long a worker's claim on a job lasts without a heartbeat."""
    max_memory_mb: int = 4096
    """Memory ceiling (address space) of each media child process: probe, preview and
    transcode worker, in MiB; past it the upload is refused (422) or the job fails, saying
    so; 0 for no ceiling."""
    prestart_workers: bool = True
    """Start the transcode children (and load the media stack in them) when the server
    starts, so the first upload does not wait ~1 s for it; false starts each on its first
    job (a smaller idle footprint)."""


def _table(cls: type, name: str) -> type:
    """A config Struct with exactly the fields, types and defaults of a recommender dataclass.

    The recommender declares the weights once (``recommender/weights.py``, one docstring
    per field); config converts, it does not mirror. Unknown keys are refused like
    everywhere else; ``as_dataclass()`` gives the recommender's own type back.
    """
    hints = get_type_hints(cls)
    return msgspec.defstruct(
        name,
        [(f.name, hints[f.name], f.default) for f in dataclasses.fields(cls)],
        kw_only=True,
        forbid_unknown_fields=True,
        module=__name__,
        namespace={
            "__doc__": cls.__doc__,
            "as_dataclass": lambda self: cls(**msgspec.structs.asdict(self)),
        },
    )


#: ``[feed.weights]``: default blend weights, and the body of GET/PUT /api/feed/weights.
FeedWeights = _table(BlendWeights, "FeedWeights")
#: ``[feed.signals]``: how each interaction turns into implicit feedback.
SignalsConfig = _table(SignalWeights, "SignalsConfig")


class FeedConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    weights: FeedWeights = msgspec.field(default_factory=FeedWeights)
    """Default blend weights for users who have not set their own."""
    signals: SignalsConfig = msgspec.field(default_factory=SignalsConfig)
    """How each interaction turns into implicit feedback."""
    trending_half_life_h: float = 24.0
    """Half-life of engagement in the trending score, in hours."""
    refit_every_events: int = 200
    """Refit the recommender after this many new events."""
    refit_interval_s: float = 300.0
    """Refit the recommender at least this often, in seconds (when there are new events)."""
    refit: Literal["server", "external"] = "server"
    """Who fits the recommender: "server" (each API process, in the background, as events
    arrive) or "external" (``shortstack refit``, by cron or a worker, writes a versioned
    model artifact to DATA/models/; API processes load it and swap to it without a restart,
    at once when the cache announces it, else within ``model_poll_s``)."""
    model_poll_s: float = 10.0
    """With ``refit = "external"``: how often each API process looks for a new artifact."""
    poll_s: float = 2.0
    """How often each API process looks for videos and events written outside it (another
    process, ``shortstack`` commands, a restored backup), in seconds (0.05 to 60). Videos
    its own transcodes finish join the feeds at once."""
    chain_ttl_s: float = 3600.0
    """How long a feed cursor chain remembers what it served."""
    max_chains: int = 5000
    """Most feed cursor chains remembered at once; the oldest is forgotten first."""

    def __post_init__(self) -> None:
        if not 0.05 <= self.poll_s <= 60:
            raise ValueError("feed.poll_s must be between 0.05 and 60 seconds")


class CacheConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    """A Redis (or Valkey) server shared by every API process: ``redis://host:6379/0`` or
    ``unix:///path/redis.sock``. Rate-limit and login-failure counts, feed cursor chains and
    their signing key, and live events then hold across processes and machines. Empty: one
    process, all of it in memory (needs ``pip install 'shortstack[scale]'`` when set)."""


class DatabaseConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    """Where the data lives. Empty: the SQLite file ``shortstack.db`` in the data dir (one
    process on one machine). ``postgresql://user:password@host:5432/dbname`` (or
    ``postgresql:///dbname?host=/run/postgresql`` for a unix socket): a Postgres database that
    many API processes and machines share (needs ``pip install 'shortstack[postgres]'``;
    ``shortstack migrate --to URL`` moves a SQLite instance there). Media stay in the data dir."""


class StorageConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    backend: Literal["local", "s3"] = "local"
    """Where media files live: "local" (DATA/media, streamed by the API with Range) or "s3"
    (an S3-compatible bucket; needs ``pip install 'shortstack[s3]'``; credentials come from
    the environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or boto3's other sources)."""
    endpoint_url: str = ""
    """The S3 endpoint (``https://s3.example.net``, MinIO, Ceph...). Empty: AWS itself."""
    bucket: str = ""
    """The bucket (it must exist; ``shortstack doctor`` checks it). Required with "s3"."""
    region: str = ""
    """The bucket's region (empty: boto3's default, e.g. AWS_DEFAULT_REGION)."""
    prefix: str = ""
    """A key prefix for everything Shortstack stores (``shortstack/``): share a bucket."""
    public_base_url: str = ""
    """A CDN or public-bucket base URL that maps to the bucket's keys: media URLs in the API
    become ``public_base_url + key``. Empty: a private bucket, media URLs are presigned."""
    presign_s: int = 3600
    """How long a presigned media URL stays valid, in seconds (60 to 604800); each is signed
    once per quarter of that and reused, so a client gets one valid for 3/4 of it at least."""

    def __post_init__(self) -> None:
        from urllib.parse import urlsplit

        if self.backend != "s3":
            return
        if not self.bucket:
            raise ValueError("storage.backend = 's3' needs storage.bucket")
        for key in ("endpoint_url", "public_base_url"):
            value = getattr(self, key)
            parts = urlsplit(value) if value else None
            if parts and (parts.scheme not in ("http", "https") or not parts.netloc or parts.query):
                raise ValueError(f"storage.{key} is not an http(s) URL: {value!r}")
        if not 60 <= self.presign_s <= 7 * 24 * 3600:
            raise ValueError("storage.presign_s must be between 60 and 604800 seconds")
        import importlib.util

        if importlib.util.find_spec("boto3") is None:  # said at start-up, not at the first upload
            raise ValueError("storage.backend = 's3' needs boto3: pip install 'shortstack[s3]'")


class CaptionsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    max_kb: int = 512
    """Largest caption file (WebVTT or SRT) accepted, in KiB (413 beyond)."""
    max_cues: int = 5000
    """Most cues in one caption file (422 beyond)."""
    max_languages: int = 20
    """Most caption languages on one video (422 beyond)."""
    auto: bool = False
    """Make automatic captions after each transcode (needs an engine: pip install
    'shortstack[captions]' for pocketsphinx); off by default."""
    auto_lang: str = "en"
    """Language tag of automatic captions (what the engine's model speaks)."""
    engine: str = "pocketsphinx"
    """Speech engine of automatic captions: "pocketsphinx", or "module:factory" naming a
    callable that returns a Transcriber (see docs/api-extensions.md, Captions)."""
    auto_timeout_s: float = 300.0
    """Hard timeout for transcribing one video, in seconds."""


class JobsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    engine: Literal["builtin", "saq"] = "builtin"
    """Who runs transcode and captions jobs: "builtin" (each API process claims them from the
    jobs table and transcodes beside the server: one machine) or "saq" (a queue on Redis: API
    processes only enqueue, ``shortstack worker`` processes on any machine run the jobs; needs
    ``[cache] url`` for their live events and ``pip install 'shortstack[scale]'``)."""
    url: str = ""
    """The queue's Redis server (``redis://host:6379/1``, ``unix:///path/redis.sock``); empty:
    the ``[cache] url`` server."""
    queue: str = "shortstack"
    """Name of the queue on that server (one per instance sharing a Redis)."""
    concurrency: int = 1
    """Jobs one ``shortstack worker`` runs at once (each in its own transcode child process);
    ``--concurrency`` overrides it."""
    heartbeat_s: int = 30
    """A running job that has not been heard from for this long (its worker was killed or lost
    its network) is swept back into the queue by another worker, in seconds."""
    timeout_margin_s: int = 120
    """The engine's time limit of one attempt is the work's own deadline
    (``media.job_timeout_s``, ``captions.auto_timeout_s``) plus this, for copying media to and
    from storage, in seconds."""
    dispatch_s: float = 10.0
    """How often API processes and workers look for committed jobs the queue does not hold (an
    enqueue lost in a crash) and hand them to it, in seconds."""
    shutdown_grace_s: int = 30
    """On SIGTERM a worker takes no new job and lets a running one finish for this long; past
    it the job is released back to the queue (its partial outputs removed), in seconds."""
    refit_cron: str = ""
    """With ``feed.refit = "external"``: when the workers run ``shortstack refit``, as a cron
    line ("*/10 * * * *"; a sixth field counts seconds); one worker of them all runs each; empty:
    never (run ``shortstack refit`` from cron instead)."""


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    """HTTP server."""
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    """Sizes, durations and rate limits."""
    accounts: AccountsConfig = msgspec.field(default_factory=AccountsConfig)
    """Passwords, login tokens and invites."""
    media: MediaConfig = msgspec.field(default_factory=MediaConfig)
    """Transcoding."""
    feed: FeedConfig = msgspec.field(default_factory=FeedConfig)
    """Recommender and feeds."""
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    """State shared by many API processes (scale-out)."""
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    """The database: a SQLite file in the data dir (default) or Postgres (scale-out)."""
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    """Media files: the data dir (default) or an S3-compatible bucket (scale-out)."""
    captions: CaptionsConfig = msgspec.field(default_factory=CaptionsConfig)
    """Caption uploads and automatic captions."""
    jobs: JobsConfig = msgspec.field(default_factory=JobsConfig)
    """Who runs transcode jobs: the API processes, or workers on a queue engine."""

    @property
    def base_url(self) -> str:
        return self.server.public_url.rstrip("/") or f"http://{self.server.host}:{self.server.port}"


def default_config_path() -> Path:
    """The config file used when none is named: $SHORTSTACK_CONFIG, else the user config dir."""
    env = os.environ.get("SHORTSTACK_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    """The data dir used when none is named: $SHORTSTACK_DATA, else the user data dir."""
    env = os.environ.get("SHORTSTACK_DATA")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir(APP_NAME))


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """SHORTSTACK_SECTION__KEY=value (e.g. SHORTSTACK_LIMITS__MAX_UPLOAD_MB=50) as a nested dict."""
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith("SHORTSTACK_") or "__" not in name:
            continue
        parts = name[len("SHORTSTACK_") :].lower().split("__")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read a TOML config file (missing default file = defaults) and apply env overrides."""
    explicit = path is not None
    path = path if path is not None else default_config_path()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    elif explicit:
        raise ConfigError(f"{path}: no such config file")
    data = _merge(data, _env_overrides(dict(os.environ if environ is None else environ)))
    try:
        config = msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(exc)}") from None
    _refuse_negative(config, path)
    return config


def _refuse_negative(config: Config, path: Path) -> None:
    """No count, size, rate or duration of a section may be negative (the server started with
    any of them at -1). Zero keeps the meaning its key documents (no limit, off, the library's
    default); signed values live in nested tables ([feed.signals]), which are not checked."""
    for section in msgspec.structs.fields(Config):
        part = getattr(config, section.name)
        for field in msgspec.structs.fields(type(part)):
            value = getattr(part, field.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(
                    f"{path}: {section.name}.{field.name} must not be negative (got {value})"
                )


def _explain(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    # msgspec says e.g. "Object contains unknown field `prot` - at `$.server`"
    if "unknown field" in text:
        return (
            text.replace("Object contains", "unknown key:")
            + " (see config.toml for the known keys)"
        )
    return text
