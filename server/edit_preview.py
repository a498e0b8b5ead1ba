"""Edit recipes over HTTP: the `edit` form field, the choices a recipe may name, a still preview."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from shortstack.media.edit import AUDIO_MODES, CROPS, SPEED_RANGE, TEXT_POSITIONS, TEXT_SIZES
from shortstack.media.looks import LOOKS, describe_looks

from .config import Config
from .errors import problem
from .storage import LocalStorage
from .store.users import User
from .uploads import probe_upload, receive_upload

if TYPE_CHECKING:
    from shortstack.media.edit import EditRecipe
    from shortstack.media.probe import ProbeResult

PREVIEW_MAX_WIDTH = 480


def _choices(names: Iterable[str]) -> str:
    return " | ".join(f'"{name}"' for name in names)


RECIPE_HELP = (
    "The optional `edit` field is a JSON object, every key optional: "
    '`{"trim": {"start": 1.5, "end": 7} (or [1.5, 7] or "1.5-7"), '
    f'"crop": {_choices(CROPS)}, "look": {_choices(LOOKS)} (alias "filter"), '
    f'"speed": {SPEED_RANGE[0]:g}..{SPEED_RANGE[1]:g} (pitch kept), "text": "hello" or '
    f'{{"text", "position": {_choices(TEXT_POSITIONS)}, "size": {_choices(TEXT_SIZES)}}}, '
    f'"audio": {_choices(AUDIO_MODES)}, "tone_hz": 440 (or "mute": true, "tone": 440)}}`. '
    "Unknown options, looks or crops and trims outside the clip are a 422 saying why. "
    f"Looks: {describe_looks('; ')}. The same lists are at GET /api/edit/options."
)


class LookOut(msgspec.Struct):
    name: str
    description: str


class EditOptionsOut(msgspec.Struct):
    """What an edit recipe may name: looks (with what they do), crops, text and audio choices."""

    looks: list[LookOut]
    crops: list[str]
    text_positions: list[str]
    text_sizes: list[str]
    audio: list[str]
    speed_min: float
    speed_max: float


@get(
    "/api/edit/options",
    operation_id="edit_options",
    summary="The choices an edit recipe may name (looks, crops, text, audio, speed range)",
    tags=["videos"],
)
async def edit_options() -> EditOptionsOut:
    return EditOptionsOut(
        looks=[LookOut(look.name, look.description) for look in LOOKS.values()],
        crops=list(CROPS),
        text_positions=list(TEXT_POSITIONS),
        text_sizes=list(TEXT_SIZES),
        audio=list(AUDIO_MODES),
        speed_min=SPEED_RANGE[0],
        speed_max=SPEED_RANGE[1],
    )


def recipe_from_field(raw: str | None) -> EditRecipe | None:
    """The recipe in a multipart `edit` field (JSON object); None when absent or empty.

    Raises a 422 problem naming what is wrong (bad JSON, unknown look with the known ones...).
    """
    from shortstack.media.edit import parse_recipe
    from shortstack.media.errors import InvalidMedia

    if raw is None or not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise problem(422, "Invalid edit recipe", f"the edit field is not JSON: {why}") from None
    try:
        recipe = parse_recipe(data)
    except InvalidMedia as exc:
        raise problem(422, "Invalid edit recipe", str(exc)) from None
    return None if recipe.is_identity else recipe


def check_recipe(recipe: EditRecipe, info: ProbeResult, config: Config) -> None:
    """422 when the recipe does not fit the probed clip (e.g. a trim past its end) or would
    make a video longer than ``limits.max_duration_s`` (e.g. slowed down to a quarter)."""
    from shortstack.media.edit import validate
    from shortstack.media.errors import InvalidMedia

    try:
        validate(recipe, info, max_duration_s=config.limits.max_duration_s)
    except InvalidMedia as exc:
        raise problem(422, "Invalid edit recipe", str(exc)) from None


@post(
    "/api/edit/preview",
    operation_id="edit_preview",
    summary="Preview an edit recipe (multipart: file, edit) as a JPEG still",
    description="One frame of the uploaded clip with the recipe's crop, look and text applied. "
    + RECIPE_HELP,
    tags=["videos"],
    status_code=200,
    request_max_body_size=None,  # receive_upload enforces limits.max_upload_mb while streaming
    media_type="image/jpeg",
)
async def edit_preview(
    request: Request,
    user: NamedDependency[User],
    config: NamedDependency[Config],
    storage: NamedDependency[LocalStorage],
) -> Response[bytes]:
    from shortstack.media.edit import EditRecipe
    from shortstack.media.errors import MediaError
    from shortstack.media.pipeline import preview_isolated

    received = await receive_upload(
        request, storage, max_bytes=config.limits.max_upload_mb * 1024 * 1024
    )
    out = received.path.with_suffix(".preview.jpg")
    try:
        recipe = recipe_from_field(received.fields.get("edit")) or EditRecipe()
        info = await probe_upload(received.path, config)
        check_recipe(recipe, info, config)
        try:
            await asyncio.to_thread(
                preview_isolated,
                received.path,
                recipe,
                out,
                max_width=PREVIEW_MAX_WIDTH,
                timeout_s=config.limits.probe_timeout_s,
                memory_limit_mb=config.media.max_memory_mb or None,
            )
        except MediaError as exc:
            raise problem(422, "No preview", str(exc)) from None
        data = out.read_bytes()
    finally:
        received.path.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
