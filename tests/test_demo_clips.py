"""Demo catalogue and generated clips."""

from pathlib import Path

import av
import numpy as np

from shortstack.media import font
from shortstack.media.demo import TOPICS, DemoSpec, demo_catalogue, make_demo_clip
from shortstack.media.probe import probe


def test_catalogue_is_reproducible_and_covers_topics() -> None:
    specs = demo_catalogue(16, seed=3)
    assert specs == demo_catalogue(16, seed=3)
    assert specs != demo_catalogue(16, seed=4)
    assert len(TOPICS) >= 8
    assert sorted(s.topic for s in specs) == sorted(list(TOPICS) * 2)
    assert len({s.seed for s in specs}) == 16
    for spec in specs:
        topic = TOPICS[spec.topic]
        assert spec.caption in topic.captions
        assert len(spec.hashtags) >= 2 and set(spec.hashtags) <= set(topic.hashtags)


def test_every_topic_makes_a_playable_clip(tmp_path: Path, mp4_atoms) -> None:
    for i, name in enumerate(TOPICS):
        spec = DemoSpec(name, f"Demo clip number {i}!", list(TOPICS[name].hashtags[:2]), i)
        dest = make_demo_clip(tmp_path / f"{name}.mp4", spec, duration_s=0.5, width=180, height=320)
        info = probe(dest)
        assert (info.width, info.height, info.video_codec, info.audio_codec) == (
            180, 320, "h264", "aac",
        )  # fmt: skip
        assert info.pix_fmt == "yuv420p" and abs(info.duration_s - 0.5) < 0.05
        atoms = dict(mp4_atoms(dest))
        assert atoms["moov"] < atoms["mdat"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_clip_moves_and_sounds(tmp_path: Path) -> None:
    spec = demo_catalogue(1, seed=0)[0]
    dest = make_demo_clip(tmp_path / "c.mp4", spec, duration_s=1.0, width=180, height=320)
    with av.open(str(dest)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(dest)) as c:
        sound = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    assert len(frames) == 30
    assert np.abs(frames[0].astype(int) - frames[15].astype(int)).mean() > 1.0
    assert float(np.abs(sound).max()) > 0.02


def test_font_renders_known_and_unknown_characters() -> None:
    mask = font.text_mask("A#1", scale=1)
    assert mask.shape == (7, 17)
    assert mask[:, :5].sum() == font.glyph("A").sum() > 0
    assert np.array_equal(font.glyph("~"), font.glyph("?"))
    assert np.array_equal(font.glyph("a"), font.glyph("A"))
    assert font.wrap("hello world again", width_px=60, scale=1) == ["hello", "world", "again"]


def test_demo_renditions_match_the_transcode_contract(tmp_path: Path, check) -> None:
    from shortstack.media.demo import make_demo_renditions

    spec = demo_catalogue(1, seed=5)[0]
    out = tmp_path / "out"
    renditions = make_demo_renditions(
        out, spec, (240, 120), duration_s=0.5, width=180, height=320, preset="ultrafast"
    )
    assert [(r.name, r.width, r.height) for r in renditions] == [("120p", 120, 214)]
    check(renditions[0], 120, 214, 0.5)
    assert sorted(p.name for p in out.iterdir()) == ["120p.mp4"]
