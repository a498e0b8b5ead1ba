"""Run a transcode in a child process with a hard timeout, relaying its progress.

FFmpeg can hang a process at close (frame-threaded decoding stopped early) and a hostile file
can make a decoder spin or eat memory, so a server should never transcode in its own process.
``transcode_isolated`` runs ``transcode`` in a child made by a fork server (a clean,
single-threaded process that imported the media library once, so each child starts in
milliseconds and inherits none of the server's threads or sockets), kills it at the deadline
and removes whatever temporary files it left behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .errors import InvalidMedia, MediaError, TranscodeError
from .probe import ProbeResult
from .transcode import Rendition, transcode


def default_context() -> multiprocessing.context.BaseContext:
    """A fork-server context that preloads the media library (spawn where forking is absent)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["shortstack.media.transcode"])
        return ctx
    return multiprocessing.get_context("spawn")


def _child(conn: Connection, args: tuple, kwargs: dict) -> None:
    def report(fraction: float) -> None:
        conn.send(("progress", fraction))

    try:
        conn.send(("done", transcode(*args, progress=report, **kwargs)))
    except InvalidMedia as exc:
        conn.send(("invalid", str(exc)))
    except MediaError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # anything else still ends as a clear TranscodeError upstairs
        conn.send(("error", f"Transcoding failed: {exc!r}"))
    finally:
        conn.close()


def _temp_files(out_dir: Path) -> set[Path]:
    return set(out_dir.glob(".*.part.mp4")) if out_dir.is_dir() else set()


def transcode_isolated(
    src: Path,
    out_dir: Path,
    short_sides: Sequence[int] = (360, 240),
    *,
    progress: Callable[[float], None] | None = None,
    timeout_s: float = 600.0,
    info: ProbeResult | None = None,
    mp_context: multiprocessing.context.BaseContext | None = None,
    **options: Any,
) -> list[Rendition]:
    """``transcode(src, out_dir, short_sides, ...)`` in a child process, killed after ``timeout_s``.

    Blocking: call it from a worker thread. ``progress`` is called in the calling thread.
    ``options`` are passed on (preset, crf, audio_bitrate). Raises what ``transcode`` raises,
    and TranscodeError when the child times out or dies.
    """
    src, out_dir = Path(src), Path(out_dir)
    ctx = mp_context or default_context()
    before = _temp_files(out_dir)
    receiver, sender = ctx.Pipe(duplex=False)
    kwargs = dict(options, info=info)
    proc = ctx.Process(
        target=_child,
        args=(sender, (src, out_dir, tuple(short_sides)), kwargs),
        daemon=True,
        name="shortstack-transcode",
    )
    proc.start()
    sender.close()
    deadline = time.monotonic() + timeout_s
    finished = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TranscodeError(
                    f"Transcoding took longer than {timeout_s:g} s and was stopped."
                )
            if not receiver.poll(min(remaining, 0.5)):
                if not proc.is_alive() and not receiver.poll(0):
                    raise TranscodeError(
                        f"The transcoder stopped unexpectedly (exit {proc.exitcode})."
                    )
                continue
            try:
                kind, payload = receiver.recv()
            except EOFError as exc:
                proc.join(1.0)
                raise TranscodeError(
                    f"The transcoder stopped unexpectedly (exit {proc.exitcode})."
                ) from exc
            if kind == "progress":
                if progress is not None:
                    progress(payload)
            elif kind == "done":
                finished = True
                return payload
            elif kind == "invalid":
                finished = True
                raise InvalidMedia(payload)
            else:
                finished = True
                raise TranscodeError(payload)
    finally:
        proc.join(2.0 if finished else 0)
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
        receiver.close()
        for leftover in _temp_files(out_dir) - before:
            with contextlib.suppress(OSError):
                os.unlink(leftover)
