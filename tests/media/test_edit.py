"""Edit recipes: checked on real decoded frames and sound of transcoded, previewed and stitched clips."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from shortstack.media import fixture_clips
from shortstack.media.edit import EditRecipe, crop_size, output_info, parse_recipe, validate
from shortstack.media.edit_graph import text_layout
from shortstack.media.errors import InvalidMedia
from shortstack.media.looks import LOOKS
from shortstack.media.preview import preview_still
from shortstack.media.probe import probe
from shortstack.media.stitch import stitch
from shortstack.media.transcode import transcode


def _decode(path: Path) -> tuple[list[np.ndarray], np.ndarray, float]:
    """RGB frames, stereo samples (48 kHz) and container duration of a rendition."""
    frames, sound = [], []
    with av.open(str(path)) as c:
        duration = c.duration / 1e6
        for frame in c.decode(*c.streams.video, *c.streams.audio):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="rgb24"))
            else:
                sound.append(frame.to_ndarray())
    return frames, np.concatenate(sound, axis=1), duration


def _peak_hz(audio: np.ndarray, rate: int = 48_000) -> float:
    mono = audio.mean(axis=0)
    mono = mono[len(mono) // 8 : -len(mono) // 8]  # away from encoder edges
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s, 25 fps, 240x320 portrait clip with a 440 Hz tone."""
    path = tmp_path_factory.mktemp("edit") / "src.mp4"
    return fixture_clips.write_test_video(path, width=240, height=320, duration_s=2.0, fps=25)


def _edit(clip: Path, out: Path, recipe: dict):
    (r,) = transcode(clip, out, (320,), preset="ultrafast", edit=parse_recipe(recipe))
    return r, *_decode(r.path)


def _solid_clip(path: Path, rgb: tuple[int, int, int], hz: float, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "10"}
        aus = out.add_stream("aac", rate=48_000)
        aus.layout = "stereo"
        picture = np.empty((120, 160, 3), np.uint8)
        picture[:] = rgb
        for i in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        n = int(seconds * 48_000)
        wave = (0.3 * np.sin(2 * np.pi * hz * np.arange(n) / 48_000)).astype(np.float32)
        for at in range(0, n, 1024):
            block = np.ascontiguousarray(np.stack([wave[at : at + 1024]] * 2))
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, at, Fraction(1, 48_000)
            out.mux(aus.encode(frame))
        out.mux(aus.encode(None))
    return path


def test_recipe_parsing_and_canonical_form() -> None:
    recipe = parse_recipe(
        {"trim": "1.5-7", "filter": "Vivid", "speed": 1.25, "text": "hello", "crop": "9:16"}
    )
    assert recipe == EditRecipe(
        trim_start=1.5, trim_end=7.0, look="vivid", speed=1.25, text="hello", crop="9:16"
    )
    assert parse_recipe(recipe.to_dict()) == recipe
    assert parse_recipe({"mute": True}).audio == "mute"
    assert parse_recipe({"tone": 880}) == EditRecipe(audio="tone", tone_hz=880.0)
    assert parse_recipe({}).is_identity and parse_recipe(None).is_identity


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"look": "sepia"}, "known looks: " + ", ".join(LOOKS)),
        ({"filter": "blur"}, "known looks: mono, warm, vivid, vintage, sharpen"),
        ({"crop": "4:3"}, "known crops: 9:16, 1:1"),
        ({"speed": 10}, "speed must be between"),
        ({"zoom": 2}, "unknown edit option"),
        ({"trim": "abc"}, "trim must look like"),
        ({"text": "x" * 500}, "at most"),
        ({"tone": 5}, "between 20 and 20000"),
    ],
)
def test_bad_recipes_are_refused_with_a_clear_message(data: dict, message: str) -> None:
    with pytest.raises(InvalidMedia, match=message):
        parse_recipe(data)


def test_validate_against_the_clip(clip: Path) -> None:
    info = probe(clip)
    validate(parse_recipe({"trim": [0.5, 2.0]}), info)
    for trim, message in [
        ([2.5, 3.0], "past the end"),
        ([0.5, 9.0], "past the end"),
        ([1.5, 1.0], "must come after"),
        ([-1, 1.0], "negative"),
    ]:
        with pytest.raises(InvalidMedia, match=message):
            validate(parse_recipe({"trim": trim}), info)
    out = output_info(parse_recipe({"trim": [0.5, 1.5], "speed": 2, "crop": "1:1"}), info)
    assert (out.width, out.height, out.duration_s) == (240, 240, 0.5)


