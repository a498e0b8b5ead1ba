"""A still preview of an edit recipe: one frame of a clip with its crop, look and text (JPEG)."""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import av
import av.filter

from .edit import EditRecipe, crop_size, even
from .edit_graph import EditSession, chain
from .errors import InvalidMedia, MediaError
from .files import write_atomic
from .poster import _encode_jpeg
from .probe import open_video, rotation_filters


def preview_still(
    src: Path, recipe: EditRecipe, dest: Path, *, max_width: int = 360, at_s: float | None = None
) -> Path:
    """Write a JPEG of one frame of ``src`` with the recipe's crop, look and text applied.

    The frame is taken ``at_s`` seconds into the source (default: a third into the trimmed
    part). Returns ``dest``; raises InvalidMedia for unreadable input.
    """
    src, dest = Path(src), Path(dest)
    with open_video(src) as (container, stream):
        tb = stream.time_base or Fraction(1, 90_000)
        if at_s is None:
            total = float(stream.duration * tb) if stream.duration else None
            if total is None and container.duration:
                total = container.duration / 1_000_000
            end = recipe.trim_end if recipe.trim_end is not None else (total or recipe.trim_start)
            at_s = recipe.trim_start + max(0.0, end - recipe.trim_start) / 3
        start = stream.start_time or 0
        want = start + int(at_s / tb)
        chosen = None
        with contextlib.suppress(av.error.FFmpegError):
            if at_s > 0:
                container.seek(want, stream=stream, backward=True)
            for frame in container.decode(stream):
                chosen = frame
                if frame.pts is None or frame.pts >= want:
                    break
        if chosen is None:
            with contextlib.suppress(av.error.FFmpegError):
                container.seek(0)
                chosen = next(container.decode(stream), None)
        if chosen is None:
            raise InvalidMedia("No video frame could be decoded; the file is damaged.")
        rotation = int(round((chosen.rotation or 0) / 90.0)) * 90 % 360
        width, height = chosen.width, chosen.height
        if rotation in (90, 270):
            width, height = height, width
        session = EditSession(recipe)
        graph = av.filter.Graph()
        buf = graph.add_buffer(
            width=chosen.width, height=chosen.height, format=chosen.format.name, time_base=tb
        )
        node = chain(graph, buf, rotation_filters(rotation))
        node = session.attach(graph, node, width, height)
        cw, ch = crop_size(recipe, width, height)
        if cw > max_width:
            cw, ch = max_width, even(ch * max_width / cw)
            node = chain(graph, node, [("scale", f"{cw}:{ch}")])
        node = session.finish(graph, node, cw, ch)
        node = chain(graph, node, [("format", "rgb24")])
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        session.prime()
        chosen.pts = 0
        buf.push(chosen)
        buf.push(None)
        rgb = sink.pull().to_ndarray(format="rgb24")
    try:
        data = _encode_jpeg(rgb)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, data)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"Could not write the preview: {exc}") from exc
    return dest
