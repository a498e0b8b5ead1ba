"""The `shortstack` command: serve, demo, tui, scriptable client commands, import, eval, backup, admin."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shortstack import __version__
from shortstack.counts import noun

DEFAULT_SERVER = "http://127.0.0.1:8000"


class CliError(Exception):
    """A user-facing command-line error: printed as one line on stderr, exit code 2."""


# --------------------------------------------------------------------------- shared bits


def _data_dir(args: argparse.Namespace) -> Path:
    from shortstack.server.config import default_data_dir

    return Path(args.data).expanduser() if getattr(args, "data", None) else default_data_dir()


def _config(args: argparse.Namespace):
    from shortstack.server.config import ConfigError, load_config

    try:
        return load_config(
            Path(args.config).expanduser() if getattr(args, "config", None) else None
        )
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def _server_url(args: argparse.Namespace) -> str:
    url = (args.server or os.environ.get("SHORTSTACK_SERVER") or DEFAULT_SERVER).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        where = "--server" if args.server else "$SHORTSTACK_SERVER"
        raise CliError(f"{where} must be an http:// or https:// URL, e.g. {DEFAULT_SERVER} "
                       f"(got {url!r})")  # fmt: skip
    return url


def _int_from(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (its error says just that)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"a whole number from {low} to {high}, not {text!r}")
        return value

    return parse


def _token(args: argparse.Namespace, *, required: bool = True) -> str | None:
    from shortstack.tui.session import Session

    token = (
        getattr(args, "token", None) or os.environ.get("SHORTSTACK_TOKEN") or Session().load_token()
    )
    if required and not token:
        raise CliError(
            "not logged in: run `shortstack login HANDLE` or pass --token / SHORTSTACK_TOKEN"
        )
    return token


def _call(args: argparse.Namespace, fn: Callable[[Any], Any], *, auth: bool = True) -> Any:
    """Run fn(client) against the server; API errors become one-line CLI errors."""
    from shortstack.tui.api import ApiClient, ApiError, ServerUnavailable

    async def go() -> Any:
        client = ApiClient(_server_url(args), _token(args, required=auth), timeout=60.0)
        try:
            return await fn(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(go())
    except ApiError as exc:
        raise CliError(
            f"{exc.status} {exc.title}: {exc.detail}" if exc.detail else f"{exc.status} {exc.title}"
        ) from None
    except ServerUnavailable as exc:
        raise CliError(f"{exc} (is `shortstack serve` running? use --server URL)") from None


def _line(value: Any) -> str:
    """A user field inside a one-line-per-item listing: inert and without line breaks."""
    from shortstack.tui.plain_text import clean

    return clean(value, single_line=True)


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    """Every command's output: user text is made inert (tui/plain_text.py), JSON or not."""
    from shortstack.tui.plain_text import clean, clean_json

    if getattr(args, "json", False):
        print(clean_json(json.dumps(data, indent=2, ensure_ascii=False)))
    else:
        print(clean(text))


# --------------------------------------------------------------------------- commands