def test_trim_sets_duration_and_keeps_sound(clip: Path, tmp_path: Path) -> None:
    r, frames, audio, duration = _edit(clip, tmp_path, {"trim": {"start": 0.5, "end": 1.5}})
    assert abs(duration - 1.0) <= 0.08 and abs(r.duration_s - 1.0) <= 0.05
    assert abs(len(frames) - 25) <= 1
    assert abs(audio.shape[1] / 48_000 - 1.0) <= 0.05
    assert abs(_peak_hz(audio) - 440) < 15
    # the first output frame is the source frame at 0.5 s: the pattern scrolls 4 px a frame
    src = fixture_clips._pattern(240, 320)
    expected = src[:, (12 * 4) % 240 : (12 * 4) % 240 + 240]
    assert (
        np.abs(frames[0].astype(int) - expected).mean()
        < np.abs(frames[0].astype(int) - src[:, :240]).mean()
    )


def test_speed_two_halves_duration_and_keeps_pitch(clip: Path, tmp_path: Path) -> None:
    r, frames, audio, duration = _edit(clip, tmp_path, {"speed": 2})
    assert abs(duration - 1.0) <= 0.08 and abs(r.duration_s - 1.0) <= 0.05
    assert abs(audio.shape[1] / 48_000 - 1.0) <= 0.05
    assert abs(_peak_hz(audio) - 440) < 15  # atempo: same pitch, not 880 Hz


def test_mono_look_has_equal_channels(clip: Path, tmp_path: Path) -> None:
    _, frames, _, _ = _edit(clip, tmp_path, {"look": "mono"})
    for rgb in frames[::10]:
        spread = rgb.max(axis=2).astype(int) - rgb.min(axis=2)
        assert spread.mean() < 2.0 and np.percentile(spread, 99) <= 6
    # and the source is colourful, so that is the look's doing
    plain = fixture_clips._pattern(240, 320)[:, :240].astype(int)
    assert (plain.max(axis=2) - plain.min(axis=2)).mean() > 50


@pytest.mark.parametrize("look", ["warm", "vivid", "vintage", "sharpen"])
def test_other_looks_change_the_picture(clip: Path, look: str, tmp_path: Path) -> None:
    a = preview_still(clip, EditRecipe(), tmp_path / "a.jpg")
    b = preview_still(clip, EditRecipe(look=look), tmp_path / "b.jpg")
    (fa,), (fb,) = _decode_image(a), _decode_image(b)
    if look == "sharpen":  # more fine detail (film grain here): larger neighbour differences
        grainy = fixture_clips.write_test_video(tmp_path / "g.mp4", width=240, height=320,
                                          duration_s=0.2, grain=True)  # fmt: skip
        (fa,) = _decode_image(preview_still(grainy, EditRecipe(), tmp_path / "c.jpg"))
        (fb,) = _decode_image(preview_still(grainy, EditRecipe(look=look), tmp_path / "d.jpg"))

        def detail(rgb: np.ndarray) -> float:
            return float(np.abs(np.diff(rgb.astype(int).mean(axis=2), axis=1)).mean())

        assert detail(fb) > 1.3 * detail(fa)
        return
    assert np.abs(fa.astype(int) - fb).mean() > 2.0
    if look == "warm":
        assert (fb[..., 0].astype(int) - fb[..., 2]).mean() > (
            fa[..., 0].astype(int) - fa[..., 2]
        ).mean() + 5


