"""The bitmap font: glyphs, unknown characters and word wrap."""

import numpy as np

from shortstack.media import font


def test_font_renders_known_and_unknown_characters() -> None:
    mask = font.text_mask("A#1", scale=1)
    assert mask.shape == (7, 17)
    assert mask[:, :5].sum() == font.glyph("A").sum() > 0
    assert np.array_equal(font.glyph("~"), font.glyph("?"))
    assert np.array_equal(font.glyph("a"), font.glyph("A"))
    assert font.wrap("hello world again", width_px=60, scale=1) == ["hello", "world", "again"]