def _check_data_dir(data_dir: Path) -> None:
    """The data folder exists (made if missing) and can be written, or a one-line error."""
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot make the data folder {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise CliError(f"the data folder {data_dir} is not writable by this user")


def _check_listen(host: str, port: int) -> None:
    """Fail before the app starts when the address cannot be listened on (in use, unknown
    host): the server used to start, fit its model, then stop with uvicorn's bind error."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(address)
        except OSError as exc:
            taken = exc.errno == errno.EADDRINUSE
            why = (
                "the port is in use (another server?); pick another --port"
                if taken
                else exc.strerror
            )
            raise CliError(f"cannot listen on {host}:{port}: {why}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from shortstack.server.app import create_app
    from shortstack.server.embedded import uvicorn_options

    config = _config(args)
    host = args.host or config.server.host
    port = args.port or config.server.port
    data_dir = _data_dir(args)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    workers = args.workers
    if workers < 1:
        raise CliError("--workers must be at least 1")
    if workers > 1 and not config.cache.url:
        raise CliError(
            f"--workers {workers} needs [cache] url (a Redis server) so the processes share"
            " rate limits, feed cursors and live events; see docs/scaling.md"
        )
    if config.database.url:  # reachable, and its schema current, before any process starts
        from shortstack.server.maintenance import MaintenanceError, migrate_database

        try:
            migrate_database(data_dir, config.database.url)
        except MaintenanceError as exc:
            raise CliError(str(exc)) from None
    _check_data_dir(data_dir)
    _check_listen(host, port)
    shown = f" with {workers} API processes" if workers > 1 else ""
    print(
        f"Shortstack {__version__} serving {data_dir} on http://{host}:{port}{shown}",
        file=sys.stderr,
    )
    if workers == 1:
        uvicorn.run(create_app(config, data_dir), host=host, port=port, **uvicorn_options(config))
        return 0
    # each process builds its own app from the same config file and data dir
    if getattr(args, "config", None):
        os.environ["SHORTSTACK_CONFIG"] = str(Path(args.config).expanduser().resolve())
    os.environ["SHORTSTACK_DATA"] = str(Path(data_dir).resolve())
    uvicorn.run(
        "shortstack.server.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        **uvicorn_options(config),
    )
    return 0


def _need_terminal(instead: str) -> None:
    """The terminal client reads keys on stdin and draws on stderr: both must be a terminal
    (without one it drew escape codes into a file and waited for keys that never came)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise CliError(f"the terminal client needs a terminal (stdin and stderr); {instead}")


def cmd_demo(args: argparse.Namespace) -> int:
    from shortstack.demo import run_demo

    if not args.no_tui:
        _need_terminal("--no-tui runs the demo server alone")
    return run_demo(
        videos=args.videos,
        data_dir=Path(args.data).expanduser() if args.data else None,
        no_tui=args.no_tui,
        port=args.port,
        sound=not getattr(args, "no_sound", False),
    )


def cmd_tui(args: argparse.Namespace) -> int:
    from shortstack.tui.app import run

    _need_terminal("scripts use the other commands (shortstack feed --json, like, comment…)")
    run(
        _server_url(args),
        token=getattr(args, "token", None) or os.environ.get("SHORTSTACK_TOKEN"),
        sound=not getattr(args, "no_sound", False),
    )
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    from shortstack.tui.session import Session

    password = _read_password(args, "Password: ")

    async def go(client: Any) -> Any:
        if args.register:
            return await client.register(args.handle, password)
        return await client.login(args.handle, password)

    result = _call(args, go, auth=False)
    Session().save_token(result["token"])
    _print(args, result["user"], f"logged in as @{result['user']['handle']}")
    return 0


def _read_password(args: argparse.Namespace, prompt: str) -> str:
    """One password: a line of standard input with --password-stdin, else asked for."""
    import getpass

    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise CliError("expected a password on standard input")
        return line.rstrip("\n")
    try:  # getpass asks on the terminal, else reads standard input: a script may have neither
        return getpass.getpass(prompt)
    except EOFError:
        raise CliError(
            "no password: there is no terminal to ask on; pipe it in with --password-stdin"
        ) from None


def cmd_logout(args: argparse.Namespace) -> int:
    from shortstack.tui.session import Session

    if args.everywhere:
        _call(args, lambda c: c.logout_everywhere())
    else:
        _call(args, lambda c: c.logout())
    Session().clear_token()
    _print(
        args,
        {"logged_out": "everywhere" if args.everywhere else "here"},
        "logged out everywhere" if args.everywhere else "logged out",
    )
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    current = _read_password(args, "Current password: ")
    new = _read_password(args, "New password: ")
    if not args.password_stdin and _read_password(args, "New password again: ") != new:
        raise CliError("the new passwords differ")
    _call(args, lambda c: c.change_password(current, new))
    _print(args, {"changed": True}, "password changed; your other sessions are logged out")
    return 0


def cmd_account_delete(args: argparse.Namespace) -> int:
    from shortstack.tui.session import Session

    if not args.password_stdin and not args.yes:
        try:
            answer = input("Delete your account, its videos, comments and likes for good? [y/N] ")
        except EOFError:  # nothing to read the answer from (a script): --yes says it
            raise CliError(
                "nothing deleted: no answer to the question (--yes answers it)"
            ) from None
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("nothing deleted")
    password = _read_password(args, "Password: ")
    _call(args, lambda c: c.delete_account(password))
    Session().clear_token()
    _print(args, {"deleted": True}, "your account and everything of it are deleted")
    return 0


def cmd_account_export(args: argparse.Namespace) -> int:
    import time

    job = _call(args, lambda c: c.start_export())
    export_id = job["id"]
    while job["status"] == "running":
        time.sleep(0.5)
        job = _call(args, lambda c: c.export_status(export_id))
    if job["status"] != "ready":
        raise CliError(f"export {job['id']} {job['status']}: {job.get('error') or 'try again'}")
    dest = Path(args.output or f"shortstack-export-{job['id']}.zip")
    if dest.exists():
        raise CliError(f"{dest} exists; pass --output")
    written = _call(args, lambda c: c.download_export(job["id"], dest))
    _print(
        args, {"id": job["id"], "file": str(dest), "bytes": written}, f"{dest} ({written} bytes)"
    )
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    if args.revoke:
        _call(args, lambda c: c.revoke_session(args.revoke))
        _print(args, {"revoked": args.revoke}, f"session {args.revoke} logged out")
        return 0
    page = _call(args, lambda c: c.sessions())
    lines = [
        f"{s['id']}  last used {s['last_used_at']}  expires {s['expires_at']}"
        f"  {_line(s['user_agent'] or '-')}{'  (this one)' if s['current'] else ''}"
        for s in page["items"]
    ]
    _print(args, page, "\n".join(lines) or "(no sessions)")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    found = _call(args, lambda c: c.search(args.query), auth=False)
    lines = [f"@{u['handle']}  {_line(u['display_name'])}" for u in found.get("users", [])]
    lines += [f"#{h['tag'] if isinstance(h, dict) else h}" for h in found.get("hashtags", [])]
    lines += [
        f"{v['id']}  @{v['author']['handle']}: {_line(v['caption'][:60])}"
        for v in found.get("videos", [])
    ]
    _print(args, found, "\n".join(lines) or "(nothing found)")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    handle = args.handle.lstrip("@")
    user = _call(args, lambda c: c.user(handle), auth=False)
    text = (
        f"@{user['handle']}  {_line(user['display_name'])}\n{user['bio']}\n"
        f"{user['followers']} {noun(user['followers'], 'follower')} · "
        f"{user['following']} following · {user['videos']} {noun(user['videos'], 'video')}"
    )
    _print(args, user, text)
    return 0


def cmd_comments(args: argparse.Namespace) -> int:
    page = _call(args, lambda c: c.comments(args.id, limit=args.limit), auth=False)
    lines = [
        f"{c['id']}  "
        + (f"@{c['author']['handle']}" if c["author"] else "(deleted account)")
        + f": {_line(c['body'])}"
        for c in page["items"]
    ]
    _print(args, page, "\n".join(lines) or "(no comments)")
    return 0


def cmd_captions(args: argparse.Namespace) -> int:
    from shortstack.media.captions import CaptionError, format_time, parse_vtt, plain

    tracks = _call(args, lambda c: c.caption_tracks(args.id), auth=False)
    if not tracks:
        _print(args, {"tracks": []}, "(no captions)")
        return 0
    langs = [t["lang"] for t in tracks]
    lang = args.lang or ("en" if "en" in langs else langs[0])
    track = next((t for t in tracks if t["lang"].lower() == lang.lower()), None)
    if track is None:
        raise CliError(f"no captions in {lang!r}; this video has: {', '.join(langs)}")
    vtt = _call(args, lambda c: c.caption_vtt(args.id, track["lang"]), auth=False)
    try:
        cues = parse_vtt(vtt)
    except CaptionError as exc:
        raise CliError(f"the server sent captions this client cannot read: {exc}") from None
    data = {
        "lang": track["lang"],
        "kind": track["kind"],
        "languages": langs,
        "cues": [{"start": c.start, "end": c.end, "text": plain(c.text)} for c in cues],
    }
    lines = [f"# {track['lang']} ({track['kind']}); languages: {', '.join(langs)}"] + [
        f"{format_time(c.start)} --> {format_time(c.end)}  {_line(plain(c.text))}" for c in cues
    ]
    _print(args, data, "\n".join(lines))
    return 0


def cmd_notifications(args: argparse.Namespace) -> int:
    page = _call(args, lambda c: c.notifications(limit=args.limit))
    if args.read_all:
        _call(args, lambda c: c.read_all_notifications())
    lines = [
        f"{n['created_at']}  {n['kind']}"
        + (f"  @{n['actor']} ({_line(n['actor_name'])})" if n["actor"] else "")
        + (f"  video {n['video_id']}" if n["video_id"] else "")
        for n in page["items"]
    ]
    _print(args, page, "\n".join(lines) or "(no notifications)")
    return 0


def _edit_recipe(args: argparse.Namespace) -> dict[str, Any] | None:
    """The edit recipe the upload flags ask for (checked here too, for a quick clear error)."""
    from shortstack.media.edit import parse_recipe
    from shortstack.media.errors import InvalidMedia

    recipe: dict[str, Any] = {}
    if args.trim:
        recipe["trim"] = args.trim
    if args.crop:
        recipe["crop"] = args.crop
    if args.filter:
        recipe["look"] = args.filter
    if args.speed is not None:
        recipe["speed"] = args.speed
    if args.text:
        recipe["text"] = {"text": args.text, "position": args.text_position}
    if args.mute:
        recipe["mute"] = True
    if args.tone is not None:
        recipe["tone"] = args.tone
    try:
        return parse_recipe(recipe).to_dict() or None
    except InvalidMedia as exc:
        raise CliError(str(exc)) from None


def _stitched(path: Path, others: list[str], crossfade_s: float | None) -> Path:
    """Join ``path`` and ``others`` with crossfades into a temporary MP4 (made locally);
    ``crossfade_s`` None: stitch()'s own default."""
    import tempfile

    from shortstack.media.errors import MediaError
    from shortstack.media.stitch import stitch

    clips = [path, *(Path(o).expanduser() for o in others)]
    for clip in clips:
        if not clip.is_file():
            raise CliError(f"{clip}: no such file")
    fd, name = tempfile.mkstemp(prefix="shortstack-stitch-", suffix=".mp4")
    os.close(fd)
    try:
        fade = {} if crossfade_s is None else {"crossfade_s": crossfade_s}
        return stitch(clips, Path(name), **fade)
    except MediaError as exc:
        Path(name).unlink(missing_ok=True)
        raise CliError(f"cannot stitch: {exc}") from None


def cmd_upload(args: argparse.Namespace) -> int:
    path = Path(args.file).expanduser()
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    edit = _edit_recipe(args)
    captions = Path(args.captions).expanduser() if args.captions else None
    if captions is not None and not captions.is_file():
        raise CliError(f"{captions}: no such file")
    if args.crossfade is not None and not args.stitch:
        raise CliError("--crossfade is the overlap between joined clips: use it with --stitch FILE")
    stitched = _stitched(path, args.stitch, args.crossfade) if args.stitch else None

    async def go(client: Any) -> Any:
        video = await client.upload(
            stitched or path,
            args.caption,
            edit=edit,
            sensitive=args.sensitive,
            captions=captions,
            captions_lang=args.captions_lang,
        )
        if args.wait:
            while video["status"] == "processing":
                await asyncio.sleep(0.5)
                video = await client.video(video["id"])
        return video

    try:
        video = _call(args, go)
    finally:
        if stitched is not None:
            stitched.unlink(missing_ok=True)
    _print(args, video, f"{video['id']}  {video['status']}  {_line(video['caption'])}")
    return 0 if video["status"] != "failed" else 1


def cmd_feed(args: argparse.Namespace) -> int:
    page = _call(args, lambda c: c.feed(args.kind, None, args.limit), auth=args.kind == "following")
    lines = [
        f"{item['video']['id']}  {item['score']:.3f}  @{item['video']['author']['handle']}: "
        f"{_line(item['video']['caption'][:60])}\n    {_line(item['explanation'])}"
        for item in page["items"]
    ]
    _print(args, page, "\n".join(lines) or "(the feed is empty)")
    return 0


def cmd_like(args: argparse.Namespace) -> int:
    result = _call(args, lambda c: c.unlike(args.id) if args.undo else c.like(args.id))
    _print(
        args,
        result,
        f"{'liked' if result['liked'] else 'not liked'} · {result['likes']} {noun(result['likes'], 'like')}",
    )
    return 0


def cmd_relation(kind: str) -> Callable[[argparse.Namespace], int]:
    """`shortstack block|mute HANDLE [--undo]`."""

    def run(args: argparse.Namespace) -> int:
        handle = args.handle.lstrip("@")
        _call(args, lambda c: c.set_relation(handle, kind, not args.undo))
        done = {"block": ("blocked", "unblocked"), "mute": ("muted", "unmuted")}[kind]
        state = done[1] if args.undo else done[0]
        _print(args, {"handle": handle, kind: not args.undo}, f"@{handle} {state}")
        return 0

    return run


def cmd_comment(args: argparse.Namespace) -> int:
    result = _call(args, lambda c: c.post_comment(args.id, args.text, args.reply_to))
    _print(args, result, f"comment {result['id']} posted")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    target_id = args.id.lstrip("@") if args.target == "user" else args.id
    result = _call(args, lambda c: c.report(args.target, target_id, args.reason, args.text))
    _print(args, result, f"report {result['id']} on {args.target} {target_id}: {result['status']}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from shortstack.importer import import_folder

    folder = Path(args.dir).expanduser()
    if not folder.is_dir():
        raise CliError(f"{folder}: not a folder")
    summary = import_folder(folder, _server_url(args), _token(args), caption=args.caption)
    skipped = summary["skipped"]
    lines = [
        f"imported {summary['uploaded']}, skipped {skipped} {noun(skipped, 'duplicate')}, "
        f"{summary['failed']} failed"
    ]
    # which failed and why (only --json said it)
    lines += [f"  {_line(error)}" for error in summary.get("errors", [])]
    _print(args, summary, "\n".join(lines))
    return 0 if not summary["failed"] else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from shortstack.evaluate import EvalInputError, run_eval

    if args.dataset and args.data:
        raise CliError("give either --dataset FILE or --data DIR, not both")
    if args.dataset:
        source = Path(args.dataset).expanduser()
        if not source.is_file():
            raise CliError(f"{source}: no such file")
    try:
        report = run_eval(
            dataset=Path(args.dataset).expanduser() if args.dataset else None,
            data_dir=None if args.dataset else _data_dir(args),
            k=args.k,
            min_rating=args.min_rating,
            signals=None if args.dataset else _config(args).feed.signals.as_dataclass(),
        )
    except EvalInputError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        from shortstack.recommender.evaluation import format_table

        print(format_table(report))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from shortstack.simulate import LabInputError, run

    try:
        return run(args)
    except LabInputError as exc:
        raise CliError(str(exc)) from None


def _existing_data_dir(args: argparse.Namespace) -> Path:
    """The data dir of an offline command; it must hold a Shortstack database."""
    from shortstack.server.maintenance import has_database

    data_dir = _data_dir(args)
    if not has_database(data_dir):
        raise CliError(f"{data_dir}: no Shortstack database here (use --data DIR)")
    return data_dir


def cmd_backup(args: argparse.Namespace) -> int:
    from shortstack.server.maintenance import MaintenanceError, backup

    url = _config(args).database.url
    data_dir = _data_dir(args) if url else _existing_data_dir(args)
    try:
        result = backup(data_dir, Path(args.file).expanduser(), url, config=_config(args))
    except MaintenanceError as exc:
        raise CliError(str(exc)) from None
    _print(
        args,
        result,
        f"backed up {result['videos']} {noun(result['videos'], 'video')} to {result['file']} "
        f"(media manifest: {result['manifest']})",
    )
    return 0


def cmd_refit(args: argparse.Namespace) -> int:
    from shortstack.server.maintenance import refit_model

    config = _config(args)
    # on Postgres (a worker's machine) the data dir holds no database, only scratch space
    data_dir = _data_dir(args) if config.database.url else _existing_data_dir(args)
    result = refit_model(data_dir, config)
    told = result["announced_to"]
    lines = [
        f"model {result['version']}: {result['videos']} {noun(result['videos'], 'video')},"
        f" {result['users']} {noun(result['users'], 'user')},"
        f" fitted in {result['seconds']} s ({result['bytes']} bytes)",
        'API processes with feed.refit = "external" '
        + (
            f"were told at once ({told} listening)"
            if told is not None
            else "load it within feed.model_poll_s"
        ),
    ]
    if "announce_error" in result:
        lines.append(f"could not announce it through the cache: {result['announce_error']}")
    _print(args, result, "\n".join(lines))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run transcode and captions jobs from the queue engine until SIGTERM/SIGINT."""
    import logging

    from shortstack.server.job_queue import QueueUnavailable, WorkerNode, worker_problem

    config = _config(args)
    data_dir = _data_dir(args)
    problem = worker_problem(config, data_dir)
    if problem is not None:
        raise CliError(problem)
    if args.concurrency is not None and args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    node = WorkerNode(config, data_dir, concurrency=args.concurrency)
    print(f"Shortstack {__version__} worker on {data_dir}", file=sys.stderr)
    try:
        asyncio.run(node.run())
    except QueueUnavailable as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations; with --to, move the SQLite instance into Postgres."""
    from shortstack.server.maintenance import (
        MaintenanceError,
        is_postgres,
        migrate_database,
        move_to,
        redact,
    )

    if args.storage:
        if args.to:
            raise CliError("--to and --storage are separate moves: run one, then the other")
        return _migrate_storage(args)
    try:
        if not args.to:
            url = _config(args).database.url
            data_dir = _data_dir(args)
            applied = migrate_database(data_dir, url)
            where = redact(url) if url else str(data_dir)
            text = (
                f"applied {len(applied)} migrations to {where}: {', '.join(applied)}"
                if applied
                else f"{where}: the schema is up to date, nothing to do"
            )
            _print(args, {"database": where, "applied": applied}, text)
            return 0
        if not is_postgres(args.to):
            raise CliError(f"--to takes a postgresql:// URL, not {args.to!r}")
        data_dir = _existing_data_dir(args)
        result = move_to(data_dir, args.to)
    except MaintenanceError as exc:
        raise CliError(str(exc)) from None
    rows = result["rows"]
    if result["already_done"]:
        text = (
            f"{result['target']} already holds this instance (moved earlier:"
            f" {sum(rows.values())} rows): nothing to do"
        )
    else:
        lines = [f"moved {data_dir} into {result['target']}:"]
        lines += [f"  {table}: {n} rows" for table, n in rows.items() if n]
        lines.append(
            f"  verified: row counts of {len(rows)} tables and {len(result['counters'])}"
            " counters match the snapshot"
        )
        lines.append(
            f'next: set [database] url = "{args.to}" in config.toml and restart;'
            " media stay in the data dir"
        )
        text = "\n".join(lines)
    _print(args, result, text)
    return 0


def _migrate_storage(args: argparse.Namespace) -> int:
    """--storage s3://bucket/prefix: copy the media folder into the bucket, verified."""
    from shortstack.server.config import ConfigError
    from shortstack.server.maintenance import MaintenanceError
    from shortstack.server.storage_move import move_media

    config = _config(args)
    data_dir = _existing_data_dir(args)
    try:
        result = move_media(
            data_dir, args.storage, config.storage, endpoint_url=args.endpoint_url or ""
        )
    except (MaintenanceError, ConfigError) as exc:
        raise CliError(str(exc)) from None
    repaired, failed = result["repaired"], result["failed"]
    copied = result["copied"] + len(repaired)
    if copied == 0 and not failed:
        lines = [
            f"{result['target']} already holds all {result['files']} files of {data_dir}"
            f" ({result['bytes']} bytes, each verified by size and SHA-256): nothing to do"
        ]
    else:
        lines = [
            f"copied {copied} of {result['files']} files ({result['bytes']} bytes in all) from"
            f" {data_dir} into {result['target']} in {result['seconds']} s;"
            f" {result['already_there']} were already there",
            "  verified: each object's size and SHA-256 read back from the bucket",
        ]
        lines += [f"  damaged in the bucket, copied again: {rel}" for rel in repaired]
    lines += [f"  FAILED (the bucket returned other bytes): {rel}" for rel in failed]
    if not failed:
        lines.append("next: put these lines in config.toml and restart (DATA/media can go then):")
        lines += [f"  {line}" for line in result["config"]]
    _print(args, result, "\n".join(lines))
    return 1 if failed else 0


def cmd_admin_add(args: argparse.Namespace) -> int:
    from shortstack.server.maintenance import MaintenanceError, make_admin

    url = _config(args).database.url
    data_dir = _data_dir(args) if url else _existing_data_dir(args)
    try:
        made = make_admin(data_dir, args.handle.lstrip("@"), url)
    except MaintenanceError as exc:
        raise CliError(str(exc)) from None
    if not made:
        raise CliError(f"no user @{args.handle.lstrip('@')}")
    print(f"@{args.handle.lstrip('@')} is now an admin")
    return 0


def cmd_admin_create_user(args: argparse.Namespace) -> int:
    from shortstack.server.maintenance import AccountRefused, MaintenanceError, create_user

    handle = args.handle.lstrip("@")
    password = _read_password(args, f"Password for @{handle}: ")
    try:
        create_user(
            _data_dir(args),
            _config(args),
            handle,
            password,
            display_name=args.display_name,
            is_admin=args.admin,
        )
    except (AccountRefused, MaintenanceError) as exc:
        raise CliError(str(exc)) from None
    print(f"created @{handle}{' (admin)' if args.admin else ''}")
    return 0


def cmd_admin_reports(args: argparse.Namespace) -> int:
    page = _call(args, lambda c: c.admin_reports(limit=args.limit))
    lines = []
    for item in page["items"]:
        content = item["content"] or {}
        what = content.get("caption") or content.get("body") or content.get("display_name") or ""
        lines.append(
            f"{item['target']} {item['target_id']}  {item['reporters']} reporter(s)"
            f"  [{', '.join(item['reasons'])}]  {_line(what[:60])}"
        )
    _print(args, page, "\n".join(lines) or "(no open reports)")
    return 0


def cmd_admin_registration(args: argparse.Namespace) -> int:
    if args.mode is None:
        settings = _call(args, lambda c: c.admin_settings())
    else:
        settings = _call(args, lambda c: c.update_admin_settings(registration=args.mode))
    _print(args, settings, f"registration: {settings['registration']}")
    return 0


def cmd_sensitive(args: argparse.Namespace) -> int:
    result = _call(args, lambda c: c.set_sensitive(args.id, not args.undo))
    _print(args, result, f"{args.id}: {'sensitive' if result['sensitive'] else 'not sensitive'}")
    return 0


def cmd_account_sensitive(args: argparse.Namespace) -> int:
    me = _call(args, lambda c: c.update_me(show_sensitive=args.state == "on"))
    state = "shown without a notice" if me["show_sensitive"] else "behind a notice"
    _print(args, me, f"sensitive media: {state}")
    return 0


def cmd_admin_suspend(args: argparse.Namespace) -> int:
    handle = args.handle.lstrip("@")
    action = "suspend" if args.admin_command == "suspend" else "unsuspend"
    reason = getattr(args, "reason", None)
    result = _call(args, lambda c: c.admin_act("user", handle, action, reason))
    _print(args, result, f"@{handle}: {result['status']}")
    return 0


def cmd_admin_terms(args: argparse.Namespace) -> int:
    from shortstack.server.maintenance import MaintenanceError, edit_blocked_terms

    terms = [t for t in args.terms if t.strip()]
    if args.terms_action != "list" and not terms:
        raise CliError("name at least one term")
    url = _config(args).database.url
    try:
        listed = edit_blocked_terms(
            _data_dir(args) if url else _existing_data_dir(args),
            add=terms if args.terms_action == "add" else [],
            remove=terms if args.terms_action == "remove" else [],
            database_url=url,
        )
    except MaintenanceError as exc:
        raise CliError(str(exc)) from None
    _print(args, {"terms": listed}, "\n".join(_line(t) for t in listed) or "(no blocked terms)")
    return 0


def cmd_admin_invite(args: argparse.Namespace) -> int:
    import datetime as dt

    from shortstack.server.maintenance import MaintenanceError, create_invite

    config = _config(args)
    days = args.days if args.days is not None else config.accounts.invite_days
    if args.uses < 1 or days <= 0:
        raise CliError("--uses must be at least 1 and --days more than 0")
    try:
        invite = create_invite(
            _data_dir(args), uses=args.uses, days=days, database_url=config.database.url
        )
    except MaintenanceError as exc:
        raise CliError(str(exc)) from None
    until = dt.datetime.fromtimestamp(invite["expires_at"], dt.UTC).isoformat(timespec="minutes")
    _print(args, invite, f"{invite['code']}  ({args.uses} use(s), until {until})")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from shortstack.server.maintenance import doctor

    config = _config(args)
    if config.database.url:
        raise CliError(
            "doctor checks a SQLite instance; with [database] url the server's start-up"
            " sweep and hourly purge do its work on Postgres (see docs/scaling.md)"
        )
    keep_days = config.limits.removed_keep_days
    report = doctor(
        _existing_data_dir(args), fix=args.fix, removed_keep_days=keep_days, config=config
    )
    _print(args, report, "\n".join(f"{k}: {v}" for k, v in report.items()))
    storage_ok = not str(report.get("storage", "")).startswith("UNAVAILABLE")
    return 0 if report["integrity"] == "ok" and storage_ok else 1


# --------------------------------------------------------------------------- parser


def _client_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", help=f"server URL (default $SHORTSTACK_SERVER or {DEFAULT_SERVER})")
    p.add_argument("--token", help="bearer token (default $SHORTSTACK_TOKEN or the saved login)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _data_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data dir (default $SHORTSTACK_DATA or the user data dir)")
    p.add_argument(
        "--config", help="config file (default $SHORTSTACK_CONFIG or the user config dir)"
    )


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to bind (default from config: 127.0.0.1)")
    p.add_argument("--port", type=_int_from(1, 65535), help="port (default from config: 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="API processes on this port (default 1; more need [cache] url, see docs/scaling.md)",
    )
    _data_opts(p)


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--videos", type=int, default=40, help="demo clips to generate (default 40)")
    p.add_argument("--data", help="demo data dir (default: a 'demo' folder in the user data dir)")
    p.add_argument(
        "--port",
        type=_int_from(0, 65535),
        default=0,
        help="port for the embedded server (default: a free one)",
    )
    p.add_argument(
        "--no-tui", action="store_true", help="seed and serve only; print the URL and a token"
    )
    _sound_arg(p)


def _tui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", help=f"server URL (default $SHORTSTACK_SERVER or {DEFAULT_SERVER})")
    p.add_argument("--token", help="bearer token (default: the saved login)")
    _sound_arg(p)


def _sound_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-sound",
        "--no-audio",
        dest="no_sound",
        action="store_true",
        help="play videos silent: open no audio device (also SHORTSTACK_NO_SOUND=1,"
        ' or "sound": false in the client\'s settings.json)',
    )


def _login_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("handle")
    p.add_argument("--register", action="store_true", help="create the account first")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _client_opts(p)


def _logout_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--everywhere", action="store_true", help="log every session of this account out"
    )
    _client_opts(p)


