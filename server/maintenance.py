"""Upkeep that needs rows and media files together: backup, doctor, the orphan sweep, admins,
account deletion."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from pathlib import Path

from litestar.exceptions import HTTPException

from shortstack.media.files import atomic_path, write_atomic

from .config import Config
from .object_storage import S3Storage, StorageUnavailable, explain
from .passwords import WeakPassword, check_password
from .storage import STORAGE_ERRORS, LocalStorage, open_storage
from .store.admin import (
    HandleTaken,
    count_videos_sync,
    create_invite_sync,
    create_user_sync,
    inspect_sync,
    make_admin_sync,
)
from .store.admin import prepare as prepare_database
from .store.backup import copy_database, rendition_rows, server_major_version
from .store.comments import delete_comment
from .store.db import Database, secure_database_file
from .store.dialect import DatabaseUnreachable, connect_pg, redact
from .store.dialect import is_postgres as is_postgres  # for the shell (never imports store/)
from .store.errors import NotFound
from .store.ids import now
from .store.migrations import migrate, migrate_postgres
from .store.moderation import edit_terms_sync, removed_before
from .store.transfer import MoveRefused, move_to_postgres, postgres_row_counts
from .store.users import delete_user, hash_password
from .store.videos import all_video_ids, delete_video

log = logging.getLogger(__name__)

DB_NAME = "shortstack.db"


class MaintenanceError(RuntimeError):
    """An offline command cannot do its work; the message is one line saying why."""


def database_path(data_dir: Path) -> Path:
    """The data dir's SQLite file (it may not exist yet)."""
    return Path(data_dir) / DB_NAME


def has_database(data_dir: Path) -> bool:
    return database_path(data_dir).exists()


def has_videos(data_dir: Path) -> bool:
    """True when the data dir's database holds at least one video."""
    return has_database(data_dir) and bool(count_videos_sync(database_path(data_dir)))


def database_location(data_dir: Path, database_url: str = "") -> Path | str:
    """Where an offline command finds the instance's database: Postgres at database_url
    (``[database] url``) when set, else the data dir's SQLite file."""
    return database_url or database_path(data_dir)


def make_admin(data_dir: Path, handle: str, database_url: str = "") -> bool:
    """Grant @handle admin rights; False when there is no such user."""
    try:
        return make_admin_sync(database_location(data_dir, database_url), handle)
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None


class AccountRefused(ValueError):
    """create_user: the handle, name or password breaks a rule, or the handle is taken."""


def create_user(
    data_dir: Path,
    config: Config,
    handle: str,
    password: str,
    *,
    display_name: str | None = None,
    is_admin: bool = False,
) -> None:
    """Create an account offline (`shortstack admin create-user`), under the server's rules."""
    import re

    from .text_rules import HANDLE_PATTERN
    from .text_rules import display_name as checked_name

    if not re.match(HANDLE_PATTERN, handle):
        raise AccountRefused(f"handle: {handle!r} is not 3-30 of a-z, 0-9, _")
    try:
        name = checked_name(display_name) if display_name is not None else None
    except HTTPException as exc:  # the 422 the API answers, naming the rule
        raise AccountRefused(exc.detail) from None
    try:
        check_password(
            password,
            handle=handle,
            display_name=name,
            min_length=config.accounts.password_min_length,
        )
    except WeakPassword as exc:
        raise AccountRefused(f"password: {exc}") from None
    try:
        create_user_sync(
            database_location(data_dir, config.database.url),
            handle,
            hash_password(password),
            name,
            is_admin=is_admin,
        )
    except HandleTaken as exc:
        raise AccountRefused(str(exc)) from None
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None


def create_invite(
    data_dir: Path, *, uses: int, days: float, database_url: str = ""
) -> dict[str, object]:
    """A new invite code for `registration = "invite"` (shown once)."""
    try:
        code, expires_at = create_invite_sync(
            database_location(data_dir, database_url), uses=uses, expires_in_s=days * 86400
        )
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None
    return {"code": code, "uses": uses, "expires_at": expires_at}


