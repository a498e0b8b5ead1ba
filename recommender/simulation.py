"""Feed lab: synthetic users with hidden tastes scroll the real Recommender's feed, step by step."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .data import Catalogue, Events
from .lab_metrics import compute_metrics
from .model import Recommender
from .ranking import BlendWeights
from .signals import SignalWeights, user_state_from_events
from .synthetic import make_catalogue, simulate_events, topic_names

#: progress(step_done, n_steps) after every simulated step
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SimulationConfig:
    """Size and pace of one simulated world (a step is one hour of platform time)."""

    n_users: int = 200
    n_steps: int = 50
    n_items: int = 12000  # starting catalogue: 1000 a topic, more than a user scrolls through
    n_topics: int = 12
    page_size: int = 6  # items each user scrolls per step (one feed page)
    refit_every: int = 5  # steps between model refits, as the server's background refit
    uploads_per_step: int = 12  # new videos per step, going live at each catalogue refresh
    warmup_views: int = 8  # per user, synthetic history before the burn-in
    # steps every setting first scrolls under the default weights (shared, not measured), so
    # the curves start from a feed that already knows its users: what they then show is the
    # setting's feedback loop, not the cold start
    burn_in: int = 10
    window: int = 5  # steps the windowed metrics look back over
    step_hours: float = 1.0
    ease_l2: float = 100.0  # fixed, so refits skip the validation search
    ease_max_items: int = 2000  # above this the collaborative model is PureSVD (as the server)
    svd_components: int = 32  # fixed PureSVD rank, so refits skip the rank search
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_users", "n_steps", "n_items", "n_topics", "page_size", "refit_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.uploads_per_step < 0 or self.warmup_views < 0 or self.burn_in < 0:
            raise ValueError("uploads_per_step, warmup_views and burn_in must be >= 0")


@dataclass
class Population:
    """Hidden traits of the synthetic users (the recommender never sees these)."""

    tastes: np.ndarray  # (n_users, n_topics) rows sum to 1
    favourite: np.ndarray  # (n_users, n_topics) bool: the topics the user loves
    curiosity: np.ndarray  # (n_users,) chance of giving an off-taste video a real watch
    attention_s: np.ndarray  # (n_users,) seconds the user will watch before getting bored

    @property
    def n_users(self) -> int:
        return self.tastes.shape[0]


@dataclass
class LabWorld:
    """A catalogue that grows over the run, item traits and the population."""

    catalogue: Catalogue  # every item, including uploads that arrive later
    item_topic: np.ndarray
    quality: np.ndarray  # (n_items,) hidden appeal multiplier around 1
    arrival_step: np.ndarray  # (n_items,) -1 for the starting catalogue
    topics: list[str]
    population: Population
    history: Events  # warm-up and burn-in log before step 0
    start: float  # unix time of step 0
    # (burn_in, n_users, page_size) pages served during the burn-in: the metrics' windows
    # look back into them, so step 0 is measured like every other step
    burn_pages: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.int64))


@dataclass
class SimulationResult:
    """Per-step metric curves of one run plus what was served."""

    weights: BlendWeights
    config: SimulationConfig
    metrics: dict[str, np.ndarray]  # name -> (n_steps,) curve, see lab_metrics.METRICS
    pages: np.ndarray  # (n_steps, n_users, page_size) item indices served, -1 = empty
    watch: np.ndarray  # (n_steps, n_users, page_size) watch fraction, 0 for empty slots
    likes: np.ndarray  # (n_steps, n_users, page_size) bool
    seconds: float = 0.0
    refits: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def final(self) -> dict[str, float]:
        """Each metric averaged over the last ``window`` steps (less noisy than the last one)."""
        tail = max(1, min(self.config.window, self.config.n_steps))
        return {name: float(np.mean(curve[-tail:])) for name, curve in self.metrics.items()}

    def curves(self) -> dict[str, list[float]]:
        return {name: [round(float(v), 6) for v in curve] for name, curve in self.metrics.items()}


def make_population(n_users: int, n_topics: int, rng: np.random.Generator) -> Population:
    """Users love 1-4 topics (uneven), like the rest a little; curiosity and attention vary."""
    n_fav = rng.choice([1, 2, 3, 4], p=[0.25, 0.35, 0.25, 0.15], size=n_users)
    n_fav = np.minimum(n_fav, n_topics)
    tastes = np.full((n_users, n_topics), 0.15 / n_topics)
    favourite = np.zeros((n_users, n_topics), dtype=bool)
    for u in range(n_users):
        fav = rng.choice(n_topics, size=int(n_fav[u]), replace=False)
        favourite[u, fav] = True
        tastes[u, fav] += 0.85 * rng.dirichlet(np.full(len(fav), 4.0))
    tastes /= tastes.sum(axis=1, keepdims=True)
    curiosity = rng.beta(2.0, 6.0, size=n_users)
    attention_s = np.clip(rng.lognormal(np.log(25.0), 0.6, size=n_users), 4.0, 120.0)
    return Population(tastes, favourite, curiosity, attention_s)


def make_lab_world(config: SimulationConfig, *, workers: int = 1) -> LabWorld:
    """Catalogue, uploads to come, users and warm-up history, fully determined by the seed.

    After the synthetic warm-up the users scroll ``config.burn_in`` steps of the starting
    catalogue under the default weights; those events join the history.
    """
    rng = np.random.default_rng([config.seed, 8])
    start = 1_700_000_000.0
    # uploads go live in batches when the catalogue is refreshed (at each refit), each
    # batch made of what was uploaded during the hours before it
    batches = np.arange(0, config.n_steps, config.refit_every)
    batch = config.uploads_per_step * config.refit_every
    total = config.n_items + batch * len(batches)
    cat, item_topic = make_catalogue(
        total, config.n_topics, rng, now=start, n_creators=max(10, total // 25)
    )
    arrival = np.full(total, -1, dtype=np.int64)
    arrival[config.n_items :] = np.repeat(batches, batch)
    hour = 3600.0 * config.step_hours
    created = cat.created_at.copy()
    new = arrival >= 0
    spread = rng.random(int(new.sum())) * config.refit_every
    created[new] = start + (arrival[new] - config.refit_every + spread) * hour
    cat.created_at = created
    quality = np.clip(rng.lognormal(0.0, 0.35, size=total), 0.4, 2.0)
    population = make_population(config.n_users, config.n_topics, rng)
    old = slice(0, config.n_items)
    history = simulate_events(
        population.tastes,
        item_topic[old],
        cat.duration_s[old],
        config.n_users * config.warmup_views,
        rng,
        now=start,
        span_days=7.0,
        users=np.repeat(np.arange(config.n_users), config.warmup_views),
    )
    world = LabWorld(
        cat, item_topic, quality, arrival, topic_names(config.n_topics), population, history, start
    )
    if config.burn_in:
        _burn_in(world, config, workers)
    return world


def _burn_in(world: LabWorld, config: SimulationConfig, workers: int) -> None:
    """Run the loop under the default weights on the starting catalogue, just before step 0."""
    n = config.n_items
    hour = 3600.0 * config.step_hours
    before = LabWorld(
        world.catalogue.head(n),
        world.item_topic[:n],
        world.quality[:n],
        world.arrival_step[:n],
        world.topics,
        world.population,
        world.history,
        world.start - config.burn_in * hour,
    )
    burn = replace(config, n_steps=config.burn_in, burn_in=0)
    loop = _loop(before, burn, BlendWeights(), workers=workers)
    world.history = loop.log.events()
    world.burn_pages = loop.pages


def _live(world: LabWorld, step: int) -> int:
    """How many items are in the catalogue at ``step`` (the starting ones plus arrived uploads)."""
    arrival = world.arrival_step
    return int((arrival < 0).sum() + np.searchsorted(arrival[arrival >= 0], step, side="right"))


class _Log:
    """Append-only event log built in chunks, turned into ``Events`` for each refit."""

    def __init__(self, first: Events) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = [
            (first.user, first.item, first.kind, first.value, first.ts)
        ]

    def add(self, events: Events) -> None:
        self.parts.append((events.user, events.item, events.kind, events.value, events.ts))

    def events(self) -> Events:
        cols = list(zip(*self.parts, strict=True))
        return Events(*(np.concatenate(c) for c in cols))


def act(
    world: LabWorld, user: int, items: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """How ``user`` reacts to a page: watch fraction, like, share and not-interested per item.

    The chance of really watching grows with the hidden taste for the item's topic and its
    hidden quality; curious users sometimes watch off-taste videos too; attention span caps
    how much of a long video gets watched. Everything else is a quick swipe (a skip).
    """
    pop = world.population
    topic = world.item_topic[items]
    affinity = pop.tastes[user, topic] / pop.tastes[user].max()
    duration = world.catalogue.duration_s[items]
    k = len(items)
    engage_p = np.clip(affinity * world.quality[items] * 0.8, 0.0, 0.95)
    engaged = (rng.random(k) < engage_p) | (rng.random(k) < 0.3 * pop.curiosity[user])
    patience = pop.attention_s[user] * rng.uniform(0.6, 1.4, size=k)
    watched = np.where(patience >= duration, rng.uniform(0.9, 1.5, size=k), patience / duration)
    skipped = rng.uniform(0.3, 2.5, size=k) / duration
    frac = np.where(engaged, watched, skipped)
    like = engaged & (frac >= 0.8) & (rng.random(k) < 0.55 * affinity)
    share = engaged & (rng.random(k) < 0.04 * affinity)
    nope = ~engaged & (affinity < 0.2) & (rng.random(k) < 0.03)
    return frac, like, share, nope


@dataclass
class _UserMemory:
    """What the server would read about one user between fits (rebuilt after each refit):
    their events since the fit and their standing not-interested marks."""

    negatives: set[int] = field(default_factory=set)
    log: _Log = field(default_factory=lambda: _Log(Events.empty()))


@dataclass
class _Scrolled:
    """What a shard of users did over some steps (arrays indexed [step - first, user])."""

    users: np.ndarray
    pages: np.ndarray
    watch: np.ndarray
    likes: np.ndarray
    events: dict[tuple[int, int], Events]
    memory: list[_UserMemory]


def _scroll(
    world: LabWorld,
    config: SimulationConfig,
    weights: BlendWeights,
    model: Recommender,
    users: np.ndarray,
    memory: list[_UserMemory],
    steps: range,
) -> _Scrolled:
    """``users`` scroll one page each per step over ``steps`` (no refit in between)."""
    signals = model.signal_weights
    duration_s = world.catalogue.duration_s
    k = config.page_size
    hour = 3600.0 * config.step_hours
    shape = (len(steps), len(users), k)
    pages = np.full(shape, -1, dtype=np.int64)
    watch = np.zeros(shape)
    likes = np.zeros(shape, dtype=bool)
    events: dict[tuple[int, int], Events] = {}
    n_live = model.catalogue_.n_items
    for j, step in enumerate(steps):
        now = world.start + step * hour
        live = _live(world, step)
        if live != n_live:  # the server's catalogue refresh: uploads show up without a refit
            model.update_catalogue(world.catalogue.head(live))
            n_live = live
        for col, u in enumerate(users.tolist()):
            mem = memory[col]
            # the server's per-request state: the same function over the same kind of events
            state = user_state_from_events(
                mem.log.events(), u, duration_s, signals, negatives=mem.negatives
            )
            recs = model.recommend(u, state, k=k, weights=weights, now=now, seed=step + 1)
            items = np.array([r.item for r in recs], dtype=np.int64)
            if len(items) == 0:
                continue
            rng = np.random.default_rng([config.seed, 9, step, u])
            frac, like, share, nope = act(world, u, items, rng)
            t = now + 60.0 + u * 1e-3
            n = len(items)
            kinds = ["impression"] * n + ["view"] * n
            rows = [items, items, items[like], items[share], items[nope]]
            kinds += ["like"] * int(like.sum()) + ["share"] * int(share.sum())
            kinds += ["not_interested"] * int(nope.sum())
            item_col = np.concatenate(rows)
            value = np.ones(len(item_col))
            value[n : 2 * n] = frac
            stamp = np.full(len(item_col), t + 2.0)
            stamp[:n], stamp[n : 2 * n] = t, t + 1.0
            events[(step, u)] = Events(np.full(len(item_col), u), item_col, kinds, value, stamp)
            mem.log.add(events[(step, u)])
            mem.negatives.update(items[nope].tolist())
            pages[j, col, :n] = items
            watch[j, col, :n] = frac
            likes[j, col, :n] = like
    return _Scrolled(users, pages, watch, likes, events, memory)


_WORKER_WORLD: dict[str, LabWorld] = {}


def _worker_init(world: LabWorld) -> None:
    _WORKER_WORLD["world"] = world


def _worker_scroll(
    config: SimulationConfig,
    weights: BlendWeights,
    model: Recommender,
    users: np.ndarray,
    memory: list[_UserMemory],
    steps: range,
) -> _Scrolled:
    return _scroll(_WORKER_WORLD["world"], config, weights, model, users, memory, steps)


@dataclass
class _LoopResult:
    pages: np.ndarray
    watch: np.ndarray
    likes: np.ndarray
    log: _Log
    refits: int


def run_simulation(
    weights: BlendWeights = BlendWeights(),
    config: SimulationConfig = SimulationConfig(),
    *,
    world: LabWorld | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> SimulationResult:
    """Let the population scroll the real feed for ``config.n_steps`` steps under ``weights``.

    Each step every user gets one page from ``Recommender.recommend`` (with the per-request
    ``UserState`` the server would build: what they did since the last fit), watches,
    likes, shares, skips or marks not-interested; the events join the log at once. New
    uploads reach the model through ``update_catalogue`` as they arrive, and the model is
    refitted on the whole log every ``refit_every`` steps. Users only meet through the
    refits, so ``workers`` > 1 scrolls shards of users in processes in between; the
    numbers do not depend on ``workers``. Same config and weights give the same numbers.
    """
    started = time.perf_counter()
    world = world or make_lab_world(config, workers=workers)
    loop = _loop(world, config, weights, progress=progress, workers=workers)
    pages, watch, likes = loop.pages, loop.watch, loop.likes
    lead = world.burn_pages[-(config.window - 1) :] if config.window > 1 else world.burn_pages[:0]
    metrics = compute_metrics(
        np.concatenate([lead, pages]) if len(lead) else pages,
        item_topic=world.item_topic,
        creators=world.catalogue.creators,
        arrival_step=world.arrival_step,
        tastes=world.population.tastes,
        favourite=world.population.favourite,
        window=config.window,
        lead=len(lead),
    )
    shown = pages >= 0
    extra = {
        "watch_fraction": float(np.minimum(watch[shown], 1.0).mean()) if shown.any() else 0.0,
        "like_rate": float(likes[shown].mean()) if shown.any() else 0.0,
    }
    return SimulationResult(
        weights,
        config,
        metrics,
        pages,
        watch,
        likes,
        seconds=time.perf_counter() - started,
        refits=loop.refits,
        extra=extra,
    )


def _loop(
    world: LabWorld,
    config: SimulationConfig,
    weights: BlendWeights,
    *,
    progress: Progress | None = None,
    workers: int = 1,
) -> _LoopResult:
    """The scroll-act-refit loop of ``run_simulation``: what was served and the whole log."""
    n_users, k = config.n_users, config.page_size
    hour = 3600.0 * config.step_hours
    log = _Log(world.history)
    shape = (config.n_steps, n_users, k)
    pages = np.full(shape, -1, dtype=np.int64)
    watch = np.zeros(shape)
    likes = np.zeros(shape, dtype=bool)
    negatives: list[set[int]] = [set() for _ in range(n_users)]
    hist = world.history
    said_no = np.asarray(hist.kind) == "not_interested"
    for u, item in zip(hist.user[said_no].tolist(), hist.item[said_no].tolist(), strict=True):
        if 0 <= u < n_users:
            negatives[u].add(item)
    shards = np.array_split(np.arange(n_users), max(1, min(int(workers), n_users)))
    pool = None
    if len(shards) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = ProcessPoolExecutor(
            len(shards),
            mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(world,),
        )
    refits = 0
    try:
        for first in range(0, config.n_steps, config.refit_every):
            steps = range(first, min(first + config.refit_every, config.n_steps))
            now = world.start + first * hour
            live = _live(world, first)
            model = Recommender(
                SignalWeights(),
                ease_l2=config.ease_l2,
                ease_max_items=config.ease_max_items,
                svd_components=config.svd_components,
                random_state=config.seed,
            )
            model.fit(world.catalogue.head(live), log.events(), n_users, now)
            refits += 1
            # the fit knows everything so far: per-request state starts afresh
            memory = [[_UserMemory(negatives=negatives[u]) for u in shard] for shard in shards]
            if pool is None:
                done = [_scroll(world, config, weights, model, shards[0], memory[0], steps)]
            else:
                futures = [
                    pool.submit(_worker_scroll, config, weights, model, shard, mem, steps)
                    for shard, mem in zip(shards, memory, strict=True)
                ]
                done = [f.result() for f in futures]
            chunks: dict[tuple[int, int], Events] = {}
            for part in done:
                pages[steps.start : steps.stop, part.users] = part.pages
                watch[steps.start : steps.stop, part.users] = part.watch
                likes[steps.start : steps.stop, part.users] = part.likes
                chunks.update(part.events)
                for u, mem in zip(part.users.tolist(), part.memory, strict=True):
                    negatives[u] = mem.negatives
            for key in sorted(chunks):  # canonical order: the log never depends on sharding
                log.add(chunks[key])
            if progress is not None:
                for step in steps:
                    progress(step + 1, config.n_steps)
    finally:
        if pool is not None:
            pool.shutdown()
    return _LoopResult(pages, watch, likes, log, refits)


def compare(
    settings: dict[str, BlendWeights],
    config: SimulationConfig = SimulationConfig(),
    *,
    progress: Callable[[str, int, int], None] | None = None,
    workers: int = 1,
) -> dict[str, SimulationResult]:
    """Run the same world and population under each named weight setting (an A/B/C test)."""
    world = make_lab_world(config, workers=workers)
    out = {}
    for name, weights in settings.items():

        def step_done(done: int, total: int, name: str = name) -> None:
            if progress is not None:
                progress(name, done, total)

        out[name] = run_simulation(
            weights, config, world=world, progress=step_done, workers=workers
        )
    return out