def _password_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the current and the new password as two lines of standard input",
    )
    _client_opts(p)


def _account_args(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    help = "delete your account: videos, comments, likes, follows, history (asks the password)"
    delete = actions.add_parser("delete", help=help, description=help)
    delete.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (no confirmation question)",
    )
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _client_opts(delete)
    delete.set_defaults(func=cmd_account_delete)
    help = "download your data: profile, videos and their files, comments, likes, follows, history"
    export = actions.add_parser("export", help=help, description=help)
    export.add_argument("--output", "-o", metavar="FILE", help="zip to write (default: by id)")
    _client_opts(export)
    export.set_defaults(func=cmd_account_export)
    help = "show sensitive media without the notice first (on), or ask each time (off)"
    sensitive = actions.add_parser("sensitive-media", help=help, description=help)
    sensitive.add_argument("state", choices=("on", "off"))
    _client_opts(sensitive)
    sensitive.set_defaults(func=cmd_account_sensitive)


def _sessions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--revoke", metavar="ID", help="log this session out")
    _client_opts(p)


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="words, #tag or @handle")
    _client_opts(p)


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("handle")
    _client_opts(p)


def _sensitive_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="video id")
    p.add_argument("--undo", action="store_true", help="clear the mark")
    _client_opts(p)


def _comments_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="video id")
    p.add_argument("--limit", type=_int_from(1, 50), default=20, metavar="1..50")
    _client_opts(p)


