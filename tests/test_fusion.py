from __future__ import annotations

import pytest

from advisor.retrieve.fusion import cap_per_group, reciprocal_rank_fusion


def test_rrf_scores_follow_the_formula() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63)
    assert fused["d"] == pytest.approx(1 / 62)


def test_rrf_orders_items_found_by_both_lists_first() -> None:
    order = [k for k, _ in reciprocal_rank_fusion([["a", "b", "c"], ["c", "x", "b"]])]
    assert order[:2] == ["c", "b"] or order[:2] == ["b", "c"]
    assert set(order) == {"a", "b", "c", "x"}


def test_rrf_ties_keep_first_seen_order_and_empty_lists_work() -> None:
    assert [k for k, _ in reciprocal_rank_fusion([["a"], ["b"]])] == ["a", "b"]
    assert reciprocal_rank_fusion([[], []]) == []
    assert [k for k, _ in reciprocal_rank_fusion([["a", "b"], []])] == ["a", "b"]


def test_rrf_weights() -> None:
    order = [k for k, _ in reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])]
    assert order == ["b", "a"]


def test_cap_per_group_limits_one_document_and_fills_up() -> None:
    items = [("d1", 1), ("d1", 2), ("d1", 3), ("d2", 4), ("d1", 5)]
    assert cap_per_group(items, lambda x: x[0], cap=2, limit=3) == [("d1", 1), ("d1", 2), ("d2", 4)]
    # too few other documents: capped items fill the remaining places, in order
    assert cap_per_group(items, lambda x: x[0], cap=1, limit=3) == [("d1", 1), ("d2", 4), ("d1", 2)]


def test_better_places_takes_either_rankings_place() -> None:
    from advisor.retrieve.fusion import better_places

    assert better_places(["en", "nl", "x"], ["nl", "x"]) == {"en": 0, "nl": 0, "x": 1}
    assert better_places(["a", "b"], []) == {"a": 0, "b": 1}
