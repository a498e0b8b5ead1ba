"""The registry of looks: each name's filter chain and a one-line description (no PyAV import).

The one list of looks: recipes are checked against it (``edit_recipe``), the server shows it
in its help and at ``GET /api/edit/options``, the CLI in ``upload --filter`` help, and the
terminal client fetches it over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Look:
    """A named colour treatment: an FFmpeg filter chain applied per rendition."""

    name: str
    description: str
    filters: tuple[tuple[str, str], ...]


# Looks work on 8-bit YUV (LUTs on the planes, no RGB round trip): cheap at full resolution.
LOOKS: dict[str, Look] = {
    look.name: look
    for look in (
        Look("mono", "black and white", (("lutyuv", "u=128:v=128"),)),
        Look(
            "warm",
            "a little brighter, shifted towards orange",
            (("lutyuv", "y=clipval*1.03:u=clipval-10:v=clipval+12"),),
        ),
        Look(
            "vivid",
            "more contrast and stronger colours",
            (("lutyuv", "y=(val-128)*1.12+128:u=(val-128)*1.45+128:v=(val-128)*1.45+128"),),
        ),
        Look(
            "vintage",
            "faded, low contrast, yellowed",
            (("lutyuv", "y=val*0.82+26:u=(val-128)*0.55+120:v=(val-128)*0.55+138"),),
        ),
        Look("sharpen", "crisper edges", (("unsharp", "5:5:1.0:5:5:0.0"),)),
    )
}


def look_names() -> list[str]:
    """The looks' names, in registry order."""
    return list(LOOKS)


def describe_looks(sep: str = ", ") -> str:
    """``name (description)`` for every look, joined by ``sep`` (for help texts)."""
    return sep.join(f"{look.name} ({look.description})" for look in LOOKS.values())
