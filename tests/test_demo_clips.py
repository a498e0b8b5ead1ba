"""The demo catalogue (shortstack/demo_topics.py) and its generated clips (demo_clips.py)."""

from pathlib import Path

import av
import numpy as np

from shortstack.demo_clips import make_demo_clip
from shortstack.demo_topics import TOPICS, DemoSpec, demo_catalogue
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


def test_every_topic_makes_a_playable_clip(tmp_path: Path) -> None:
    for i, name in enumerate(TOPICS):
        spec = DemoSpec(name, f"Demo clip number {i}!", list(TOPICS[name].hashtags[:2]), i)
        dest = make_demo_clip(tmp_path / f"{name}.mp4", spec, duration_s=0.5, width=180, height=320)
        info = probe(dest)
        assert (info.width, info.height, info.video_codec, info.audio_codec) == (
            180, 320, "h264", "aac",
        )  # fmt: skip
        assert info.pix_fmt == "yuv420p" and abs(info.duration_s - 0.5) < 0.05
        head = dest.read_bytes()
        assert head.index(b"moov") < head.index(b"mdat")  # faststart: the index comes first
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