async def delete_account(db: Database, storage: LocalStorage, user_id: int) -> list[str]:
    """Delete a user's rows (one transaction, counters fixed), then their videos' media
    folders (source, renditions, poster, HLS); returns those video ids. A folder a transcode
    still writes into after this is an orphan the start-up sweep removes."""
    video_ids = await delete_user(db, user_id)

    def remove_files() -> None:
        for video_id in video_ids:
            storage.delete_video(video_id)

    await asyncio.to_thread(remove_files)
    return video_ids


async def sweep_orphans(db: Database, storage: LocalStorage) -> dict[str, int]:
    """Remove media folders no video row owns and stale temp files (the server's start-up;
    a bucket's orphan prefixes are left to ``shortstack doctor --fix``: listing a whole
    bucket at every start is too slow)."""
    return await asyncio.to_thread(storage.startup_sweep, await all_video_ids(db))


def edit_blocked_terms(
    data_dir: Path, *, add: list[str], remove: list[str], database_url: str = ""
) -> list[str]:
    """Add and remove blocked terms in the instance's database; the list afterwards."""
    location = database_location(data_dir, database_url)
    try:
        prepare_database(location)
        return edit_terms_sync(location, add=add, remove=remove)
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None


async def purge_removed(db: Database, storage: LocalStorage, keep_days: float) -> dict[str, int]:
    """Delete, rows and files, the videos and comments a moderator removed more than keep_days
    ago (their time for an appeal is over; the server's start-up)."""
    videos, comments = await removed_before(db, now() - keep_days * 86400)
    for video_id in videos:
        await delete_video(db, video_id)
        await asyncio.to_thread(storage.delete_video, video_id)
    purged_comments = 0
    for comment_id in comments:
        try:
            await delete_comment(db, comment_id)
            purged_comments += 1
        except NotFound:  # went with its video or a removed parent
            pass
    return {"videos": len(videos), "comments": purged_comments}


