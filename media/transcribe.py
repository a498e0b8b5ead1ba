"""Automatic captions: a video's speech as timed cues, through a pluggable speech engine.

The seam is ``Transcriber``: ``transcribe(samples, rate) -> list[Cue]`` with 16 kHz mono
int16 samples. ``PocketSphinx`` (its English model ships inside the ``pocketsphinx`` wheel:
nothing is downloaded at run time) is the default; an operator names another engine as
``"module:factory"`` (a callable returning a Transcriber), e.g. one wrapping faster-whisper
with a model they provide. Runs in the media child process, like the transcode.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from .captions import Cue
from .errors import MediaError

RATE = 16_000
#: a cue ends at a pause this long, or at this many words or seconds
PAUSE_S = 0.6
CUE_WORDS = 7
CUE_S = 3.5


class EngineMissing(MediaError):
    """The configured speech engine is not installed (or cannot be loaded)."""


class Transcriber(Protocol):
    """A speech engine: words of mono int16 ``samples`` at ``rate`` Hz as timed cues."""

    def transcribe(self, samples: np.ndarray, rate: int) -> list[Cue]: ...


def group_words(words: Sequence[tuple[str, float, float]]) -> list[Cue]:
    """(word, start, end) in time order as caption cues: split at pauses and length limits."""
    cues: list[Cue] = []
    current: list[tuple[str, float, float]] = []
    for word in words:
        if current and (
            word[1] - current[-1][2] >= PAUSE_S
            or len(current) >= CUE_WORDS
            or word[2] - current[0][1] > CUE_S
        ):
            cues.append(Cue(current[0][1], current[-1][2], " ".join(w for w, _, _ in current)))
            current = []
        current.append(word)
    if current:
        cues.append(Cue(current[0][1], current[-1][2], " ".join(w for w, _, _ in current)))
    return cues


_FILLER = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")


class PocketSphinx:
    """CMU PocketSphinx with its bundled US English model (offline, about real time here)."""

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise EngineMissing(
                "pocketsphinx is not installed (pip install 'shortstack[captions]')"
            ) from exc
        self._decoder_type = Decoder

    def transcribe(self, samples: np.ndarray, rate: int) -> list[Cue]:
        decoder = self._decoder_type(samprate=rate, loglevel="FATAL")
        frate = int(decoder.config["frate"])
        samples = np.ascontiguousarray(samples, dtype=np.int16)
        words = []
        for first, last in speech_spans(samples, rate):  # one utterance per stretch of speech
            decoder.start_utt()
            decoder.process_raw(samples[first:last].tobytes(), full_utt=True)
            decoder.end_utt()
            offset = first / rate
            for seg in decoder.seg():
                word = re.sub(r"\(\d+\)$", "", seg.word)  # "the(2)": another pronunciation
                if not _FILLER.match(word):
                    start, end = seg.start_frame / frate, (seg.end_frame + 1) / frate
                    words.append((word, offset + start, offset + end))
        return group_words(words)


def speech_spans(
    samples: np.ndarray, rate: int, *, min_gap_s: float = 0.35, pad_s: float = 0.35
) -> list[tuple[int, int]]:
    """(first, last) sample indexes of the stretches of sound louder than the quiet between
    them (10 ms energy frames; gaps shorter than ``min_gap_s`` joined; ``pad_s`` either side)."""
    hop = rate // 100
    frames = len(samples) // hop
    if frames == 0:
        return []
    energy = np.sqrt(
        np.mean(samples[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2, axis=1)
    )
    loud = energy > max(float(np.percentile(energy, 99)) * 0.05, 60.0)
    spans: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if spans and i - spans[-1][1] <= min_gap_s * 100:
            spans[-1][1] = int(i)
        else:
            spans.append([int(i), int(i)])
    pad = int(pad_s * 100)
    return [
        (max(0, a - pad) * hop, min(frames, b + 1 + pad) * hop)
        for a, b in spans
        if b - a >= 10  # under 0.1 s: a click, not a word
    ]


def load_engine(name: str) -> Transcriber:
    """``"pocketsphinx"`` or ``"module:factory"``; EngineMissing when it cannot be loaded."""
    if name == "pocketsphinx":
        return PocketSphinx()
    module, _, attr = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr or "transcriber")
    except (ImportError, AttributeError) as exc:
        raise EngineMissing(f"speech engine {name!r} cannot be loaded: {exc}") from exc
    return factory()


def read_speech(path: Path, rate: int = RATE) -> np.ndarray | None:
    """The first audio stream of a media file as mono int16 at ``rate``; None without audio."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        chunks = []
        for frame in container.decode(container.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def transcribe_file(path: Path, engine: str = "pocketsphinx") -> list[Cue]:
    """Automatic captions of a media file's speech (no audio: none). Raises EngineMissing."""
    transcriber = load_engine(engine)
    samples = read_speech(Path(path))
    if samples is None or len(samples) < RATE // 10:
        return []
    return transcriber.transcribe(samples, RATE)
