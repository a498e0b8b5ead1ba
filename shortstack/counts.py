"""Counters as people read them, the same on web pages, in the terminal client and the CLI.

``short_count(1234)`` is ``1.2K``; ``counted(1, "view")`` is ``1 view`` and
``counted(15_300, "view")`` is ``15K views``.
"""

from __future__ import annotations


def short_count(n: int | None) -> str:
    """999, 1.2K, 15K, 3.4M: exact below a thousand, then one decimal below ten of a unit."""
    n = max(0, int(n or 0))
    if n < 1000:
        return str(n)
    unit, size = ("M", 1_000_000) if n >= 1_000_000 else ("K", 1000)
    tenths = n * 10 // size  # rounded down, as the big sites do: 1,999 is 1.9K, not 2K
    if tenths >= 100 or tenths % 10 == 0:
        return f"{tenths // 10}{unit}"
    return f"{tenths // 10}.{tenths % 10}{unit}"


def noun(n: int | None, singular: str, plural: str | None = None) -> str:
    """``singular`` for exactly one, else ``plural`` (default: ``singular`` + "s")."""
    return singular if int(n or 0) == 1 else (plural or singular + "s")


def counted(n: int | None, singular: str, plural: str | None = None) -> str:
    """``1 view``, ``12 views``, ``1.2K views``."""
    return f"{short_count(n)} {noun(n, singular, plural)}"
