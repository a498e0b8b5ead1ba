"""The child-process side of a transcode: probe, ladder, poster and features for one upload.

Runs in its own process so a hung or crashing decoder can be killed without touching the server."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import traceback
from pathlib import Path
from typing import Any


def process_upload(src: str, out_dir: str, settings: dict[str, Any], send: Any) -> dict[str, Any]:
    """Transcode src into out_dir; send(("progress", p)) as it goes; return the result dict."""
    import numpy as np

    from shortstack.media.edit import output_info, parse_recipe
    from shortstack.media.poster import make_poster, visual_features
    from shortstack.media.probe import probe
    from shortstack.media.transcode import transcode

    out = Path(out_dir)
    info = probe(
        Path(src),
        max_dimension=settings["max_dimension"],
        max_duration_s=settings["max_duration_s"],
    )
    edit = parse_recipe(settings["edit"]) if settings.get("edit") else None
    renditions = transcode(
        Path(src),
        out,
        settings["renditions"],
        progress=lambda p: send(("progress", round(0.02 + 0.9 * float(p), 4))),
        preset=settings["preset"],
        crf=settings["crf"],
        audio_bitrate=settings["audio_bitrate"],
        info=info,
        edit=edit,
    )
    # poster and features from the largest rendition: already rotated (and edited), cheaper to decode
    looks = max(renditions, key=lambda r: r.width * r.height).path if renditions else Path(src)
    if edit is not None:  # metadata of the edited video
        info = output_info(edit, info)
    poster = make_poster(looks, out / "poster.jpg")
    send(("progress", 0.96))
    features = np.asarray(visual_features(looks), dtype=np.float32).tobytes()
    return {
        "info": dataclasses.asdict(info),
        "renditions": [
            {
                "name": r.name,
                "width": r.width,
                "height": r.height,
                "bytes": r.bytes,
                "duration_s": r.duration_s,
            }
            for r in renditions
        ],
        "duration_s": renditions[0].duration_s if renditions else info.duration_s,
        "poster": poster.name,
        "features": features,
    }


def die_with_parent() -> None:
    """Linux: ask the kernel to kill this worker process when the server dies (even by SIGKILL)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        parent = mp.parent_process()
        if parent is not None and os.getppid() != parent.pid:
            os._exit(0)  # the server died while this worker was starting: nobody will send work
    except (OSError, AttributeError):
        pass


def child_main(inbox: mp.Queue, outbox: mp.Queue) -> None:
    """Loop: take (job_id, src, out_dir, settings), answer progress events then done/error."""
    from shortstack.media.errors import MediaError

    die_with_parent()
    # import the media stack now, while the worker idles, not when the first upload waits
    import shortstack.media.edit  # noqa: F401
    import shortstack.media.poster  # noqa: F401
    import shortstack.media.transcode  # noqa: F401

    while True:
        task = inbox.get()
        if task is None:
            return
        job_id, src, out_dir, settings = task

        def send(msg: tuple, job_id: int = job_id) -> None:
            outbox.put((job_id, *msg))

        try:
            result = process_upload(src, out_dir, settings, send)
        except MediaError as exc:
            outbox.put((job_id, "error", str(exc) or type(exc).__name__, False))
        except Exception as exc:  # report, keep the worker alive
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            outbox.put((job_id, "error", f"transcode failed: {detail}", True))
        else:
            outbox.put((job_id, "done", result))
