"""Edit recipes (trim, crop, look, speed, text, audio): parsed, checked, and their output size.

No PyAV here: the server and the CLI check recipes without loading the media stack. The
recipe is applied by ``edit_graph.EditSession`` (during a transcode), drawn on one frame by
``preview.preview_still`` and clips are joined by ``stitch.stitch``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .errors import InvalidMedia
from .looks import LOOKS

if TYPE_CHECKING:
    from .probe import ProbeResult

CROPS: dict[str, Fraction] = {"9:16": Fraction(9, 16), "1:1": Fraction(1, 1)}
TEXT_POSITIONS = ("bottom", "center", "top")
TEXT_SIZES: dict[str, int] = {"small": 28, "medium": 20, "large": 14}  # characters per line
AUDIO_MODES = ("keep", "mute", "tone")
SPEED_RANGE = (0.25, 4.0)
TEXT_MAX = 150
TEXT_MAX_LINES = 4
MIN_OUTPUT_S = 0.2
_KEYS = ("trim", "crop", "look", "filter", "speed", "text", "audio", "mute", "tone", "tone_hz")


@dataclass(frozen=True)
class EditRecipe:
    """What to do to an upload before it is published. Times are in source seconds."""

    trim_start: float = 0.0
    trim_end: float | None = None
    crop: str | None = None
    look: str | None = None
    speed: float = 1.0
    text: str = ""
    text_position: str = "bottom"
    text_size: str = "medium"
    audio: str = "keep"
    tone_hz: float = 440.0

    @property
    def is_identity(self) -> bool:
        """True when the recipe changes nothing."""
        return not self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (what is stored and shown); parse_recipe reads it back."""
        out: dict[str, Any] = {}
        if self.trim_start or self.trim_end is not None:
            out["trim"] = {"start": self.trim_start, "end": self.trim_end}
        if self.crop:
            out["crop"] = self.crop
        if self.look:
            out["look"] = self.look
        if self.speed != 1.0:
            out["speed"] = self.speed
        if self.text:
            out["text"] = {
                "text": self.text,
                "position": self.text_position,
                "size": self.text_size,
            }
        if self.audio != "keep":
            out["audio"] = self.audio
            if self.audio == "tone":
                out["tone_hz"] = self.tone_hz
        return out


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidMedia(f"{what} must be a number of seconds, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise InvalidMedia(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InvalidMedia(f"{what} must be a finite number")
    return number


def _parse_trim(value: Any) -> tuple[float, float | None]:
    if isinstance(value, str):
        start, sep, end = value.partition("-")
        if not sep:
            raise InvalidMedia(f"trim must look like 'START-END' (seconds), not {value!r}")
        value = [start or 0, end or None]
    if isinstance(value, Mapping):
        extra = set(value) - {"start", "end"}
        if extra:
            raise InvalidMedia(f"trim takes 'start' and 'end', not {sorted(extra)}")
        value = [value.get("start", 0) or 0, value.get("end")]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InvalidMedia("trim must be {'start': S, 'end': E}, [S, E] or 'S-E' in seconds")
    start = _number(value[0], "trim start")
    end = None if value[1] is None else _number(value[1], "trim end")
    return start, end


def parse_recipe(data: Mapping[str, Any] | None) -> EditRecipe:
    """Read a recipe from its JSON form; raise InvalidMedia saying what is wrong.

    Checks names and ranges that do not depend on the clip (known looks, crops, speeds, text
    length); ``validate`` then checks the recipe against the probed clip (trim inside it).
    """
    if data is None:
        return EditRecipe()
    if not isinstance(data, Mapping):
        raise InvalidMedia("the edit recipe must be a JSON object")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise InvalidMedia(
            f"unknown edit option(s) {', '.join(map(repr, unknown))}; known options: "
            "trim, crop, look, speed, text, audio, tone_hz"
        )
    kw: dict[str, Any] = {}
    if data.get("trim") is not None:
        kw["trim_start"], kw["trim_end"] = _parse_trim(data["trim"])
    if data.get("crop") not in (None, "", "none", "original"):
        crop = str(data["crop"])
        if crop not in CROPS:
            raise InvalidMedia(f"unknown crop {crop!r}; known crops: {', '.join(CROPS)}")
        kw["crop"] = crop
    look = data.get("look", data.get("filter"))
    if look not in (None, "", "none"):
        if not isinstance(look, str) or look.lower() not in LOOKS:
            raise InvalidMedia(f"unknown look {look!r}; known looks: {', '.join(LOOKS)}")
        kw["look"] = look.lower()
    if data.get("speed") is not None:
        speed = _number(data["speed"], "speed")
        if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
            raise InvalidMedia(
                f"speed must be between {SPEED_RANGE[0]} and {SPEED_RANGE[1]}, not {speed}"
            )
        kw["speed"] = speed
    text = data.get("text")
    if text is not None:
        if isinstance(text, str):
            text = {"text": text}
        if not isinstance(text, Mapping) or not isinstance(text.get("text", ""), str):
            raise InvalidMedia("text must be a string or {'text', 'position', 'size'}")
        extra = set(text) - {"text", "position", "size"}
        if extra:
            raise InvalidMedia(f"text takes 'text', 'position' and 'size', not {sorted(extra)}")
        body = " ".join(text.get("text", "").split())
        if len(body) > TEXT_MAX:
            raise InvalidMedia(f"text overlay is at most {TEXT_MAX} characters")
        position = text.get("position", "bottom")
        if position not in TEXT_POSITIONS:
            raise InvalidMedia(
                f"unknown text position {position!r}; known: {', '.join(TEXT_POSITIONS)}"
            )
        size = text.get("size", "medium")
        if size not in TEXT_SIZES:
            raise InvalidMedia(f"unknown text size {size!r}; known: {', '.join(TEXT_SIZES)}")
        kw.update(text=body, text_position=position, text_size=size)
    audio = data.get("audio", "keep")
    if data.get("mute"):
        audio = "mute"
    if data.get("tone") not in (None, False):
        audio = "tone"
        kw["tone_hz"] = _number(data["tone"], "tone")
    if audio not in AUDIO_MODES:
        raise InvalidMedia(f"unknown audio mode {audio!r}; known: {', '.join(AUDIO_MODES)}")
    kw["audio"] = audio
    if data.get("tone_hz") is not None:
        kw["tone_hz"] = _number(data["tone_hz"], "tone_hz")
    if not 20.0 <= kw.get("tone_hz", 440.0) <= 20_000.0:
        raise InvalidMedia("tone frequency must be between 20 and 20000 Hz")
    return EditRecipe(**kw)


def validate(recipe: EditRecipe, info: ProbeResult, *, max_duration_s: float | None = None) -> None:
    """Raise InvalidMedia when ``recipe`` does not fit the probed clip (e.g. trim outside it)
    or, given ``max_duration_s``, would make a video longer than that (a slowed-down clip)."""
    duration = info.duration_s
    start, end = recipe.trim_start, recipe.trim_end
    if start < 0 or (end is not None and end < 0):
        raise InvalidMedia("trim times cannot be negative")
    if start >= duration:
        raise InvalidMedia(f"trim start {start:g} s is past the end of the {duration:g} s video")
    if end is not None and end > duration + 0.05:
        raise InvalidMedia(f"trim end {end:g} s is past the end of the {duration:g} s video")
    if end is not None and end <= start:
        raise InvalidMedia(f"trim end {end:g} s must come after trim start {start:g} s")
    length = output_duration(recipe, duration)
    if length < MIN_OUTPUT_S:
        raise InvalidMedia(f"the edited video would be shorter than {MIN_OUTPUT_S} s")
    if max_duration_s is not None and length > max_duration_s:
        raise InvalidMedia(
            f"the edited video would be {length:g} s long; the longest allowed is"
            f" {max_duration_s:g} s (trim it or raise the speed)"
        )
    if recipe.look is not None and recipe.look not in LOOKS:
        raise InvalidMedia(f"unknown look {recipe.look!r}; known looks: {', '.join(LOOKS)}")
    if recipe.crop is not None and recipe.crop not in CROPS:
        raise InvalidMedia(f"unknown crop {recipe.crop!r}; known crops: {', '.join(CROPS)}")
    if not SPEED_RANGE[0] <= recipe.speed <= SPEED_RANGE[1]:
        raise InvalidMedia(f"speed must be between {SPEED_RANGE[0]} and {SPEED_RANGE[1]}")


def output_duration(recipe: EditRecipe, duration_s: float) -> float:
    """Length of the edited video, in seconds."""
    end = duration_s if recipe.trim_end is None else min(recipe.trim_end, duration_s)
    return max(0.0, end - recipe.trim_start) / recipe.speed


def even(x: float) -> int:
    """``x`` pixels rounded down to an even count (at least 2): what 4:2:0 video needs."""
    return max(2, int(x) // 2 * 2)


def crop_size(
    recipe: EditRecipe, width: int, height: int, sar: Fraction = Fraction(1)
) -> tuple[int, int]:
    """Pixel size after the recipe's centred crop of a ``width`` x ``height`` picture."""
    if recipe.crop is None:
        return width, height
    aspect = CROPS[recipe.crop]
    if width * sar / height > aspect:
        return min(width, even(height * aspect / sar)), height
    return width, min(height, even(width * sar / aspect))


def output_info(recipe: EditRecipe, info: ProbeResult) -> ProbeResult:
    """What the edited video will be: cropped display size, edited duration, rate."""
    width, height = crop_size(recipe, info.width, info.height)
    return replace(
        info,
        width=width,
        height=height,
        duration_s=round(output_duration(recipe, info.duration_s), 3),
        fps=round(info.fps * recipe.speed, 3),
    )
