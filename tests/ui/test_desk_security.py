"""The desk and symbolic links in the corpus, and what the desk's child processes may see."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from advisor.core.settings import Settings
from advisor.web import maintenance as desk

# ---------------------------------------------------------------- symbolic links


def test_removing_a_link_to_a_file_outside_removes_only_the_link(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "buiten.md"
    outside.write_text("# Buiten\n\nNiet van de corpus.\n")
    link = settings.corpus_dir / "link.md"
    link.symlink_to(outside)
    assert "link.md" in desk.corpus_files(settings)
    assert "re-index" in desk.remove_document(settings, "link.md")
    assert not link.is_symlink() and not link.exists()
    assert outside.read_text() == "# Buiten\n\nNiet van de corpus.\n"


def test_removing_a_link_to_another_corpus_document_keeps_that_document(settings: Settings) -> None:
    target = settings.corpus_dir / "vertrouwen.md"
    before = target.read_text()
    link = settings.corpus_dir / "alias.md"
    link.symlink_to(target)
    desk.remove_document(settings, "alias.md")
    assert not link.is_symlink()
    assert target.read_text() == before


def test_a_dangling_link_is_listed_and_can_be_removed(settings: Settings, tmp_path: Path) -> None:
    link = settings.corpus_dir / "weg.md"
    link.symlink_to(tmp_path / "bestaat-niet.md")
    assert "weg.md" in desk.corpus_files(settings)
    desk.remove_document(settings, "weg.md")
    assert not link.is_symlink()


def test_files_behind_a_linked_folder_are_never_listed_or_removed(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "elders"
    outside.mkdir()
    (outside / "geheim.md").write_text("# Geheim\n")
    (settings.corpus_dir / "sub").symlink_to(outside, target_is_directory=True)
    assert not any(f.startswith("sub/") for f in desk.corpus_files(settings))
    with pytest.raises(desk.UploadError, match="is not a file in the corpus"):
        desk.remove_document(settings, "sub/geheim.md")
    # Even if the listing named it, a folder that resolves outside the corpus is refused.
    monkeypatch.setattr(desk, "corpus_files", lambda s: ["sub/geheim.md"])
    with pytest.raises(desk.UploadError, match="is not a file in the corpus"):
        desk.remove_document(settings, "sub/geheim.md")
    assert (outside / "geheim.md").exists()


def test_uploading_over_a_link_replaces_the_link_not_the_file_outside(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "a.md"
    outside.write_text("# Buiten\n")
    link = settings.corpus_dir / "a.md"
    link.symlink_to(outside)
    saved = desk.save_upload(settings, "a.md", b"# Nieuw\n\nGeupload.\n")
    assert saved.replaced
    assert outside.read_text() == "# Buiten\n"
    assert not link.is_symlink()
    assert link.read_bytes() == b"# Nieuw\n\nGeupload.\n"


def test_uploading_over_a_link_to_another_document_leaves_that_document(settings: Settings) -> None:
    target = settings.corpus_dir / "vertrouwen.md"
    before = target.read_text()
    (settings.corpus_dir / "b.md").symlink_to(target)
    desk.save_upload(settings, "b.md", b"# B\n\nEigen tekst.\n")
    assert target.read_text() == before
    assert (settings.corpus_dir / "b.md").read_text() == "# B\n\nEigen tekst.\n"


def test_upload_never_writes_through_a_planted_temporary_name(settings: Settings, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("origineel")
    # The old temporary name was predictable; a link planted there must not be followed.
    for name in (f".c.md.upload-{os.getpid()}", ".c.md.upload-x"):
        (settings.corpus_dir / name).symlink_to(victim)
    desk.save_upload(settings, "c.md", b"# C\n\nTekst.\n")
    assert victim.read_text() == "origineel"
    assert (settings.corpus_dir / "c.md").read_text() == "# C\n\nTekst.\n"


# ---------------------------------------------------------------- child environments

DUMP_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
SECRETS = {"ADVISOR_ADMIN_PASSWORD": "wachtwoord-env", "OPENAI_API_KEY": "sk-env-key", "SECRET_X": "geheim-x"}


def _child_env(settings: Settings, kind: str) -> dict[str, Any]:
    command = [sys.executable, "-c", DUMP_ENV]
    runner = desk.Runner(settings, index_command=command, eval_command=command)
    assert "started" in (runner.start_index() if kind == "index" else runner.start_eval())
    deadline = time.monotonic() + 30
    while (job := runner.poll(kind)) is None or not job.finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job.result is not None, job.error
    return job.result


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


def test_index_child_gets_no_secret(settings: Settings, secrets_in_env: None) -> None:
    s = settings.model_copy(update={"admin_password": "wachtwoord-setting", "llm_backend": "openai", "llm_api_key": "sk-setting"})
    env = _child_env(s, "index")
    assert not set(SECRETS) & set(env)
    assert "ADVISOR_LLM_API_KEY" not in env
    values = set(env.values())
    assert not {"wachtwoord-env", "wachtwoord-setting", "sk-env-key", "sk-setting", "geheim-x"} & values
    # what it needs is there: the settings and the variables that run Python
    assert env["ADVISOR_CORPUS_DIR"] == str(settings.corpus_dir.resolve())
    assert env["ADVISOR_LLM_BACKEND"] == "openai"
    assert env["PATH"] == os.environ["PATH"]
    assert env["OMP_NUM_THREADS"] == "2" and env["LC_ALL"] == "C.UTF-8"
    assert env["HF_HUB_OFFLINE"] == "1"


def test_eval_child_gets_the_llm_key_only_when_an_llm_is_configured(settings: Settings, secrets_in_env: None) -> None:
    env = _child_env(settings, "eval")  # llm_backend "none": nothing to measure, no key
    assert not set(SECRETS) & set(env)
    env = _child_env(settings.model_copy(update={"llm_backend": "openai"}), "eval")
    assert env["OPENAI_API_KEY"] == "sk-env-key"
    assert "ADVISOR_ADMIN_PASSWORD" not in env and "SECRET_X" not in env
    env = _child_env(settings.model_copy(update={"llm_backend": "openai", "llm_api_key": "sk-setting", "admin_password": "pw"}), "eval")
    assert env["ADVISOR_LLM_API_KEY"] == "sk-setting"
    assert "OPENAI_API_KEY" not in env and "ADVISOR_ADMIN_PASSWORD" not in env
