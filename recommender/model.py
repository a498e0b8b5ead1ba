"""The Recommender estimator: fit on a catalogue and interaction log, then rank feeds per request."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import numpy as np
import scipy.sparse as sp

from .candidates import (
    CatalogueIndex,
    SourceScores,
    first_allowed,
    merge_candidates,
    sample_explore,
)
from .collaborative import CollaborativeChoice, fit_collaborative, item_cosine
from .content import ContentModel
from .data import Catalogue, Events, Reason, Recommendation, UserState
from .diversity import mmr_rerank
from .explain import Explainer, top_source
from .ranking import BlendWeights, blend, negative_penalty, source_scales
from .signals import SignalWeights, aggregate
from .sparse_rows import SparseRows
from .trending import TrendingModel, freshness


def _valid_items(items: Iterable[int], n: int) -> np.ndarray:
    arr = np.fromiter((int(i) for i in items), dtype=np.int64)
    return arr[(arr >= 0) & (arr < n)]


class Recommender:
    """Hybrid short-video recommender (scikit-learn style: configure, ``fit``, then rank).

    ``fit`` learns everything that needs the whole log (collaborative item model, TF-IDF
    vocabulary, trending, exposure); ``recommend`` builds the user's taste on the fly from
    the fitted history plus the request's ``UserState``, so a like, a completed watch or a
    not-interested changes the very next page without a refit. Same inputs and ``seed``
    give the same page. ``recommend`` and ``trending`` never mutate the model, so one
    fitted instance can serve concurrent requests; refit a new instance and swap it in.

    Parameters (all keyword, with defaults meant for config.toml):
        signal_weights: implicit-feedback weight per interaction kind.
        trending_half_life_h: half-life of engagement in the trending score.
        freshness_half_life_h: half-life of the freshness bonus of new uploads.
        history_half_life: a user's n-th most recent positive counts 2**(-n/this).
        max_history: most recent positives used per request.
        ease_max_items: largest catalogue fitted with EASE (dense item x item, O(n^2)
            memory); larger catalogues use PureSVD item factors.
        ease_l2: fixed EASE lambda; None picks it on a holdout.
        svd_components: fixed PureSVD rank; None picks it on a holdout.
        candidates_per_source: candidates each source contributes before blending.
        diversity: MMR trade-off, 0 = pure relevance, 1 = pure novelty within the page.
        max_per_creator: videos of one creator per 10 results.
        negative_strength: how hard items near a not-interested item sink (1 = below all).
        negative_radius: similarity at which an item counts as a full near neighbour.
        explore_quantile: exposure quantile under which an item is "under-exposed".
        visual_weight: share of content similarity from visual vectors, when given.
        random_state: seed for model selection and the per-request exploration draw.
    """

    def __init__(
        self,
        signal_weights: SignalWeights = SignalWeights(),
        *,
        trending_half_life_h: float = 24.0,
        freshness_half_life_h: float = 48.0,
        history_half_life: float = 20.0,
        max_history: int = 200,
        ease_max_items: int = 6000,
        ease_l2: float | None = None,
        svd_components: int | None = None,
        candidates_per_source: int = 300,
        diversity: float = 0.2,
        max_per_creator: int = 2,
        negative_strength: float = 1.0,
        negative_radius: float = 0.35,
        explore_quantile: float = 0.25,
        visual_weight: float = 0.5,
        random_state: int = 0,
    ) -> None:
        self.signal_weights = signal_weights
        self.trending_half_life_h = trending_half_life_h
        self.freshness_half_life_h = freshness_half_life_h
        self.history_half_life = history_half_life
        self.max_history = max_history
        self.ease_max_items = ease_max_items
        self.ease_l2 = ease_l2
        self.svd_components = svd_components
        self.candidates_per_source = candidates_per_source
        self.diversity = diversity
        self.max_per_creator = max_per_creator
        self.negative_strength = negative_strength
        self.negative_radius = negative_radius
        self.explore_quantile = explore_quantile
        self.visual_weight = visual_weight
        self.random_state = random_state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        # a model pickled by an older version lacks the serving structures: build them
        if "xt_" in state and "xt_rows_" not in state:
            self.xt_rows_ = SparseRows(self.xt_)
        if "index_" in state and "explore_set_" not in state:
            self.explore_set_ = self.content_.item_set(self.index_.explore_items)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        catalogue: Catalogue,
        events: Events,
        n_users: int,
        now: float,
        *,
        progress: Callable[[str, float], None] | None = None,
    ) -> Recommender:
        """Learn from the whole log; ``events`` may be empty and ``catalogue`` may be empty.

        ``progress(stage, fraction)`` is called as the fit advances (for job heartbeats).
        """
        report = progress or (lambda stage, fraction: None)
        report("signals", 0.0)
        n_items = catalogue.n_items
        n_users = max(int(n_users), int(events.user.max()) + 1 if len(events) else 0, 0)
        inter = aggregate(events, n_users, n_items, catalogue.duration_s, self.signal_weights)
        self.n_users_ = n_users
        self.x_ = inter.positives
        self.x_ts_ = inter.last_ts
        self.viewed_ = inter.viewed
        report("collaborative", 0.1)
        self.collab_, self.collab_choice_ = fit_collaborative(
            self.x_,
            ease_max_items=self.ease_max_items,
            ease_l2=self.ease_l2,
            svd_components=self.svd_components,
            random_state=self.random_state,
        )
        # item x user rows, for co-engagement cosine between a few items per request
        self.xt_ = sp.csr_matrix(self.x_.T)
        self.x_norms_ = np.sqrt(np.asarray(self.xt_.multiply(self.xt_).sum(axis=1)).ravel())
        self.xt_rows_ = SparseRows(self.xt_)
        report("content", 0.8)
        self.content_ = ContentModel(visual_weight=self.visual_weight).fit(catalogue)
        report("trending", 0.95)
        self.trending_ = TrendingModel(self.trending_half_life_h).fit(
            inter.engagement_item, inter.engagement_ts, inter.engagement_weight, n_items, now
        )
        self.exposure_ = inter.exposure
        self.fit_item_ids_ = list(catalogue.item_ids)
        self.fitted_at_ = float(now)
        self._set_catalogue(catalogue, np.arange(n_items, dtype=np.int64))
        report("done", 1.0)
        return self

    def update_catalogue(self, catalogue: Catalogue) -> Recommender:
        """Switch to a newer catalogue (uploads, deletions) without refitting.

        Items are matched to the fitted ones by ``item_ids``; new items get content
        vectors (the TF-IDF vocabulary is refitted: about a second per 50k items), zero
        exposure (so exploration finds them) and no collaborative signal until the next
        ``fit``. Deleted items simply disappear. Fitted parts are replaced, never
        mutated, so ``copy.copy(model).update_catalogue(new)`` leaves ``model`` intact.
        """
        if not hasattr(self, "catalogue_"):
            now = float(catalogue.created_at.max()) if catalogue.n_items else 0.0
            return self.fit(catalogue, Events.empty(), 0, now)
        position = {item_id: n for n, item_id in enumerate(catalogue.item_ids)}
        fit_to_cur = np.array([position.get(i, -1) for i in self.fit_item_ids_], dtype=np.int64)
        prev_to_cur = np.array(
            [position.get(i, -1) for i in self.catalogue_.item_ids], dtype=np.int64
        )
        self.trending_ = self.trending_.resized(prev_to_cur, catalogue.n_items)
        exposure = np.zeros(catalogue.n_items)
        keep = prev_to_cur >= 0
        exposure[prev_to_cur[keep]] = self.exposure_[keep]
        self.exposure_ = exposure
        # the vocabulary is refitted too, so hashtags first seen after the fit count at once
        self.content_ = ContentModel(visual_weight=self.visual_weight).fit(catalogue)
        self._set_catalogue(catalogue, fit_to_cur)
        return self

    def _set_catalogue(self, catalogue: Catalogue, fit_to_cur: np.ndarray) -> None:
        self.catalogue_ = catalogue
        self.fit_to_cur_ = fit_to_cur
        cur_to_fit = np.full(catalogue.n_items, -1, dtype=np.int64)
        ok = fit_to_cur >= 0
        cur_to_fit[fit_to_cur[ok]] = np.flatnonzero(ok)
        self.cur_to_fit_ = cur_to_fit
        self.identity_map_ = len(fit_to_cur) == catalogue.n_items and bool(
            np.array_equal(fit_to_cur, np.arange(catalogue.n_items))
        )
        self.hashtag_trend_ = self.trending_.hashtag_scores(catalogue)
        self.index_ = CatalogueIndex(
            catalogue.created_at,
            catalogue.creators,
            self.trending_.score_,
            self.exposure_,
            explore_quantile=self.explore_quantile,
            freshness_half_life_h=self.freshness_half_life_h,
        )
        self.explore_set_ = self.content_.item_set(self.index_.explore_items)

    @property
    def collaborative_choice(self) -> CollaborativeChoice:
        return self.collab_choice_

    # ------------------------------------------------------------------ request helpers
    def _history(self, user: int | None, state: UserState) -> tuple[np.ndarray, np.ndarray]:
        """The user's positive items (current indices) and recency-decayed weights.

        Fitted positives oldest first, then the request's positives in their order (one
        of them replaces the same item's fitted entry); not-interested items dropped.
        """
        n = self.catalogue_.n_items
        items = np.zeros(0, dtype=np.int64)
        weights = np.zeros(0, dtype=np.float64)
        if user is not None and 0 <= user < self.n_users_ and self.x_.nnz:
            a, b = self.x_.indptr[user], self.x_.indptr[user + 1]
            order = np.argsort(self.x_ts_.data[a:b], kind="stable")
            cur = self.fit_to_cur_[self.x_.indices[a:b][order]]
            ok = cur >= 0
            items, weights = cur[ok], self.x_.data[a:b][order][ok].astype(np.float64)
        if state.positives:
            s_items = np.fromiter(
                state.positives.keys(), dtype=np.int64, count=len(state.positives)
            )
            s_w = np.fromiter(state.positives.values(), dtype=np.float64, count=len(s_items))
            ok = (s_items >= 0) & (s_items < n) & np.isfinite(s_w) & (s_w > 0)
            s_items, s_w = s_items[ok], s_w[ok]
            if len(s_items):
                older = ~np.isin(items, s_items)
                items = np.concatenate([items[older], s_items])
                weights = np.concatenate([weights[older], s_w])
        if state.negatives and len(items):
            keep = ~np.isin(items, np.fromiter(state.negatives, dtype=np.int64))
            items, weights = items[keep], weights[keep]
        items, weights = items[-self.max_history :], weights[-self.max_history :]
        if len(items) and self.history_half_life:
            rank_from_newest = np.arange(len(items))[::-1]
            weights = weights * np.exp2(-rank_from_newest / self.history_half_life)
        return items, weights

    def _watched(self, user: int | None) -> np.ndarray:
        """Current indices of the items ``user`` watched before the fit (skips included)."""
        if user is None or not 0 <= user < self.viewed_.shape[0]:
            return np.zeros(0, dtype=np.int64)
        fitted = self.viewed_.indices[self.viewed_.indptr[user] : self.viewed_.indptr[user + 1]]
        cur = self.fit_to_cur_[fitted]
        return cur[cur >= 0]

    def _collab_scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        n = self.catalogue_.n_items
        if self.collab_ is None or len(items) == 0:
            return np.zeros(n, dtype=np.float32)
        fit_items = self.cur_to_fit_[items]
        ok = fit_items >= 0
        if not ok.any():
            return np.zeros(n, dtype=np.float32)
        s_fit = self.collab_.scores(fit_items[ok], weights[ok])
        if self.identity_map_:
            return s_fit
        out = np.zeros(n, dtype=np.float32)
        mapped = self.fit_to_cur_ >= 0
        out[self.fit_to_cur_[mapped]] = s_fit[mapped]
        return out

    def _item_similarity(self, a: np.ndarray, b: np.ndarray, *, collab: bool = True) -> np.ndarray:
        """max(content cosine, co-engagement cosine) between current-index item sets."""
        sim = self.content_.similarity(a, b)
        if collab and self.xt_.nnz and len(a) and len(b):
            fa, fb = self.cur_to_fit_[a], self.cur_to_fit_[b]
            oa, ob = np.flatnonzero(fa >= 0), np.flatnonzero(fb >= 0)
            if len(oa) and len(ob):
                co = item_cosine(self.xt_rows_, self.x_norms_, fa[oa], fb[ob])
                if len(oa) == len(a) and len(ob) == len(b):
                    np.maximum(sim, co, out=sim)
                else:
                    sim[np.ix_(oa, ob)] = np.maximum(sim[np.ix_(oa, ob)], co)
        return sim

    def _sources(
        self, items: np.ndarray, weights: np.ndarray, followed: Collection[int], now: float
    ) -> SourceScores:
        return SourceScores(
            content=self.content_.profile_scores(items, weights),
            collaborative=self._collab_scores(items, weights),
            index=self.index_,
            followed=np.fromiter((int(c) for c in followed), dtype=np.int64),
            now=now,
            freshness_half_life_h=self.freshness_half_life_h,
        )

    # ------------------------------------------------------------------ ranking
    def recommend(
        self,
        user: int | None,
        state: UserState,
        *,
        k: int,
        weights: BlendWeights = BlendWeights(),
        now: float,
        exclude: Collection[int] = frozenset(),
        seed: int = 0,
    ) -> list[Recommendation]:
        """The next ``k`` For You items for ``user`` (None = anonymous), best first.

        Never returns an item in ``exclude``, ``state.seen``, ``state.negatives`` or one
        the user already engaged with, nor one they watched before the fit (even a skip)
        while at least ``k`` others are left; items near a not-interested item sink.
        """
        if not hasattr(self, "catalogue_") or k <= 0 or self.catalogue_.n_items == 0:
            return []
        cat = self.catalogue_
        n = cat.n_items
        items, hist_w = self._history(user, state)
        negatives = _valid_items(state.negatives, n)
        allowed = np.ones(n, dtype=bool)
        allowed[_valid_items(state.seen, n)] = False
        allowed[_valid_items(exclude, n)] = False
        allowed[negatives] = False
        allowed[items] = False
        # what the user watched before the fit (skips too) is not shown again, unless that
        # leaves less than a page: a small catalogue then comes round again
        watched = self._watched(user)
        if len(watched) and np.count_nonzero(allowed) - np.count_nonzero(allowed[watched]) >= k:
            allowed[watched] = False
        blocked = n - np.count_nonzero(allowed)
        if blocked == n:
            return []
        if len(negatives) and len(items):
            # "less of this": history items close to a rejected one stop steering the feed
            near_hist = self._item_similarity(negatives, items).max(axis=0)
            hist_w = hist_w * (1.0 - np.clip(near_hist / max(self.negative_radius, 1e-6), 0, 1))
            items, hist_w = items[hist_w > 0], hist_w[hist_w > 0]
        src = self._sources(items, hist_w, state.followed_creators, now)
        active = weights.blend_items()
        cands = merge_candidates(
            src, allowed, per_source=self.candidates_per_source, active=active, blocked=blocked
        )
        if len(cands) < k:  # every weight zero or too few signals: fill by trending, newest
            extra = [
                first_allowed(self.index_.hottest, allowed, k, blocked),
                first_allowed(self.index_.newest, allowed, k, blocked),
            ]
            cands = np.unique(np.concatenate([cands, *extra]))
        scales = source_scales(cands, src, trending_max=self.index_.trending_max)
        score, parts = blend(cands, src, weights, scales)
        n_explore = int(round(k * float(np.clip(weights.explore, 0.0, 1.0))))
        n_explore = min(n_explore, k)
        pool = min(len(cands), max(4 * k, 50))
        if len(negatives) and len(cands):
            score = self._sink_near_negatives(score, cands, negatives, weights, pool)
        order = np.argsort(-score, kind="stable")[:pool]
        top = cands[order]
        # diversity is judged on content (topics, hashtags, visuals); co-engagement only
        # when the catalogue has no text at all
        sim = (
            self._item_similarity(top, top, collab=not self.content_.has_text)
            if self.diversity > 0
            else np.zeros((pool, pool))
        )
        picked_pos = mmr_rerank(
            np.arange(pool),
            score[order],
            sim,
            cat.creators[top],
            k,
            relevance=1.0 - self.diversity,
            max_per_creator=max(1, self.max_per_creator * max(1, k // 10)),
        )
        rng = np.random.default_rng(
            [
                self.random_state & 0x7FFFFFFF,
                int(seed) & 0x7FFFFFFF,
                (user + 1) if user is not None and user >= 0 else 0,
            ]
        )
        explore_allowed = allowed.copy()
        explore_allowed[top[picked_pos]] = False
        damp = None
        if len(negatives) and n_explore:  # do not explore next to what the user just rejected
            pool_items = self.index_.explore_items
            sim_pool = self.content_.similarity(negatives, self.explore_set_).max(axis=0)
            near_pool = np.clip(sim_pool / max(self.negative_radius, 1e-6), 0.0, 1.0)
            explore_allowed[pool_items[near_pool >= 0.5]] = False
            damp = 1.0 - near_pool
        explored = sample_explore(src, explore_allowed, n_explore, rng, damp=damp)
        main = top[picked_pos][: k - len(explored)]
        main_score = score[order][picked_pos][: k - len(explored)]
        main_parts = {name: p[order][picked_pos] for name, p in parts.items()}

        ex_score, ex_parts = blend(explored, src, weights, scales)
        final: list[tuple[int, float, dict[str, float], bool]] = [
            (int(it), float(s), {nm: float(p[j]) for nm, p in main_parts.items()}, False)
            for j, (it, s) in enumerate(zip(main, main_score, strict=True))
        ]
        positions = (
            np.sort(rng.choice(np.arange(1, k), size=len(explored), replace=False))
            if len(explored) and k > 1 and len(explored) < k
            else np.arange(len(explored))
        )
        for j, (pos, it) in enumerate(zip(positions.tolist(), explored.tolist(), strict=True)):
            contrib = {nm: float(p[j]) for nm, p in ex_parts.items()}
            contrib["explore"] = float(weights.explore)
            final.insert(
                min(pos, len(final)), (int(it), float(ex_score[j] + weights.explore), contrib, True)
            )
        return self._explain(final, items, hist_w, now)

    def _sink_near_negatives(
        self,
        score: np.ndarray,
        cands: np.ndarray,
        negatives: np.ndarray,
        weights: BlendWeights,
        pool: int,
    ) -> np.ndarray:
        """``score`` lowered by each candidate's closeness to the not-interested items.

        Only the best candidates get their penalty: it can only lower a score, so once
        ``pool`` penalised scores beat every score not yet looked at, the others cannot
        reach the top ``pool`` (the only part of the ranking kept) and stay as they are.
        """
        by_score = np.argsort(-score, kind="stable")
        out = score.copy()
        start, step = 0, max(4 * pool, 64)
        while start < len(cands):
            chunk = by_score[start : start + step]
            sim_neg = self._item_similarity(negatives, cands[chunk]).max(axis=0)
            near = np.clip(sim_neg / max(self.negative_radius, 1e-6), 0.0, 1.0)
            out[chunk] = score[chunk] - negative_penalty(near, weights, self.negative_strength)
            start += len(chunk)
            if start >= len(cands):
                break
            done = out[by_score[:start]]
            if (
                len(done) >= pool
                and -np.partition(-done, pool - 1)[pool - 1] > score[by_score[start]]
            ):
                break
            step *= 2
        return out

    def _explain(
        self,
        final: list[tuple[int, float, dict[str, float], bool]],
        hist_items: np.ndarray,
        hist_w: np.ndarray,
        now: float,
    ) -> list[Recommendation]:
        targets = np.array([f[0] for f in final], dtype=np.int64)
        collab_src = np.full(len(targets), -1, dtype=np.int64)
        content_src = np.full(len(targets), -1, dtype=np.int64)
        if len(hist_items) and len(targets):
            csim = self.content_.similarity(hist_items, targets) * hist_w[:, None].astype(
                np.float32
            )
            content_src = top_source(csim, hist_items)
            if self.collab_ is not None:
                fh, ft = self.cur_to_fit_[hist_items], self.cur_to_fit_[targets]
                oh, ot = np.flatnonzero(fh >= 0), np.flatnonzero(ft >= 0)
                if len(oh) and len(ot):
                    contrib = self.collab_.contributions(fh[oh], ft[ot]) * hist_w[oh, None]
                    collab_src[ot] = top_source(np.asarray(contrib), hist_items[oh])
        explainer = Explainer(
            self.catalogue_,
            hashtag_trend=self.hashtag_trend_,
            trending_half_life_h=self.trending_half_life_h,
            now=now,
        )
        out = []
        for j, (item, score, contrib, _explored) in enumerate(final):
            reasons, sentence = explainer.reasons(
                item,
                contrib,
                collab_source=int(collab_src[j]) if collab_src[j] >= 0 else None,
                content_source=int(content_src[j]) if content_src[j] >= 0 else None,
            )
            out.append(Recommendation(item, round(score, 6), reasons, sentence))
        return out

    def trending(
        self, *, k: int, now: float, exclude: Collection[int] = frozenset()
    ) -> list[Recommendation]:
        """Time-decayed engagement ranking, then the newest videos once engagement runs out."""
        if not hasattr(self, "catalogue_") or k <= 0 or self.catalogue_.n_items == 0:
            return []
        cat = self.catalogue_
        n = cat.n_items
        allowed = np.ones(n, dtype=bool)
        allowed[_valid_items(exclude, n)] = False
        blocked = n - np.count_nonzero(allowed)
        hot = first_allowed(self.index_.hottest, allowed, k, blocked)
        if len(hot) < k:
            allowed[hot] = False
            rest = first_allowed(self.index_.newest, allowed, k - len(hot), blocked + len(hot))
            hot = np.concatenate([hot, rest])
        explainer = Explainer(
            cat,
            hashtag_trend=self.hashtag_trend_,
            trending_half_life_h=self.trending_half_life_h,
            now=now,
        )
        trend = self.index_.trending[hot]
        fresh = freshness(cat.created_at[hot], now, self.freshness_half_life_h)
        top = np.log1p(self.index_.trending_max) or 1.0
        out = []
        for j, item in enumerate(hot.tolist()):
            kind = "trending" if trend[j] > 0 else "freshness"
            weight = float(np.log1p(trend[j]) / top) if trend[j] > 0 else float(fresh[j])
            text = explainer.text(kind, item)
            out.append(Recommendation(item, round(weight, 6), [Reason(kind, weight, text)], text))
        return out
