"""Pure ranking functions: reciprocal-rank fusion and per-document caps."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = 60, weights: Sequence[float] | None = None) -> list[tuple[K, float]]:
    """Fuse ranked lists: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.

    Cormack, Clarke & Buettcher (2009), "Reciprocal rank fusion outperforms Condorcet and
    individual rank learning methods". Ties keep first-seen order, so the result is deterministic.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[K, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    order = {key: i for i, key in enumerate(dict.fromkeys(x for r in rankings for x in r))}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def cap_per_group(items: Iterable[T], group: Callable[[T], Hashable], cap: int, limit: int) -> list[T]:
    """Keep ranking order but at most `cap` items per group, so one document cannot fill every slot.

    When fewer than `limit` items survive, the capped-out ones fill the remaining places in order.
    """
    items = list(items)
    kept: list[T] = []
    overflow: list[T] = []
    counts: dict[Hashable, int] = {}
    for item in items:
        g = group(item)
        if counts.get(g, 0) < cap:
            kept.append(item)
            counts[g] = counts.get(g, 0) + 1
        else:
            overflow.append(item)
        if len(kept) >= limit:
            return kept
    return (kept + overflow)[:limit]


def better_places(primary: Sequence[K], secondary: Sequence[K]) -> dict[K, int]:
    """Each item of `primary` at the better of its place there and its place in `secondary` (an
    item `secondary` lacks keeps its primary place): either ranking's first is a first."""
    second = {key: i for i, key in enumerate(secondary)}
    return {key: min(i, second.get(key, i)) for i, key in enumerate(primary)}