def _captions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="video id")
    p.add_argument("--lang", help="language tag (default: en, else the first there is)")
    _client_opts(p)


def _notifications_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=_int_from(1, 50), default=20, metavar="1..50")
    p.add_argument("--read-all", action="store_true", help="then mark every notification read")
    _client_opts(p)


def _upload_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--caption", default="", help="caption; may hold #hashtags")
    p.add_argument("--wait", action="store_true", help="wait until it is ready (or failed)")
    p.add_argument(
        "--sensitive",
        action="store_true",
        help="mark it sensitive: viewers see a notice before the picture",
    )
    p.add_argument(
        "--captions", metavar="FILE", help="a WebVTT or SRT caption file to send with it"
    )
    p.add_argument(
        "--captions-lang", default="en", metavar="LANG", help="its language tag (default: en)"
    )
    edit = p.add_argument_group("editing (done by the server while transcoding)")
    edit.add_argument("--trim", metavar="A-B", help="keep seconds A to B of the clip, e.g. 1.5-7")
    edit.add_argument("--crop", choices=["9:16", "1:1"], help="crop the centre to this shape")
    from shortstack.media.looks import describe_looks  # the one list of looks (no PyAV)

    edit.add_argument("--filter", metavar="LOOK", help=f"a look: {describe_looks()}")
    edit.add_argument("--speed", type=float, metavar="X", help="play X times faster (0.25..4)")
    edit.add_argument("--text", metavar="T", help="burn this caption text into the picture")
    edit.add_argument(
        "--text-position", choices=["bottom", "center", "top"], default="bottom", help="where"
    )
    edit.add_argument("--mute", action="store_true", help="remove the sound")
    edit.add_argument("--tone", type=float, metavar="HZ", help="replace the sound with a tone")
    edit.add_argument(
        "--stitch",
        nargs="+",
        metavar="FILE",
        default=[],
        help="append these clips (crossfaded, joined on this machine before uploading)",
    )
    edit.add_argument(
        "--crossfade", type=float, metavar="S", help="crossfade seconds with --stitch (0.5)"
    )
    _client_opts(p)


