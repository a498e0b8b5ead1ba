"""Run a transcode, a probe or a preview in a child process with a hard timeout, relaying progress.

FFmpeg can hang a process at close (frame-threaded decoding stopped early) and a hostile file
can make a demuxer or decoder spin or eat memory, so a server should never read uploads in its
own process. ``transcode_isolated``, ``probe_isolated`` and ``preview_isolated`` run in a
child made by a fork server (a clean, single-threaded process that imported the media library
once, so each child starts in milliseconds and inherits none of the server's threads or
sockets), kill it at the deadline and remove whatever temporary files it left behind. The child also sets an alarm
of its own, so it ends even when the process that waits for it is gone.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidMedia, MediaError, TranscodeError
from .probe import ProbeResult, probe
from .transcode import Rendition, transcode

if TYPE_CHECKING:
    from .edit import EditRecipe


def default_context() -> multiprocessing.context.BaseContext:
    """A fork-server context that preloads the media library (spawn where forking is absent)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["shortstack.media.isolation"])
        return ctx
    return multiprocessing.get_context("spawn")


def _child(conn: Connection, target: str, args: tuple, kwargs: dict, timeout_s: float) -> None:
    if hasattr(signal, "alarm"):  # SIGALRM ends the process if nobody kills it
        signal.alarm(math.ceil(timeout_s) + 5)

    def report(fraction: float) -> None:
        conn.send(("progress", fraction))

    try:
        if target == "transcode":
            result: Any = transcode(*args, progress=report, **kwargs)
        elif target == "probe":
            result = probe(*args, **kwargs)
        else:
            from .edit import preview_still

            result = preview_still(*args, **kwargs)
        conn.send(("done", result))
    except InvalidMedia as exc:
        conn.send(("invalid", str(exc)))
    except MediaError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # anything else still ends as a clear MediaError upstairs
        what = {"transcode": "Transcoding", "probe": "Reading the file"}.get(target, "The preview")
        conn.send(("error", f"{what} failed: {exc!r}"))
    finally:
        conn.close()


def _run(
    target: str,
    args: tuple,
    kwargs: dict,
    *,
    timeout_s: float,
    ctx: multiprocessing.context.BaseContext,
    failure: Callable[[str], MediaError],
    progress: Callable[[float], None] | None = None,
) -> Any:
    """Run ``target`` in a child, relay its progress, kill it at the deadline.

    ``failure(message)`` makes the error for a child that timed out, died or raised something
    other than InvalidMedia (which is raised as it is).
    """
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child,
        args=(sender, target, args, kwargs, timeout_s),
        daemon=True,
        name=f"shortstack-{target}",
    )
    proc.start()
    sender.close()
    deadline = time.monotonic() + timeout_s
    finished = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise failure(f"took longer than {timeout_s:g} s and was stopped")
            if not receiver.poll(min(remaining, 0.5)):
                if not proc.is_alive() and not receiver.poll(0):
                    raise failure(f"stopped unexpectedly (exit {proc.exitcode})")
                continue
            try:
                kind, payload = receiver.recv()
            except EOFError as exc:
                proc.join(1.0)
                raise failure(f"stopped unexpectedly (exit {proc.exitcode})") from exc
            if kind == "progress":
                if progress is not None:
                    progress(payload)
                continue
            finished = True
            if kind == "done":
                return payload
            if kind == "invalid":
                raise InvalidMedia(payload)
            raise failure(payload)
    finally:
        proc.join(2.0 if finished else 0)
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
        receiver.close()


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
    before = _temp_files(out_dir)

    def failure(message: str) -> MediaError:
        if message.startswith("took"):
            return TranscodeError(f"Transcoding {message}.")
        if message.startswith("stopped"):
            return TranscodeError(f"The transcoder {message}.")
        return TranscodeError(message)

    try:
        return _run(
            "transcode",
            (src, out_dir, tuple(short_sides)),
            dict(options, info=info),
            timeout_s=timeout_s,
            ctx=mp_context or default_context(),
            failure=failure,
            progress=progress,
        )
    finally:
        for leftover in _temp_files(out_dir) - before:
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def probe_isolated(
    path: Path,
    *,
    timeout_s: float = 30.0,
    mp_context: multiprocessing.context.BaseContext | None = None,
    **limits: Any,
) -> ProbeResult:
    """``probe(path, **limits)`` in a child process, killed after ``timeout_s``.

    A file made to hang or crash a demuxer or decoder costs the server a child, not a thread.
    Raises InvalidMedia for every refusal, a time-out and a crashed reader included.
    """

    def failure(message: str) -> MediaError:
        if message.startswith("took"):
            return InvalidMedia(f"Reading the file {message}; it may be damaged.")
        if message.startswith("stopped"):
            return InvalidMedia("The file could not be read (the reader stopped unexpectedly).")
        return InvalidMedia(message)

    return _run(
        "probe",
        (Path(path),),
        limits,
        timeout_s=timeout_s,
        ctx=mp_context or default_context(),
        failure=failure,
    )


def preview_isolated(
    src: Path,
    recipe: EditRecipe,
    dest: Path,
    *,
    max_width: int = 360,
    timeout_s: float = 30.0,
    mp_context: multiprocessing.context.BaseContext | None = None,
) -> Path:
    """``edit.preview_still(src, recipe, dest)`` in a child process, killed after ``timeout_s``.

    Raises InvalidMedia when the file cannot be read and TranscodeError when the child times
    out or dies; a half-written ``dest`` is removed.
    """

    def failure(message: str) -> MediaError:
        if message.startswith(("took", "stopped")):
            return TranscodeError(f"Making the preview {message}.")
        return TranscodeError(message)

    try:
        return _run(
            "preview",
            (Path(src), recipe, Path(dest)),
            {"max_width": max_width},
            timeout_s=timeout_s,
            ctx=mp_context or default_context(),
            failure=failure,
        )
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise
