"""Counters as people read them (shortstack/counts.py), shared by the web pages, the terminal
client and the CLI."""

from __future__ import annotations

import pytest

from shortstack.counts import counted, noun, short_count


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (None, "0"),
        (0, "0"),
        (1, "1"),
        (999, "999"),
        (1000, "1K"),
        (1099, "1K"),
        (1100, "1.1K"),
        (1999, "1.9K"),  # rounded down: it has not reached 2K
        (9999, "9.9K"),
        (10_000, "10K"),
        (15_300, "15K"),
        (999_999, "999K"),
        (1_000_000, "1M"),
        (1_250_000, "1.2M"),
        (12_500_000, "12M"),
        (-5, "0"),
    ],
)
def test_short_count(n, shown) -> None:
    assert short_count(n) == shown


def test_one_of_a_thing_is_singular() -> None:
    assert counted(1, "view") == "1 view"
    assert counted(0, "view") == "0 views"
    assert counted(2, "like") == "2 likes"
    assert counted(1500, "follower") == "1.5K followers"
    assert counted(1, "following", "following") == "1 following"
    assert counted(3, "following", "following") == "3 following"
    assert noun(1, "video") == "video" and noun(None, "video") == "videos"