def _decode_image(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_text_changes_pixels_in_its_box_only(clip: Path, tmp_path: Path) -> None:
    _, plain, _, _ = _edit(clip, tmp_path / "plain", {})
    _, texted, _, _ = _edit(clip, tmp_path / "text", {"text": "hello shortstack"})
    box = text_layout(EditRecipe(text="hello shortstack"), 240, 320)
    assert box is not None and box.y > 320 // 2  # lower part of a portrait picture
    assert box.y + box.height <= int(320 * 0.8) + 1 and box.width < 240
    inside = np.zeros((320, 240), bool)
    inside[box.y : box.y + box.height, box.x : box.x + box.width] = True
    for a, b in zip(plain[::12], texted[::12], strict=True):
        diff = np.abs(a.astype(int) - b).mean(axis=2)
        assert diff[inside].mean() > 40
        assert diff[~inside].mean() < 3


def test_crop_mute_and_tone(clip: Path, tmp_path: Path) -> None:
    r, frames, audio, _ = _edit(clip, tmp_path / "a", {"crop": "1:1", "mute": True})
    assert (r.width, r.height) == (240, 240) and frames[0].shape == (240, 240, 3)
    assert np.sqrt((audio**2).mean()) < 1e-3
    r, frames, audio, _ = _edit(clip, tmp_path / "b", {"crop": "9:16", "tone": 1000})
    assert (r.width, r.height) == crop_size(EditRecipe(crop="9:16"), 240, 320) == (180, 320)
    assert abs(_peak_hz(audio) - 1000) < 15
    assert abs(audio.shape[1] / 48_000 - 2.0) <= 0.05


def test_everything_at_once_on_a_rotated_clip(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "rot.mp4", width=320, height=240, rotation=90,
                                   duration_s=2.0)  # fmt: skip
    recipe = {"trim": "0.4-1.6", "speed": 1.5, "crop": "1:1", "look": "mono", "text": "hi"}
    r, frames, audio, duration = _edit(src, tmp_path / "out", recipe)
    assert (r.width, r.height) == (240, 240)
    assert abs(duration - 0.8) <= 0.08 and abs(audio.shape[1] / 48_000 - 0.8) <= 0.05
    assert (frames[3].max(axis=2).astype(int) - frames[3].min(axis=2)).mean() < 2.0


def test_preview_still_applies_crop_look_and_text(clip: Path, tmp_path: Path) -> None:
    dest = preview_still(clip, parse_recipe({"crop": "1:1", "look": "mono", "text": "hey"}),
                         tmp_path / "p.jpg")  # fmt: skip
    (rgb,) = _decode_image(dest)
    assert rgb.shape == (240, 240, 3)
    assert (rgb.max(axis=2).astype(int) - rgb.min(axis=2)).mean() < 3
    box = text_layout(EditRecipe(text="hey"), 240, 240)
    region = rgb[box.y : box.y + box.height, box.x : box.x + box.width]
    assert (region.min(axis=2) > 230).sum() > 20  # white glyph pixels


def test_stitch_crossfades_two_clips(tmp_path: Path) -> None:
    red = _solid_clip(tmp_path / "red.mp4", (220, 20, 20), 440)
    blue = _solid_clip(tmp_path / "blue.mp4", (20, 20, 220), 880)
    out = stitch([red, blue], tmp_path / "both.mp4", crossfade_s=0.4, fps=25)
    frames, audio, duration = _decode(out)
    assert abs(duration - 1.6) <= 0.08 and abs(len(frames) - 40) <= 1
    mean = [f.reshape(-1, 3).mean(axis=0) for f in frames]
    assert mean[2][0] > 180 and mean[2][2] < 60  # red before the fade
    assert mean[-2][2] > 180 and mean[-2][0] < 60  # blue after it
    middle = mean[len(frames) // 2]  # 0.8 s: in the middle of the 0.6-1.0 s fade
    assert 80 < middle[0] < 160 and 80 < middle[2] < 160, middle
    # sound: 440 Hz first, 880 Hz last, both in the fade
    sec = 48_000
    assert abs(_peak_hz(audio[:, : int(0.5 * sec)]) - 440) < 20
    assert abs(_peak_hz(audio[:, int(1.1 * sec) :]) - 880) < 20
    fade = np.abs(np.fft.rfft(audio[0, int(0.7 * sec) : int(0.9 * sec)]))
    freqs = np.fft.rfftfreq(int(0.2 * sec), 1 / sec)
    assert fade[np.abs(freqs - 440) < 10].max() > 0.2 * fade.max()
    assert fade[np.abs(freqs - 880) < 10].max() > 0.2 * fade.max()