async def purge_loop(
    db: Database, storage: LocalStorage, keep_days: float, every_s: float = 3600.0
) -> None:
    """Purge removed content past its appeal time every ``every_s`` while the server runs
    (the start-up sweep alone would keep it for as long as the server stays up)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            purged = await purge_removed(db, storage, keep_days)
        except Exception:  # noqa: BLE001 - a failed sweep is retried at the next interval
            log.exception("the purge of removed content failed")
            continue
        if any(purged.values()):
            log.info("purged removed content past its appeal time: %s", purged)


async def _purge_offline(data_dir: Path, keep_days: float, config: Config) -> dict[str, int]:
    db = Database(database_path(data_dir), readers=1)
    await db.open()
    try:
        return await purge_removed(db, open_storage(config, data_dir), keep_days)
    finally:
        await db.close()


def doctor(
    data_dir: Path,
    *,
    fix: bool,
    removed_keep_days: float = 30.0,
    config: Config | None = None,
) -> dict[str, object]:
    """Integrity check, counter check, orphan media folders and stale temp files (with media
    in a bucket: whether it answers, its orphan prefixes and unfinished multipart uploads);
    ``fix`` also purges removed content past its appeal time (``limits.removed_keep_days``)."""
    config = config or Config()
    facts = inspect_sync(database_path(data_dir))
    storage = open_storage(config, data_dir)
    report: dict[str, object] = {
        "integrity": facts.integrity,
        "videos": len(facts.video_ids),
        "counter_mismatches": facts.counter_mismatches,
        "pending_jobs": facts.pending_jobs,
    }
    if isinstance(storage, S3Storage):
        where = f"s3://{storage.bucket}/{storage.prefix}"
        try:
            storage.check()
            orphans = storage.orphans(facts.video_ids, grace_s=0)
            uploads = list(storage.multipart_uploads(storage.prefix))
        except (StorageUnavailable, *STORAGE_ERRORS) as exc:
            report["storage"] = f"UNAVAILABLE {where}: {explain(exc, storage.bucket)}"
            return report
        report["storage"] = f"{where}: reachable"
        report["orphan_media_folders"] = len(orphans)
        report["unfinished_multipart_uploads"] = len(uploads)
    else:
        orphans = [v for v in storage.video_ids_on_disk() if v not in facts.video_ids]
        report["orphan_media_folders"] = len(orphans)
    report["temp_files"] = len(list(storage.tmp.iterdir())) if storage.tmp.exists() else 0
    if fix:
        report["purged_removed"] = asyncio.run(_purge_offline(data_dir, removed_keep_days, config))
        with storage.alone() as alone:
            if alone:  # a bucket: orphans and uploads younger than an hour may be in flight
                report["removed"] = storage.sweep(inspect_sync(database_path(data_dir)).video_ids)
            else:  # its uploads in flight and half-written outputs look just like leftovers
                report["removed"] = "skipped: a server is using this data dir; stop it to sweep"
    return report


def _file_entry(path: Path, data_dir: Path, size: int | None = None) -> dict[str, object]:
    """A manifest line: the path under data_dir, its size (the row's, else the file's), present."""
    return {
        "path": str(path.relative_to(data_dir)),
        "bytes": path.stat().st_size if size is None else size,
        "present": path.exists(),
    }


def migrate_database(data_dir: Path, database_url: str = "") -> list[str]:
    """Apply pending migrations to the instance's database (its SQLite file, or Postgres at
    database_url); the names applied."""
    if database_url:
        try:
            return migrate_postgres(database_url)
        except DatabaseUnreachable as exc:
            raise MaintenanceError(str(exc)) from None
    path = database_path(data_dir)
    secure_database_file(path)
    return migrate(str(path))


def move_to(data_dir: Path, url: str) -> dict[str, object]:
    """Copy the instance's SQLite database into the Postgres database at url (see
    store/transfer.py); media stay in the data dir. A second run reports the first."""
    try:
        report = move_to_postgres(database_path(data_dir), url)
    except (DatabaseUnreachable, MoveRefused) as exc:
        raise MaintenanceError(str(exc)) from None
    return report.as_dict()


def database_counts(url: str) -> dict[str, int]:
    """Rows per table of a Postgres database."""
    try:
        return postgres_row_counts(url)
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None


def pg_dump_candidates() -> list[str]:
    """pg_dump programs found: the one on PATH, then the one pgserver ships (tests, hosts
    without the client tools)."""
    import shutil

    found = [p for p in (shutil.which("pg_dump"),) if p]
    try:
        import pgserver
    except ImportError:
        return found
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    return [*found, str(bundled)] if bundled.exists() else found


def _major(version_text: str) -> int:
    """15 from "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"."""
    match = re.search(r"\(PostgreSQL\)\s*(\d+)", version_text)
    return int(match.group(1)) if match else 0


def pg_dump_path(server_major: int = 0) -> str | None:
    """The first pg_dump at least as new as the server (pg_dump refuses older), or None."""
    import subprocess

    for candidate in pg_dump_candidates():
        try:
            out = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, check=False
            ).stdout
        except OSError:
            continue
        if _major(out) >= server_major:
            return candidate
    return None


def _dump_postgres(url: str, target: Path) -> list[tuple[str, str | None, int | None]]:
    import subprocess

    try:
        conn = connect_pg(url)
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None
    try:
        server_major = server_major_version(conn)
    finally:
        conn.close()
    pg_dump = pg_dump_path(server_major)
    if pg_dump is None:
        raise MaintenanceError(
            f"backing up Postgres {server_major} needs pg_dump {server_major} or newer: install"
            " the Postgres client tools (apt-get install postgresql-client) or pip install pgserver"
        )
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={url}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        why = " ".join(done.stderr.split())[:300] or f"exit status {done.returncode}"
        raise MaintenanceError(f"pg_dump of {redact(url)} failed: {why}")
    try:
        conn = connect_pg(url)
    except DatabaseUnreachable as exc:
        raise MaintenanceError(str(exc)) from None
    try:
        return rendition_rows(conn)
    finally:
        conn.close()


def _bucket_manifest(
    storage: S3Storage, rows: list[tuple[str, str | None, int | None]]
) -> dict[str, list[dict[str, object]]]:
    """The media manifest of a bucket: each video's renditions (present or not), poster and
    source, as object keys with their sizes (one listing per video)."""
    names: dict[str, list[str]] = {}
    for video_id, name, _size in rows:
        names.setdefault(video_id, [])
        if name is not None:
            names[video_id].append(f"{name}.mp4")
    files: dict[str, list[dict[str, object]]] = {}
    for video_id, renditions in names.items():
        listed = {o["Key"]: o["Size"] for o in storage.list_objects(storage.video_prefix(video_id))}
        entry = files[video_id] = []
        for name in [*renditions, "poster.jpg", "source"]:
            key = storage.key(video_id, name)
            if key in listed or name in renditions:
                entry.append({"key": key, "bytes": listed.get(key, 0), "present": key in listed})
    return files


def backup(
    data_dir: Path, dest: Path, database_url: str = "", *, config: Config | None = None
) -> dict[str, object]:
    """Copy the live database to dest (safe while the server writes) and list its media files:
    the SQLite file through its backup API, or Postgres (database_url) with pg_dump's custom
    format (restore with pg_restore).

    Both the copy and its manifest are written whole or not at all (media/files.py)."""
    dest = dest.resolve()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MaintenanceError(f"cannot make the folder {dest.parent}: {exc.strerror}") from None
    with atomic_path(dest) as tmp:
        try:  # the folder takes a new file (sqlite would only say "unable to open database")
            tmp.touch()
        except OSError as exc:
            raise MaintenanceError(
                f"cannot write the backup into {dest.parent}: {exc.strerror}"
            ) from None
        if database_url:
            rows = _dump_postgres(database_url, tmp)
        else:
            rows = copy_database(database_path(data_dir), tmp)
        os.chmod(tmp, 0o600)  # a backup holds password hashes and tokens too
    storage = open_storage(config or Config(), data_dir)
    files: dict[str, list[dict[str, object]]] = {}
    if isinstance(storage, S3Storage):  # the bucket's objects: key, size (listed), present
        try:
            files = _bucket_manifest(storage, rows)
        except STORAGE_ERRORS as exc:
            raise MaintenanceError(explain(exc, storage.bucket)) from None
        where = {"bucket": storage.bucket, "prefix": storage.prefix}
    else:
        for video_id, name, size in rows:
            entry = files.setdefault(video_id, [])
            if name is not None:
                entry.append(_file_entry(storage.rendition_path(video_id, name), data_dir, size))
        for video_id, entry in files.items():  # the poster and the original upload too
            for path in (storage.poster_path(video_id), storage.source_path(video_id)):
                if path.exists():
                    entry.append(_file_entry(path, data_dir))
        where = {"data_dir": str(data_dir)}
    manifest = dest.with_name(dest.name + ".manifest.json")
    body = {"created_at": now(), **where, "videos": files}
    write_atomic(manifest, json.dumps(body, indent=1).encode(), mode=0o600)
    return {"file": str(dest), "manifest": str(manifest), "videos": len(files)}


def refit_model(data_dir: Path, config: Config) -> dict[str, object]:
    """``shortstack refit``: fit the recommender on the database, store it as the current model
    artifact (DATA/models/) and, with a cache, tell every API process to swap to it."""
    from .feed_engine import dump_snapshot, fit_snapshot

    started = time.perf_counter()
    snap = fit_snapshot(database_location(data_dir, config.database.url), config)
    blob = dump_snapshot(snap)
    open_storage(config, data_dir).put_model(snap.model_version, blob)
    report: dict[str, object] = {
        "version": snap.model_version,
        "videos": len(snap.item_ids),
        "users": len(snap.user_index),
        "bytes": len(blob),
        "seconds": round(time.perf_counter() - started, 2),
        "announced_to": None,
    }
    if config.cache.url:
        from .shared import announce_model

        try:
            report["announced_to"] = asyncio.run(
                announce_model(config.cache.url, snap.model_version)
            )
        except Exception as exc:  # noqa: BLE001 - the processes still find it by polling
            report["announce_error"] = f"{exc}; API processes load it within feed.model_poll_s"
    return report
