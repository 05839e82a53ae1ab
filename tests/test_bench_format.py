"""The bench's issue #14 verdicts, computed from a run's figures (no model needed)."""

from __future__ import annotations

from typing import Any

from advisor.tools.bench import format_runtimes, int8_within

GOLD = {"recall@5": 0.9058, "mrr": 0.8050, "section_recall@5": 0.7609, "key_point_recall": 0.4160, "refusal_precision": 0.9167, "refusal_recall": 0.9429}


def _run(int8_gold: dict[str, float] | None) -> dict[str, Any]:
    build = {"full_build_s": 30.0, "chunks_per_s": 22.0, "embed_bound_s": 28.0, "passages_per_s_bound": 23.6,
             "full_build_over_bound": 1.07, "index_command_s": 32.0, "index_command_rss_mb": 930, "runs": 2}
    runtimes: dict[str, Any] = {"onnx": build, "torch": build | {"full_build_s": 42.0}, "speedup": {"full_build": 1.4}}
    if int8_gold is not None:
        runtimes["int8"] = build | {"full_build_s": 16.0}
        runtimes["speedup"] |= {"full_build_int8": 2.62}
    return {
        "indexing": {"runtimes": runtimes},
        "quality": {"advisor_fp32": GOLD if int8_gold else None, "advisor_int8": int8_gold},
        "scale": [],
    }


def test_int8_passages_pass_when_every_gated_gold_figure_stays_within_a_hundredth() -> None:
    assert int8_within(_run(GOLD | {"mrr": 0.8089})) is True


def test_int8_passages_fail_when_one_gated_gold_figure_moves_more_than_a_hundredth() -> None:
    assert int8_within(_run(GOLD | {"refusal_precision": 0.9429})) is False


def test_without_an_int8_build_there_is_no_verdict_and_no_int8_line() -> None:
    r = _run(None)
    assert int8_within(r) is None
    assert not any("int8" in line for line in format_runtimes(r))


def test_the_int8_line_names_its_speedup_and_each_gold_figures_move() -> None:
    text = "\n".join(format_runtimes(_run(GOLD | {"mrr": 0.8089})))
    assert "2.62x" in text
    assert "mrr 0.8089 (+0.0039)" in text


def test_the_bench_children_never_reach_a_deployments_chroma_server(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from advisor.core.settings import Settings
    from advisor.tools.bench import _child_env

    monkeypatch.setenv("ADVISOR_CHROMA_SERVER_URL", "http://127.0.0.1:8000")
    settings = Settings(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i", models_dir=tmp_path / "m", chroma_server_url="http://127.0.0.1:8000")
    env = _child_env(settings.in_folders(), "onnx")
    assert "ADVISOR_CHROMA_SERVER_URL" not in env
    assert env["ADVISOR_INDEX_DIR"] == str((tmp_path / "i").absolute())
    assert settings.in_folders(index_dir=tmp_path / "x").chroma_server_url is None