def _feed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["for-you", "following", "trending"], default="for-you")
    p.add_argument("--limit", type=_int_from(1, 50), default=10, metavar="1..50")
    _client_opts(p)


def _like_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--undo", action="store_true", help="remove the like")
    _client_opts(p)


def _relation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("handle")
    p.add_argument("--undo", action="store_true", help="lift it again")
    _client_opts(p)


def _comment_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("text")
    p.add_argument("--reply-to", help="id of the comment to reply to")
    _client_opts(p)


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=("video", "comment", "user"))
    p.add_argument("id", help="video id, comment id or handle")
    p.add_argument(
        "--reason",
        required=True,
        choices=("spam", "harassment", "sexual", "violence", "illegal", "other"),
    )
    p.add_argument("--text", help="details (up to 1000 characters; required with --reason other)")
    _client_opts(p)


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir")
    p.add_argument("--caption", default="", help="caption for every video (default: the file name)")
    _client_opts(p)


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        help="interactions file: `user item [weight] timestamp` per line; rows with a weight"
        " above 0 are positives, weighted by it (all rows when there is no weight column)",
    )
    p.add_argument("--data", help="evaluate on this server data dir's logged interactions")
    p.add_argument("--k", type=int, default=20, help="cut-off for Recall@k / NDCG@k (default 20)")
    p.add_argument(
        "--min-rating",
        type=float,
        default=None,
        help="read the third column as a rating: rows rated >= this are the positives"
        " (e.g. 4 for MovieLens); default: it is a weight",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def _simulate_args(p: argparse.ArgumentParser) -> None:
    from shortstack.simulate import add_arguments

    add_arguments(p)


def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    _data_opts(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def _refit_args(p: argparse.ArgumentParser) -> None:
    _data_opts(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="jobs run at once, each in its own transcode process (default [jobs] concurrency)",
    )
    _data_opts(p)


def _migrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--to",
        metavar="URL",
        help="copy this SQLite instance into the (empty) Postgres database at URL",
    )
    p.add_argument(
        "--storage",
        metavar="S3_URL",
        help="copy the media folder into a bucket (s3://bucket[/prefix]), verified by size and"
        " SHA-256; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    )
    p.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="the S3 endpoint for --storage (default: [storage] endpoint_url, else AWS)",
    )
    _data_opts(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def _doctor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fix",
        action="store_true",
        help="remove orphan files and purge removed content past its appeal time",
    )
    _data_opts(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def _admin_args(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="make a user an admin", description="make a user an admin")
    add.add_argument("handle")
    _data_opts(add)
    add.set_defaults(func=cmd_admin_add)
    create = actions.add_parser(
        "create-user",
        help="create an account (also when registration is closed)",
        description="create an account (also when registration is closed)",
    )
    create.add_argument("handle")
    create.add_argument("--display-name", help="display name (default: the handle)")
    create.add_argument("--admin", action="store_true", help="make the account an admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _data_opts(create)
    create.set_defaults(func=cmd_admin_create_user)
    invite = actions.add_parser(
        "invite",
        help='create an invite code (for registration = "invite")',
        description='create an invite code (for registration = "invite")',
    )
    invite.add_argument("--uses", type=int, default=1, help="accounts it may create (default 1)")
    invite.add_argument("--days", type=float, help="days it is valid (default from config)")
    _data_opts(invite)
    invite.add_argument("--json", action="store_true", help="print JSON")
    invite.set_defaults(func=cmd_admin_invite)
    reports = actions.add_parser(
        "reports",
        help="open reports, grouped by target (over HTTP, admin token)",
        description="open reports, grouped by target, newest first (over HTTP, admin token)",
    )
    reports.add_argument("--limit", type=_int_from(1, 200), default=50, metavar="1..200")
    _client_opts(reports)
    reports.set_defaults(func=cmd_admin_reports)
    suspend = actions.add_parser(
        "suspend",
        help="suspend an account: no login, tokens revoked, content hidden (over HTTP)",
        description="suspend an account: no login, tokens revoked, content hidden (over HTTP)",
    )
    suspend.add_argument("handle")
    suspend.add_argument("--reason", required=True, help="why (shown to the user at login)")
    _client_opts(suspend)
    suspend.set_defaults(func=cmd_admin_suspend)
    unsuspend = actions.add_parser(
        "unsuspend", help="lift a suspension (over HTTP)", description="lift a suspension"
    )
    unsuspend.add_argument("handle")
    unsuspend.add_argument("--reason", help="why (for the audit log)")
    _client_opts(unsuspend)
    unsuspend.set_defaults(func=cmd_admin_suspend)
    help = "show or change who may register: open, invite (codes) or closed (over HTTP)"
    registration = actions.add_parser("registration", help=help, description=help)
    registration.add_argument("mode", nargs="?", choices=("open", "invite", "closed"))
    _client_opts(registration)
    registration.set_defaults(func=cmd_admin_registration)
    terms = actions.add_parser(
        "terms",
        help="list, add or remove blocked terms (offline, on the data dir)",
        description="blocked terms: case-insensitive substrings refused in captions, comments"
        " and display names",
    )
    terms.add_argument("terms_action", choices=("list", "add", "remove"))
    terms.add_argument("terms", nargs="*", help="the terms (for add and remove)")
    _data_opts(terms)
    terms.add_argument("--json", action="store_true", help="print JSON")
    terms.set_defaults(func=cmd_admin_terms)


Arguments = Callable[[argparse.ArgumentParser], None]

# (name, handler, help, arguments) in the order `shortstack --help` lists them
COMMANDS: tuple[tuple[str, Callable[[argparse.Namespace], int] | None, str, Arguments], ...] = (
    ("serve", cmd_serve, "run the server and its transcode workers in one process", _serve_args),
    (
        "demo",
        cmd_demo,
        "embedded server + generated demo clips and users, then the terminal client",
        _demo_args,
    ),
    ("tui", cmd_tui, "the terminal client against a running server", _tui_args),
    (
        "login",
        cmd_login,
        "log in (or --register) and save the token for the other commands",
        _login_args,
    ),
    ("logout", cmd_logout, "log out (--everywhere: every session of the account)", _logout_args),
    (
        "password",
        cmd_password,
        "change your password (your other sessions are logged out)",
        _password_args,
    ),
    ("sessions", cmd_sessions, "list your logged-in sessions, or --revoke one", _sessions_args),
    ("account", None, "your account: export your data, delete it", _account_args),
    ("upload", cmd_upload, "upload a video file", _upload_args),
    ("feed", cmd_feed, "print a feed page", _feed_args),
    ("like", cmd_like, "like a video", _like_args),
    ("comment", cmd_comment, "comment on a video", _comment_args),
    (
        "block",
        cmd_relation("block"),
        "block an account: neither of you sees the other; follows end (--undo: unblock)",
        _relation_args,
    ),
    (
        "mute",
        cmd_relation("mute"),
        "mute an account: its videos and comments leave your feeds (--undo: unmute)",
        _relation_args,
    ),
    (
        "sensitive",
        cmd_sensitive,
        "mark your video sensitive: a notice before the picture (--undo: clear; admins: any)",
        _sensitive_args,
    ),
    ("comments", cmd_comments, "print a video's comments", _comments_args),
    ("captions", cmd_captions, "print a video's captions", _captions_args),
    ("report", cmd_report, "report a video, comment or user to the admins", _report_args),
    ("search", cmd_search, "search videos, users and hashtags", _search_args),
    ("profile", cmd_profile, "print a user's profile", _profile_args),
    ("notifications", cmd_notifications, "print your notifications", _notifications_args),
    (
        "import",
        cmd_import,
        "upload every video in a folder (skips duplicates by content hash)",
        _import_args,
    ),
    (
        "eval",
        cmd_eval,
        "offline recommender evaluation: ours vs popularity vs item-kNN",
        _eval_args,
    ),
    (
        "simulate",
        cmd_simulate,
        "feed lab: synthetic users scroll the real feed; metrics, PNG and terminal plots",
        _simulate_args,
    ),
    (
        "backup",
        cmd_backup,
        "online, consistent backup of the database (+ media manifest)",
        _backup_args,
    ),
    (
        "refit",
        cmd_refit,
        "fit the recommender and publish it as the current model (for feed.refit = external)",
        _refit_args,
    ),
    (
        "worker",
        cmd_worker,
        'run transcode jobs from the queue ([jobs] engine = "saq"); see docs/scaling.md',
        _worker_args,
    ),
    (
        "migrate",
        cmd_migrate,
        "apply schema migrations; --to postgresql://... moves the instance into Postgres;"
        " --storage s3://bucket copies its media into a bucket",
        _migrate_args,
    ),
    (
        "doctor",
        cmd_doctor,
        "check the database and media folder; --fix removes orphans and temp files",
        _doctor_args,
    ),
    ("admin", None, "administration", _admin_args),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shortstack", description="Shortstack: self-hosted short videos."
    )
    parser.add_argument("--version", action="version", version=f"shortstack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, handler, help, arguments in COMMANDS:
        p = sub.add_parser(name, help=help, description=help)
        if handler is not None:
            p.set_defaults(func=handler)
        arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        from shortstack.tui.plain_text import clean

        # one line, and server details (which may quote user text) made inert
        print(f"shortstack {args.command}: error: {clean(exc, single_line=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
