"""Input dataclasses the server fills from its rows: catalogue, interaction log, user state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Catalogue:
    """All videos; an item's index is its position in these arrays."""

    item_ids: list[str]
    captions: list[str]
    hashtags: list[list[str]]
    creators: np.ndarray  # int creator index per item
    created_at: np.ndarray  # float unix seconds
    duration_s: np.ndarray  # float seconds
    visual: np.ndarray | None = None  # (n_items, d) float32, L2-normalised rows, optional
    creator_names: list[str] | None = None  # handle per creator index, for explanations

    def __post_init__(self) -> None:
        self.item_ids = [str(x) for x in self.item_ids]
        n = len(self.item_ids)
        self.captions = list(self.captions) if len(self.captions) else [""] * n
        self.hashtags = (
            [[str(t).lstrip("#").lower() for t in tags] for tags in self.hashtags]
            if len(self.hashtags)
            else [[] for _ in range(n)]
        )
        self.creators = np.asarray(self.creators, dtype=np.int64).reshape(-1)
        self.created_at = np.asarray(self.created_at, dtype=np.float64).reshape(-1)
        self.duration_s = np.asarray(self.duration_s, dtype=np.float64).reshape(-1)
        if self.visual is not None:
            self.visual = np.asarray(self.visual, dtype=np.float32)
            if self.visual.ndim != 2 or self.visual.shape[0] != n:
                raise ValueError("visual must have shape (n_items, d)")
        for name in ("captions", "hashtags", "creators", "created_at", "duration_s"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"catalogue.{name} has {len(getattr(self, name))} rows, not {n}")

    def head(self, n: int) -> Catalogue:
        """The first ``n`` items (uploads are appended, so their indices stay the same)."""
        return Catalogue(
            item_ids=self.item_ids[:n],
            captions=self.captions[:n],
            hashtags=self.hashtags[:n],
            creators=self.creators[:n],
            created_at=self.created_at[:n],
            duration_s=self.duration_s[:n],
            visual=None if self.visual is None else self.visual[:n],
            creator_names=self.creator_names,
        )

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def title(self, item: int, max_len: int = 40) -> str:
        """Short human title of an item: its caption without hashtags, else its first tag."""
        words = [w for w in self.captions[item].split() if not w.startswith("#")]
        text = " ".join(words).strip()
        if not text:
            tags = self.hashtags[item]
            text = f"#{tags[0]}" if tags else f"video {self.item_ids[item]}"
        if len(text) > max_len:
            text = text[: max_len - 1].rstrip() + "…"
        return text

    def creator_name(self, creator: int) -> str:
        if self.creator_names is not None and 0 <= creator < len(self.creator_names):
            return self.creator_names[creator]
        return f"creator {creator}"

    @classmethod
    def empty(cls) -> Catalogue:
        return cls([], [], [], np.zeros(0), np.zeros(0), np.zeros(0))


@dataclass
class Events:
    """The append-only interaction log, one row per event (parallel arrays)."""

    user: np.ndarray  # int user index
    item: np.ndarray  # int item index (-1 when not about an item, e.g. a bare follow)
    kind: np.ndarray  # str, one of signals.EVENT_KINDS
    value: np.ndarray  # float: watch fraction for "view", weight for "implicit", else 1
    ts: np.ndarray  # float unix seconds

    def __post_init__(self) -> None:
        self.user = np.asarray(self.user, dtype=np.int64).reshape(-1)
        self.item = np.asarray(self.item, dtype=np.int64).reshape(-1)
        self.kind = np.asarray(self.kind, dtype=str).reshape(-1)
        self.value = np.asarray(self.value, dtype=np.float64).reshape(-1)
        self.ts = np.asarray(self.ts, dtype=np.float64).reshape(-1)
        n = len(self.user)
        for name in ("item", "kind", "value", "ts"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"events.{name} has {len(getattr(self, name))} rows, not {n}")

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask: np.ndarray) -> Events:
        return Events(
            self.user[mask], self.item[mask], self.kind[mask], self.value[mask], self.ts[mask]
        )

    @classmethod
    def empty(cls) -> Events:
        return cls(np.zeros(0), np.zeros(0), np.zeros(0, dtype=str), np.zeros(0), np.zeros(0))


@dataclass
class UserState:
    """What the server knows about the requesting user right now (built per request).

    positives: item index -> implicit weight of recent positive interactions (likes,
        completed watches, ...), newest knowledge wins over the fitted history.
    negatives: items marked not-interested (the item and its near neighbours sink).
    followed_creators: creator indices the user follows.
    seen: items served in this cursor chain or recently watched (never shown again).
    """

    positives: dict[int, float] = field(default_factory=dict)
    negatives: set[int] = field(default_factory=set)
    followed_creators: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)


@dataclass
class Reason:
    """One contribution to a recommendation's score."""

    kind: str  # content | collaborative | following | trending | freshness | explore
    weight: float  # this source's contribution to the score
    text: str  # human sentence fragment, e.g. "Because you liked 'sunset timelapse'"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "weight": round(float(self.weight), 4), "text": self.text}


@dataclass
class Recommendation:
    """One ranked feed entry with its explanation."""

    item: int
    score: float
    reasons: list[Reason]
    explanation: str

    def to_dict(self) -> dict[str, object]:
        return {
            "item": self.item,
            "score": round(float(self.score), 4),
            "reasons": [r.to_dict() for r in self.reasons],
            "explanation": self.explanation,
        }
