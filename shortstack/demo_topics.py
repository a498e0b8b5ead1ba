"""The demo's topic catalogue: how each topic looks and sounds, and what its posts say."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Topic:
    """How one demo topic looks and sounds, and what its posts say."""

    name: str
    top: RGB  # background gradient, top colour
    bottom: RGB  # background gradient, bottom colour
    accents: tuple[RGB, ...]  # shapes and particles
    style: str  # which animation draws it
    hashtags: tuple[str, ...]
    captions: tuple[str, ...]
    chord_hz: tuple[float, ...]  # audio: a soft chord


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic(
            "cooking",
            (70, 28, 12),
            (214, 110, 40),
            ((255, 236, 200), (255, 190, 90), (250, 250, 250)),
            "bubbles",
            ("cooking", "recipe", "foodie", "dinner", "homemade"),
            (
                "Ten minute garlic noodles",
                "Crispy potatoes, no oven",
                "Grandma's secret tomato sauce",
                "One pan lemon pasta",
                "Perfect fluffy pancakes",
            ),
            (261.6, 329.6, 392.0),
        ),
        Topic(
            "cats",
            (250, 205, 222),
            (180, 160, 240),
            ((90, 70, 80), (255, 120, 160), (255, 255, 255)),
            "cat",
            ("cats", "catsoftiktok", "kitten", "meow", "pets"),
            (
                "He thinks he is a loaf",
                "Caught stealing ham again",
                "Morning zoomies at 5am",
                "She found the box!",
                "Judging me from the shelf",
            ),
            (349.2, 440.0, 523.3),
        ),
        Topic(
            "sunsets",
            (44, 12, 70),
            (252, 128, 48),
            ((255, 220, 120), (255, 160, 90), (255, 240, 200)),
            "sunset",
            ("sunset", "goldenhour", "sky", "nature", "calm"),
            (
                "Tonight's sky did not disappoint",
                "Golden hour at the pier",
                "Nobody talk, just watch",
                "Last light over the bay",
            ),
            (220.0, 277.2, 329.6),
        ),
        Topic(
            "skate",
            (120, 150, 160),
            (60, 70, 78),
            ((240, 80, 60), (250, 250, 250), (255, 210, 40)),
            "skate",
            ("skate", "skateboarding", "kickflip", "streetstyle", "tricks"),
            (
                "Finally landed the kickflip",
                "Empty park at sunrise",
                "Day 30 of learning to ollie",
                "Bowl session with the crew",
            ),
            (196.0, 246.9, 293.7),
        ),
        Topic(
            "synthwave",
            (16, 0, 40),
            (210, 40, 150),
            ((40, 240, 255), (255, 90, 200), (255, 230, 90)),
            "synthwave",
            ("synthwave", "retrowave", "80s", "neon", "music"),
            (
                "Driving into the neon night",
                "New track, full volume",
                "1986 called, it wants this back",
                "Outrun vibes only",
            ),
            (110.0, 164.8, 220.0, 261.6),
        ),
        Topic(
            "ocean",
            (120, 200, 240),
            (10, 50, 110),
            ((20, 110, 190), (40, 150, 220), (230, 250, 255)),
            "ocean",
            ("ocean", "waves", "surf", "beach", "sea"),
            (
                "Sound on for the waves",
                "Glassy morning swell",
                "Low tide, high spirits",
                "Salt water cures everything",
            ),
            (293.7, 370.0, 440.0),
        ),
        Topic(
            "forest",
            (150, 200, 140),
            (20, 60, 30),
            ((40, 30, 20), (230, 140, 40), (200, 220, 90)),
            "forest",
            ("forest", "hiking", "trees", "outdoors", "autumn"),
            (
                "Autumn walk in the old woods",
                "Listen to the leaves",
                "Found a quiet trail today",
                "Forest bathing is real",
            ),
            (174.6, 220.0, 261.6),
        ),
        Topic(
            "city",
            (8, 10, 40),
            (40, 30, 90),
            ((255, 220, 120), (255, 60, 60), (240, 240, 255)),
            "city",
            ("city", "nightlife", "urban", "streets", "citylights"),
            (
                "City never sleeps",
                "Night drive downtown",
                "Rooftop view after work",
                "Lights, traffic, home",
            ),
            (233.1, 277.2, 349.2),
        ),
    )
}


@dataclass(frozen=True)
class DemoSpec:
    """One demo post: what to draw and what to say."""

    topic: str
    caption: str
    hashtags: list[str]
    seed: int


def demo_catalogue(n: int, seed: int = 0) -> list[DemoSpec]:
    """``n`` demo posts spread evenly over the topics, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    specs = []
    order: list[str] = []
    for i in range(n):
        if not order:
            order = [names[j] for j in rng.permutation(len(names))]
        topic = TOPICS[order.pop()]
        caption = topic.captions[int(rng.integers(len(topic.captions)))]
        k = int(rng.integers(2, 4))
        tags = [
            topic.hashtags[j] for j in sorted(rng.choice(len(topic.hashtags), k, replace=False))
        ]
        specs.append(DemoSpec(topic.name, caption, tags, seed * 100_003 + i))
    return specs
