"""media/captions.py and media/transcribe.py without a server: parsing, SRT to WebVTT, the
checks, the cue at a time, word grouping, speech spans, the engine seam."""

from __future__ import annotations

import numpy as np
import pytest

from shortstack.media.captions import (
    CaptionError,
    Cue,
    check,
    cue_at,
    format_time,
    parse_srt,
    parse_vtt,
    plain,
    sniff,
    to_vtt,
)
from shortstack.media.transcribe import EngineMissing, group_words, load_engine, speech_spans


def test_webvtt_cues_with_ids_settings_notes_and_short_times() -> None:
    cues = parse_vtt(
        "\ufeffWEBVTT\nKind: captions\n\nSTYLE\n::cue { color: red }\n\nNOTE hi\n\n"
        "a\n00:01.500 --> 00:02.000 line:0\none\ntwo\n\n1:00:00.000 --> 1:00:01.000\nlate\n"
    )
    assert cues == [
        Cue(1.5, 2.0, "one\ntwo", 10),
        Cue(3600.0, 3601.0, "late", 14),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("WEBVTX\n", 1),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\nSTYLE\nx\n", 6),
        ("WEBVTT\n\n00:00:01.00 --> 00:00:02.000\nshort ms\n", 3),
        ("WEBVTT\n\n00:61:01.000 --> 00:62:02.000\nminutes\n", 3),
    ],
)
def test_webvtt_faults_name_their_line(text: str, line: int) -> None:
    with pytest.raises(CaptionError) as exc:
        parse_vtt(text)
    assert exc.value.line == line


def test_srt_becomes_webvtt_and_reads_back_the_same() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\n<font color=x>A</font> & <B>b</B> <x>\n\n\n2\n00:00:02,5 --> 00:00:03,000\n&amp;\n"
    cues = parse_srt(srt)
    assert [c.text for c in cues] == ["A &amp; <b>b</b> ", "&amp;"]
    assert cues[1].start == 2.5
    vtt = to_vtt(cues)
    assert sniff(vtt) == "vtt" and sniff(srt) == "srt"
    assert [(c.start, c.end, c.text) for c in parse_vtt(vtt)] == [
        (c.start, c.end, c.text) for c in cues
    ]
    assert plain(cues[0].text) == "A & b"


def test_checks_and_limits() -> None:
    ok = [Cue(0.0, 1.0, "a", 3), Cue(0.5, 2.0, "overlap is fine", 6)]
    check(ok, duration_s=1.5, max_cues=2)  # 2.0 <= 1.5 + 1 s slack
    with pytest.raises(CaptionError, match="more than 1 cues") as exc:
        check(ok, duration_s=None, max_cues=1)
    assert exc.value.line == 6
    with pytest.raises(CaptionError, match="after the video"):
        check(ok, duration_s=0.9, max_cues=5)
    with pytest.raises(CaptionError, match="time order"):
        check([Cue(1.0, 2.0, "a", 3), Cue(0.5, 2.0, "b", 6)], duration_s=None, max_cues=5)
    with pytest.raises(CaptionError, match="no cues"):
        check([], duration_s=None, max_cues=5)
    assert format_time(3723.0456) == "01:02:03.046"


def test_cue_at_finds_the_latest_started_cue() -> None:
    cues = [Cue(0.0, 1.0, "a"), Cue(1.0, 2.0, "b"), Cue(1.5, 5.0, "c"), Cue(6.0, 7.0, "d")]
    assert [getattr(cue_at(cues, t), "text", None) for t in (0, 0.99, 1.0, 1.6, 5.5, 6.5, 9)] == [
        "a",
        "a",
        "b",
        "c",
        None,
        "d",
        None,
    ]


def test_words_become_cues_at_pauses_and_length_limits() -> None:
    words = [(f"w{i}", i * 0.3, i * 0.3 + 0.25) for i in range(9)] + [("late", 5.0, 5.4)]
    cues = group_words(words)
    assert [c.text.split()[0] for c in cues] == ["w0", "w7", "late"]
    assert len(cues[0].text.split()) == 7 and cues[-1].start == 5.0


def test_speech_spans_split_at_silence() -> None:
    rate = 16_000
    t = np.arange(rate) / rate
    tone = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    quiet = np.zeros(rate, np.int16)
    spans = speech_spans(np.concatenate([quiet, tone, quiet, tone[: rate // 2]]), rate)
    assert len(spans) == 2
    assert abs(spans[0][0] / rate - (1.0 - 0.35)) < 0.02
    assert abs(spans[1][1] / rate - min(3.5, 3.5 + 0.35)) < 0.02
    assert speech_spans(quiet, rate) == []


class _Fake:
    """A Transcriber: one cue over the whole sound."""

    def transcribe(self, samples: np.ndarray, rate: int) -> list[Cue]:
        return [Cue(0.0, len(samples) / rate, "fake words")]


def make_fake() -> _Fake:
    return _Fake()


def test_the_engine_seam() -> None:
    with pytest.raises(EngineMissing, match="no_such_module"):
        load_engine("no_such_module:make")
    with pytest.raises(EngineMissing, match="cannot be loaded"):
        load_engine(f"{__name__}:no_such_factory")
    engine = load_engine(f"{__name__}:make_fake")
    assert engine.transcribe(np.zeros(32_000, np.int16), 16_000) == [Cue(0.0, 2.0, "fake words")]
