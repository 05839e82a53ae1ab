"""The `advisor` command: index, ask, status, rollback, prune, eval, calibrate, serve, bench.

Exit codes: 0 success; 1 unexpected error; 2 usage error; 3 no index yet;
4 an evaluation below its bars; 75 another index build is running.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

EXIT_NO_INDEX = 3
EXIT_BELOW_BARS = 4
EXIT_BUSY = 75


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    @click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), help="Corpus folder (overrides settings).")
    @click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (overrides settings).")
    @functools.wraps(fn)
    def wrapper(*args: Any, corpus_dir: Path | None, index_dir: Path | None, **kwargs: Any) -> Any:
        from advisor.core.settings import load_settings

        try:
            settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir)
            from advisor.retrieve.glossary import check_glossary

            check_glossary(settings.glossary)
        except Exception as exc:  # noqa: BLE001 - a bad advisor.toml, env var or glossary file is a usage error
            raise click.UsageError(f"invalid settings: {exc}") from None
        return fn(*args, settings=settings, **kwargs)

    return wrapper


def _services(settings: Any) -> Any:
    """The composition root for this command; tests pass `obj={"embedder": ...}` to the runner."""
    from advisor.services import build_services

    obj = click.get_current_context().find_root().obj or {}
    return build_services(settings, embedder=obj.get("embedder"))


def _questions_file(settings: Any, path: Path | None) -> Path:
    """The questions file a command was given (default: the setting), or a usage error."""
    path = path or Path(settings.questions_file)
    if not path.is_file():
        raise click.UsageError(f"questions file '{path}' does not exist")
    return path


def _indexed_languages(settings: Any) -> dict[str, str]:
    """Each indexed document's language, from the current build; exit EXIT_NO_INDEX without one."""
    from advisor.index.stores import open_store

    store = open_store(settings)
    build = store.current()
    if build is None:
        click.echo("error: there is no index yet: run 'advisor index' first", err=True)
        sys.exit(EXIT_NO_INDEX)
    return {src: m["language"] for src, m in store.info(build)["manifest"].items()}


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(package_name="alliance-advisor")
def main(verbose: bool) -> None:
    """Alliance Advisor: cited advice on alliance management from your own corpus."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total, desc=f"{stage:<10}", unit="it", file=sys.stderr, leave=False, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


@main.command()
@click.option("--full", is_flag=True, help="Rebuild from scratch (the embedding cache is still used).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--strict", is_flag=True, help="Exit with 1 when any file failed to index.")
@_common
def index(settings: Any, full: bool, as_json: bool, strict: bool) -> None:
    """Index the corpus into a new build and make it current."""
    from advisor.index.layout import IndexBusyError, IndexVerifyError

    progress, close = _progress_bar()
    try:
        report = _services(settings).build_index(full=full, progress=None if as_json else progress)
    except IndexBusyError as exc:
        close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BUSY)
    except (IndexVerifyError, FileNotFoundError) as exc:
        close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    close()
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        if report.noop:
            click.echo(f"Index is up to date (build {report.build_id}): nothing to embed.")
        else:
            click.echo(f"Build {report.build_id} is now current.")
        click.echo(
            f"  added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
            f"unchanged {report.unchanged}, failed {len(report.failed)}"
        )
        click.echo(
            f"  {report.documents} documents, {report.chunks} chunks "
            f"({report.embedded} embedded, {report.cached} from cache) in {report.seconds:.1f} s"
        )
        for f in report.failed:
            click.echo(f"  failed: {f.source}: {f.reason}")
    if strict and report.failed:
        sys.exit(1)




@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per answer.")
@click.option("--history", "history", multiple=True, help="An earlier question of this conversation (repeatable).")
@_common
def ask(settings: Any, question: str | None, as_json: bool, history: tuple[str, ...]) -> None:
    """Answer QUESTION, or one question per line from standard input."""
    from advisor.retrieve.search import NoIndexError

    try:
        advisor = _services(settings).advisor
        advisor.reader.searcher()
    except NoIndexError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_NO_INDEX)
    questions = [question] if question is not None else (line.strip() for line in sys.stdin)
    for q in questions:
        if not q:
            continue
        if as_json:
            ans = advisor.answer(q, list(history))
            click.echo(json.dumps(ans.to_json(), ensure_ascii=False))
        else:
            shown = 0
            final = None
            for partial, done in advisor.stream(q, list(history)):
                click.echo(partial[shown:], nl=False)
                shown = len(partial)
                final = done
            click.echo("")
            if final is not None and final.citations:
                click.echo("")
                click.echo("Bronnen:" if final.language == "nl" else "Sources:")
                for c in final.citations:
                    where = ", ".join(x for x in (c.section, f"p. {c.page}" if c.page else "") if x)
                    click.echo(f"[{c.n}] {c.title} ({c.source}{'; ' + where if where else ''})")
            if final is not None and final.notice:
                click.echo(f"\n({final.notice})")
    if (click.get_current_context().find_root().obj or {}).get("fast_exit"):
        # The answers are out: end without the interpreter's teardown, which spends about 0.6 s freeing
        # the tokenizer's 250k-piece vocabulary and the loaded modules before the shell has its prompt back.
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(0)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@_common
def status(settings: Any, as_json: bool) -> None:
    """Show the current build: documents, chunks, model, when built."""
    from advisor.index.stores import open_store

    store = open_store(settings)
    build = store.current(fresh=True)
    if build is None:
        if as_json:
            click.echo(json.dumps({"build": None, "building": store.is_building()}))
        else:
            click.echo("No index yet: run 'advisor index'.")
        sys.exit(EXIT_NO_INDEX)
    info = store.info(build)
    out = {
        "build": build,
        "previous": store.previous(),
        "created": info["created"],
        "model": info["model"],
        "backend": info.get("backend", "embedded"),
        "documents": info["documents"],
        "chunks": info["chunks"],
        "failed": [{"source": f["source"], "reason": f["reason"]} for f in info.get("failed", [])],
        "building": store.is_building(),
    }
    progress = store.progress() if out["building"] else None
    if progress is not None:
        out["progress"] = progress
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"build:     {out['build']} (created {out['created']})")
    click.echo(f"model:     {out['model']} ({out['backend']} Chroma)")
    click.echo(f"documents: {out['documents']}, chunks: {out['chunks']}, failed files: {len(out['failed'])}")
    if out["previous"]:
        click.echo(f"previous:  {out['previous']} (advisor rollback)")
    if out["building"]:
        p = out.get("progress") or {}
        where = f" ({p.get('stage')} {p.get('done')}/{p.get('total')})" if p.get("total") else ""
        click.echo(f"a new build is being made now{where}")


@main.command()
@_common
def rollback(settings: Any) -> None:
    """Make the previous build current again (on a Chroma server: for every app node)."""
    from advisor.index.layout import IndexBusyError
    from advisor.index.stores import open_store

    try:
        build = open_store(settings).rollback()
    except IndexBusyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BUSY)
    except RuntimeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Build {build} is current again.")


@main.command()
@_common
def prune(settings: Any) -> None:
    """Remove every build but the current and the previous one (what crashed builds left)."""
    from advisor.index.layout import IndexBusyError
    from advisor.index.stores import open_store

    store = open_store(settings)
    try:
        with store.writer():
            dropped = store.prune({b for b in (store.current(fresh=True), store.previous()) if b})
    except IndexBusyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BUSY)
    click.echo(f"Removed {len(dropped)} build(s){': ' + ', '.join(dropped) if dropped else ''}.")


@main.command("eval")
@click.option("--questions", "questions_path", type=click.Path(path_type=Path), default=None,
              help="A questions file (docs/eval/README.md); default: the setting questions_file, the gold set.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None, help="Where reports are kept (default: <index>/eval).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write the report to this file.")
@click.option("--fail-under", default="", help="Bars, e.g. 'recall@5=0.9,mrr=0.75': exit 4 below any.")
@click.option("--limit", type=int, default=None, help="Only the first N questions (a quick check).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@_common
def eval_cmd(settings: Any, questions_path: Path | None, report_dir: Path | None, out: Path | None, fail_under: str, limit: int | None, as_json: bool) -> None:
    """Run the gold question set against the current index and compare with the last report."""
    from tqdm import tqdm

    from advisor.evaluate import below_bars, compare, format_table, latest_report, load_questions, parse_bars, run_eval
    from advisor.retrieve.search import NoIndexError

    try:
        bars = parse_bars(fail_under)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    index_dir = Path(settings.index_dir)
    languages = _indexed_languages(settings)
    questions_path = _questions_file(settings, questions_path)
    try:
        questions = load_questions(questions_path, languages)[:limit]
    except ValueError as exc:
        raise click.UsageError(f"{questions_path.name}: {exc}") from None
    try:
        advisor = _services(settings).advisor
    except NoIndexError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_NO_INDEX)
    bar = tqdm(total=len(questions), desc="evaluating", unit="q", file=sys.stderr, dynamic_ncols=True)
    report = run_eval(advisor, questions, progress=lambda done, total: bar.update(1))
    bar.close()
    report_dir = report_dir or index_dir / "eval"
    previous = latest_report(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    data = report.to_json()
    (report_dir / f"eval-{stamp}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    if as_json:
        click.echo(json.dumps({"metrics": report.metrics, "groups": report.groups}))
    else:
        if previous is not None:
            worse, better = compare(report.metrics, previous[1]["metrics"])
            click.echo(f"Compared with {previous[0].name}:")
            for line in worse:
                click.echo(f"  REGRESSION {line}")
            for line in better:
                click.echo(f"  improved   {line}")
            if not worse and not better:
                click.echo("  no change")
            click.echo("")
        click.echo(format_table(report))
    failing = below_bars(report.metrics, bars)
    if failing:
        for line in failing:
            click.echo(f"below bar: {line}", err=True)
        sys.exit(EXIT_BELOW_BARS)


@main.command()
@click.option("--questions", "questions_path", type=click.Path(path_type=Path), default=None,
              help="A questions file (docs/eval/README.md); default: the setting questions_file, the gold set.")
@click.option("--write", is_flag=True, help="Write the proposed values into the settings file in use (ADVISOR_CONFIG or ./advisor.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@_common
def calibrate(settings: Any, questions_path: Path | None, write: bool, as_json: bool) -> None:
    """Propose refusal thresholds from your questions on the current index, and show what changes."""
    from tqdm import tqdm

    from advisor.core.settings import RULE_SETTINGS, config_path, overridden_by_environment, write_config
    from advisor.retrieve.search import NoIndexError
    from advisor.tools.calibrate import format_text, questions_for, run_calibration

    path = _questions_file(settings, questions_path)
    languages = _indexed_languages(settings)
    try:
        questions, builtin = questions_for(path, languages)
    except (ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(f"{path.name}: {exc}") from None
    if not any(q.answerable for q in questions):
        raise click.UsageError(f"{path.name} has no answerable questions to calibrate on")
    try:
        # The rule is weighed on the extractive chain's retrieval; no language model is asked.
        advisor = _services(settings.model_copy(update={"llm_backend": "none"})).advisor
    except NoIndexError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_NO_INDEX)
    from advisor.answer.service import Advisor

    def with_glossary(glossary: str) -> Any:  # the same index and model, another glossary
        return Advisor(advisor.settings.model_copy(update={"glossary": glossary}), advisor.embedder)

    bar = tqdm(total=None, desc="calibrating", unit="q", file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    cal = run_calibration(advisor, questions, source=str(path), builtin=builtin, progress=progress, with_glossary=with_glossary)
    bar.close()
    data = cal.to_json()
    overrides = overridden_by_environment([*RULE_SETTINGS, "glossary"])
    data["environment_overrides"] = overrides
    data["written"] = None
    if write:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        target = write_config(cal.values(), config_path(), note=f"refusal rule set by advisor calibrate on {stamp}, {len(questions)} questions from {path.name}")
        data["written"] = str(target)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(format_text(cal))
    click.echo("")
    if write:
        click.echo(f"Written to {data['written']}: {', '.join(f'{k} = {v}' for k, v in cal.values().items())}.")
    elif cal.proposed != cal.current or "glossary" in cal.values():
        click.echo(f"Nothing written. To use the proposed rule: advisor calibrate --write (into {config_path()}).")
    if overrides:
        click.echo(f"Note: {', '.join(overrides)} set in the environment win over {config_path()}; unset them to use the written values.")


@main.command()
@click.option("--questions", "questions_path", type=click.Path(path_type=Path, exists=True), default=Path("tests/eval/questions.yaml"), show_default=True)
@click.option("--scales", default="10000,100000", show_default=True, help="Synthetic chunk counts for the scale runs ('' for none).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("docs/bench"), show_default=True)
@click.option("--repeat", "repeats", type=click.IntRange(1), default=2, show_default=True, help="Full builds per runtime (medians).")
@_common
def bench(settings: Any, questions_path: Path, scales: str, out_dir: Path, repeats: int) -> None:
    """Measure indexing, retrieval and answer speed and quality against the naive LangChain recipe,
    and cold starts and builds against the torch path before ONNX Runtime."""
    import importlib.util

    from tqdm import tqdm

    missing = [m for m in ("langchain_chroma", "langchain_huggingface", "langchain_text_splitters") if importlib.util.find_spec(m) is None]
    if missing:
        raise click.UsageError(f"advisor bench needs the 'bench' extra: pip install -e '.[bench]' (missing: {', '.join(missing)})")
    from advisor.tools.bench import format_table, run_bench

    sizes = tuple(int(x) for x in scales.split(",") if x.strip())
    steps = 11 + 2 * repeats + len(sizes)
    bar = tqdm(total=steps, desc="bench", unit="step", file=sys.stderr, dynamic_ncols=True)

    def step(what: str) -> None:
        bar.set_postfix_str(what[:60])
        bar.update(1)

    result = run_bench(settings, questions_path, sizes, out_dir, step, repeats)
    bar.close()
    click.echo(format_table(result))
    click.echo(f"\nwritten to {out_dir / 'latest.json'}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1 or GRADIO_SERVER_NAME).")
@click.option("--port", default=None, type=int, help="Port (default 7860 or GRADIO_SERVER_PORT).")
@_common
def serve(settings: Any, host: str | None, port: int | None) -> None:
    """Start the web app, building the index first when there is none."""
    from advisor.web.launch import serve as run

    run(settings, host=host, port=port)


def run() -> None:
    """The `advisor` command as its own process (the console script, `python -m advisor`): `main`, and
    `ask` may end the process as soon as its answers are written. Tests call `main` itself."""
    main(obj={"fast_exit": True})


if __name__ == "__main__":
    run()
