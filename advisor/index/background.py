"""The background passages: generic Dutch and English text, unrelated to the domain.

The embedding model scores text in the question's own language higher whatever it says (an
English question and a Dutch passage that answers it meet at a lower cosine similarity than the
same question and an English paraphrase). The mean vector of generic passages in each language
measures that for any question: q.mean(background_nl) - q.mean(background_en) is the question's
language gap, known before and apart from any corpus. Retrieval and the refusal rule subtract it
(`advisor.retrieve.search.LanguageStats`), so a score means the same on a one-language corpus, a
small one and the shipped one. The passages are original text (`background.yaml`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

BACKGROUND_FILE = "background.yaml"
PROBES_FILE = "probes.yaml"


@lru_cache(maxsize=1)
def background_passages() -> dict[str, tuple[str, ...]]:
    """language -> its background passages."""
    import yaml  # only a build needs it

    data = yaml.safe_load((resources.files("advisor.index") / BACKGROUND_FILE).read_text(encoding="utf-8"))
    return {lang: tuple(str(p) for p in data[lang]) for lang in ("nl", "en")}


@lru_cache(maxsize=1)
def probe_questions() -> dict[str, tuple[str, ...]]:
    """language -> its probe questions: plainly unrelated questions whose closeness to a corpus's
    passages is that corpus's level of chance similarity (`probes.yaml`)."""
    import yaml  # only a build needs it

    data = yaml.safe_load((resources.files("advisor.index") / PROBES_FILE).read_text(encoding="utf-8"))
    return {lang: tuple(str(q) for q in data[lang]) for lang in ("nl", "en")}
