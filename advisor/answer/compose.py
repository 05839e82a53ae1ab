"""The extractive answer: an advisor's answer built from the section that fits the question best.

No language model is involved, so nothing can be invented: every point is verbatim text of a
cited passage (`advisor.answer.points`). The composer

1. refuses when the corpus does not cover the question (`is_covered`), and says which of the
   question's key terms (a standard, an authority, a number) no passage names (`uncovered_terms`);
2. reads each retrieved section whole, as units that stand alone;
3. picks the section that fits best: the similarity of its best units to the question, how its role
   fits the question's intent (`advisor.retrieve.intent`), the passages' order, and the asker's
   language when a section in it fits about as well;
4. answers from it in its own shape: a list section as its steps or items in order, each with its
   name; a section of paragraphs as its sentences closest to the question, in reading order;
5. adds a second section only when it fits nearly as well, and ends with where to read on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from advisor.answer.points import Candidate, defect, opens_case, section_candidates, states_lesson
from advisor.core.text import WORD_OR_NUMBER, phrase_pattern, split_sentences, stopwords, words
from advisor.core.types import Answer, AnswerPoint, Chunk, Citation, Hit, Language
from advisor.ingest.structure import Unit, only_donts, section_role, things_to_do, without_number
from advisor.retrieve.fusion import better_places
from advisor.retrieve.intent import PREFERRED_ROLES, WEAK_ROLES, Intent, role_fit

Vectorize = Callable[[Sequence[str]], np.ndarray]
SectionOf = Callable[[tuple[str, str]], Sequence[Chunk]]
SectionsIn = Callable[[str], Sequence[tuple[str, str]]]  # a document's section keys in reading order
SectionSimilarity = Callable[[tuple[str, str]], float]  # a section's best chunk, language-centred, to the question

TEXTS = {
    "nl": {
        "intro": "Dit zeggen de bronnen in de kennisbank over uw vraag:",
        "refusal": (
            "De kennisbank behandelt deze vraag niet, dus ik geef hier geen advies dat ik niet met een "
            "bron kan onderbouwen."
        ),
        "nearest": "Onderwerpen die er het dichtst bij liggen:",
        "other_language": "De passages zijn in het Engels en worden letterlijk geciteerd, niet vertaald.",
        "empty": "Stel een vraag over samenwerking tussen organisaties.",
        "frame": {
            "how": "Wat u kunt doen",
            "why": "Waarom dit gebeurt",
            "signals": "Waaraan u het herkent",
            "research": "Wat het onderzoek zegt",
            "options": "De mogelijkheden",
            "what": "Wat de bronnen erover zeggen",
            "avoid": "Wat u beter vermijdt",
            "example": "Een voorbeeld",
        },
        "according": "volgens {where}",
        "where": "„{section}” in *{title}*",
        "where_title": "*{title}*",
        "also": "Ook relevant, uit {where}:",
        "read_more": "Lees verder: {where}",
        "marker": "_(EN)_",
        "marker_note": "_(EN): geciteerd uit een Engelstalige bron, niet vertaald._",
        "more_items": "_…en nog {n} in de bron._",
        "not_covered": "De bronnen noemen {terms} niet; over dat deel geeft dit antwoord geen advies.",
        "no_figure": "De bronnen geven geen cijfer voor {terms}; over dat deel geeft dit antwoord geen advies.",
    },
    "en": {
        "intro": "Here is what the sources in the knowledge base say about your question:",
        "refusal": (
            "The knowledge base does not cover this question, so I will not give advice I cannot back "
            "with a source."
        ),
        "nearest": "Nearest topics it does cover:",
        "other_language": "The passages are in Dutch and are quoted as written, not translated.",
        "empty": "Ask a question about collaboration between organisations.",
        "frame": {
            "how": "What you can do",
            "why": "Why this happens",
            "signals": "How to tell",
            "research": "What the research says",
            "options": "The options",
            "what": "What the sources say",
            "avoid": "What to avoid",
            "example": "An example",
        },
        "according": "according to {where}",
        "where": "“{section}” in *{title}*",
        "where_title": "*{title}*",
        "also": "Also relevant, from {where}:",
        "read_more": "Read more: {where}",
        "marker": "_(NL)_",
        "marker_note": "_(NL): quoted from a Dutch source, not translated._",
        "more_items": "_…and {n} more in the source._",
        "not_covered": "The sources do not mention {terms}; this answer gives no advice on that part.",
        "no_figure": "The sources give no figure for {terms}; this answer gives no advice on that part.",
    },
}


def nearest_topics(hits: Sequence[Hit], n: int = 3) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for h in hits:
        topic = h.chunk.title + (f": {h.chunk.section}" if h.chunk.section else "")
        if h.chunk.title not in {t.split(":")[0] for t in seen}:
            seen.setdefault(topic, None)
        if len(seen) >= n:
            break
    return tuple(seen)


def refusal(
    question: str, language: Language, hits: Sequence[Hit], retrieval_query: str = "", *, near: bool = True, uncovered: Sequence[str] = ()
) -> Answer:
    """The refusal; it says which key terms no source names, and names the nearest topics the corpus
    covers only when the question came near them."""
    t = TEXTS[language]
    topics = nearest_topics(hits) if near else ()
    text = t["refusal"]
    if uncovered:
        text += " " + " ".join(f"_{note.split(';')[0]}._" for note in gap_notes(t, uncovered))
    if topics:
        text += "\n\n" + t["nearest"] + "\n" + "\n".join(f"- {x}" for x in topics)
    return Answer(question, language, text, refused=True, suggestions=topics, retrieval_query=retrieval_query, uncovered=tuple(uncovered))


def gap_notes(t: dict[str, str], uncovered: Sequence[str]) -> list[str]:
    """What the answer says of the key terms no source covers: the terms it does not name, and the
    amounts it gives no figure for ("how much tax": "no figure for tax")."""
    named = [u for u in uncovered if not asks_amount(u)]
    amounts = [u.split()[-1] for u in uncovered if asks_amount(u)]
    notes = [t["not_covered"].format(terms=", ".join(named))] if named else []
    return notes + ([t["no_figure"].format(terms=", ".join(amounts))] if amounts else [])


def evidence(hits: Sequence[Hit]) -> tuple[float, float]:
    """(best similarity, best keyword coverage) the refusal rule weighs: a `Passages` carries them
    from the fused ranking; for a plain list of hits they are the hits' own."""
    best = getattr(hits, "best_similarity", None)
    coverage = getattr(hits, "best_coverage", None)
    if best is None:
        best = max((h.dense_similarity or 0.0 for h in hits), default=0.0)
    if coverage is None:
        coverage = max((h.keyword_coverage for h in hits), default=0.0)
    return best, coverage


def is_covered(hits: Sequence[Hit], threshold: float, floor: float | None = None, keyword_coverage: float = 1.0) -> bool:
    """Does the corpus cover the question? Calibrated on the gold set (scripts/calibrate_refusal.py).

    Covered when the best passage is similar enough, or, between `floor` and `threshold`, when a
    passage also shares enough of the question's words: near-topic questions (a VAT rate for a
    joint venture) come close in meaning but name things no document names.
    """
    best, coverage = evidence(hits)
    if best >= threshold:
        return True
    if floor is None or best < floor:
        return False
    return coverage >= keyword_coverage




def frame_language(text: str) -> str | None:
    """The language of an extractive answer's own words (its frame or refusal), or None."""
    for lang, t in TEXTS.items():
        starts = [f"**{f}**" for f in t["frame"].values()] + [t["refusal"], t["empty"], t["intro"]]
        if any(text.startswith(x) for x in starts):
            return lang
    return None


# ---------------------------------------------------------------------------- key terms

# Acronyms and codes (IFRS, ACM, "IFRS 11", "A4"), and percentages ("21%").
_SPECIFIC = re.compile(r"\b(?:[A-Z][A-Z0-9]{1,5}(?:[ -]\d+)?|\d+(?:[.,]\d+)?\s?%)(?![\w])")

# Kinds of things where advice must be exact and a near passage is no answer: laws and duties,
# taxes and rates, standards, authorities, thresholds and fines. A question word is a key term
# when it starts with one of the short stems or contains one of the long ones (Dutch compounds:
# "btw-tarief", "omzetdrempels", "pensioenpremie").
_KIND_PREFIXES = (
    "btw", "tarief", "boete", "accijns", "aftrek", "premie", "wettelijk", "wetgev", "ifrs", "gaap",
    "tax", "levy", "levies", "rate", "rates", "fine", "fines", "licen", "permit", "gdpr", "notif", "statut", "penalt",
)
_KIND_PARTS = (
    "belasting", "heffing", "premie", "verordening", "autoriteit", "toezichthouder", "meldplicht", "drempel",
    "vergunning", "threshold", "regulator", "regulation", "authority", "directive", "deductib",
)
_KIND_WORDS = frozenset({"wet", "wetten", "law", "laws", "act"})

# The same kinds in the other language: an English question on Dutch passages (or the reverse)
# names its key term in a word no passage can contain. "without any formal authority" is covered
# by a passage on "gezag", a "threshold" by a "drempel". Whole words only (by their start), and
# only words that name the kind and nothing else: "wet" (law) is left out, it starts "weten".
_KIND_TRANSLATIONS: tuple[tuple[str, ...], ...] = (
    ("authorit", "autoriteit", "gezag"),
    ("regulator", "toezichthouder"),
    ("threshold", "drempel"),
    ("regulation", "verordening", "regelgeving"),
    ("directive", "richtlijn"),
    ("tax", "belasting"),
    ("levy", "levies", "heffing"),
    ("fine", "boete"),
    ("penalt", "boete", "sanctie"),
    ("licen", "permit", "vergunning"),
    ("deductib", "aftrek"),
)
_WORD_AS_WRITTEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)


# Taxes and rates are exact facts. A specific one ("withholding tax", "corporate tax rate",
# "vennootschapsbelasting", "belastingtarief") is a term of its own, with the word before it: a
# passage that names the kind in passing ("taxed unfavourably", "success rates") does not cover it,
# and neither does the kind's word in the other language.
_EXACT_HEADS = ("tax", "rate", "levy", "levies")
_EXACT_PARTS = ("belasting", "tarief", "heffing")


# Words before a tax or rate that do not say which one it is ("how much tax", "the current rate").
_GENERIC = frozenset(
    "hoeveel welk much many any high higher low lower current applicable maximum minimum average "
    "hoog hoge hoger laag lage lager huidig huidige gemiddeld gemiddelde maximaal minimaal".split()
)


# Words that ask for an amount of the kind right after them ("how much tax", "hoeveel belasting"):
# the question wants a figure, and a passage that names the kind without one ("taxed
# unfavourably") does not answer it.
_AMOUNT_WORDS = frozenset({"much", "hoeveel"})
_FIGURE = re.compile(r"\d")
_ENUMERATOR = re.compile(r"^\s*\d+[.)]\s")  # "7. Employment law." numbers an item; it is no figure


def _exact_kind(low: str) -> bool:
    return low.startswith(_EXACT_HEADS) or any(k in low for k in _EXACT_PARTS)


def _bare_kind(low: str) -> bool:
    """"tax", "rates", "belastingen": the kind itself, not a compound that specifies it."""
    return any(low.startswith(k) and len(low) - len(k) <= 3 for k in _EXACT_HEADS + _EXACT_PARTS)


def key_terms(question: str) -> list[str]:
    """The question's key terms: acronyms and codes (IFRS 11, ACM), percentages, and words naming
    a law, a tax or rate, a standard, an authority, a threshold or a fine. A tax or a rate keeps
    the word that specifies it ("withholding tax", "corporate tax rate")."""
    terms: dict[str, None] = {}
    for m in _SPECIFIC.finditer(question):
        terms.setdefault(m.group(0).strip(), None)
    stop = stopwords()
    unspecific = stop["nl"] | stop["en"] | _GENERIC  # words before a tax or rate that do not say which
    previous: re.Match[str] | None = None
    last = ""  # the last term taken from a word, when it ends at `previous`
    for m in _WORD_AS_WRITTEN.finditer(question):
        w = m.group(0)
        low = w.lower()
        joined = previous is not None and not question[previous.end() : m.start()].strip(" -")
        before, last_here = previous, last
        previous, last = m, ""
        if any(w in t.split() for t in terms):
            continue
        if not (low in _KIND_WORDS or low.startswith(_KIND_PREFIXES) or any(k in low for k in _KIND_PARTS)):
            continue
        if _bare_kind(low) and joined and before is not None and before.group(0).lower() not in unspecific:
            if last_here:  # "tax" + "rate": one term
                del terms[last_here]
                w = f"{last_here} {w}"
            else:
                w = f"{before.group(0)} {w}"
        elif _bare_kind(low) and joined and before is not None and before.group(0).lower() in _AMOUNT_WORDS:
            # "how much tax": an amount, as the question words it (`asks_amount`)
            start = question.rfind(" ", 0, before.start() - 1) + 1 if before.group(0).lower() == "much" else before.start()
            w = question[start : m.end()]
        terms.setdefault(w, None)
        last = w
    return list(terms)


def asks_amount(term: str) -> bool:
    """Is a key term an amount the question asks for ("How much tax", "Hoeveel belasting")?"""
    parts = term.lower().split()
    return len(parts) >= 2 and parts[-2] in _AMOUNT_WORDS and _bare_kind(parts[-1])


def _stem_of(term: str) -> str:
    low = term.lower()
    for suffix in ("en", "s"):
        if len(low) > 5 and low.endswith(suffix):
            return low[: -len(suffix)]
    return low


def _translations(term: str) -> list[str]:
    """The other language's words for a key term's kind (`_KIND_TRANSLATIONS`): "authority" ->
    "autoriteit", "gezag"; a compound names its kind inside it ("omzetdrempels" -> "threshold")."""
    low = term.lower()
    out: dict[str, None] = {}
    if " " in low or (_exact_kind(low) and not _bare_kind(low)):
        return []  # a specific tax or rate: the kind's word in the other language does not cover it
    for group in _KIND_TRANSLATIONS:
        if any(low.startswith(w) or (len(w) > 6 and w in low) for w in group):
            out.update((w, None) for w in group if not low.startswith(w) and w not in low)
    return list(out)


def uncovered_terms(question: str, hits: Sequence[Hit], known: Callable[[str], bool] | None = None) -> list[str]:
    """Key terms of the question (`key_terms`) that no retrieved passage contains, in the question's
    words or its kind's in the other language (`_translations`), and, when `known` tells, that the
    corpus never names (a CEO the corpus speaks of elsewhere is no gap). An amount ("how much tax")
    is named only by a sentence that gives the kind with a figure (`asks_amount`)."""
    texts = " ".join(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}" for h in hits).lower()

    def named(term: str) -> bool:
        if asks_amount(term):
            kind = _stem_of(term.split()[-1])
            said = (_ENUMERATOR.sub("", s) for h in hits for s in split_sentences(h.chunk.text.lower()))
            return any(kind in s and _FIGURE.search(s) for s in said)
        if " " in term:  # a specific tax or rate: its words together, as the question has them
            return phrase_pattern(term).search(texts) is not None or (known is not None and known(term))
        if _stem_of(term) in texts or (known is not None and known(term)):
            return True
        other = _translations(term)
        return any(re.search(rf"\b{re.escape(w)}", texts) for w in other) or (known is not None and any(known(w) for w in other))

    missing = [t for t in key_terms(question) if not named(t)]
    # "IFRS" and "IFRS-standaard" are one gap: the note names it once, by the shorter term
    return [t for t in missing if not any(o != t and o.lower() in t.lower() for o in missing)]


# ---------------------------------------------------------------------------- the composer


@dataclass
class _Section:
    key: tuple[str, str]
    rank: int  # place of its first passage among the hits
    doc_rank: int  # place of its document among the hits' documents
    chunks: Sequence[Chunk]
    candidates: list[Candidate]
    is_list: bool
    sims: list[float] = field(default_factory=list)
    score: float = 0.0

    @property
    def language(self) -> str:
        return self.chunks[0].language

    @property
    def role(self) -> str:
        return self.chunks[0].role

    @property
    def title(self) -> str:
        return self.chunks[0].title


@dataclass(frozen=True)
class ComposeOptions:
    """How the composer shapes an answer. The app builds it from `Settings` (max_steps, max_points,
    sentence_margin); these defaults equal the settings' (tests/test_answer.py checks)."""

    max_steps: int = 8  # steps or items of a list section
    max_points: int = 6  # sentences of a paragraph section
    sentence_margin: float = 0.08  # a sentence may be this far below the section's best
    also_points: int = 3  # points of a second section
    also_margin: float = 0.04  # a second section must score within this of the first
    fit_weight: float = 0.01  # weight of the section's role fit
    rank_weight: float = 0.005  # taken off per place of the section's first passage
    document_rank_weight: float = 0.04  # taken off per place of the section's document
    language_margin: float = 0.01  # a section in the asker's language wins when this close
    weak_margin: float = 0.03  # a case, checklist or opening gives way to a section this close that answers
    uncovered_margin: float = 0.02  # with an uncovered key term, refuse unless the best passage clears the threshold by this
    list_sentences: int = 4  # a list section's paragraph sentences this close to its best item join the points (docs/eval, stop 29)
    parent_details: int = 5  # further sentences of the step the question found, under it: with its first, as many as a paragraph section gives (max_points; 2 until stop 30)
    chunk_weight: float = 0.3  # share of a section's score from its best chunk (with its heading) rather than its sentences
    repeat_margin: float = 0.05  # a follow-up's answer starts from a section the last answer gave only when it fits this much better
    bridge_sentences: int = 2  # of a paragraph section, up to this many sentences between two picked ones are quoted too
    name_weight: float = 0.02  # added to a section whose own heading is a name the question gives ("Japan")
    role_margin: float = 0.1  # asked for signals, causes, research or mistakes: its document's section of that role within this of the first starts the answer (docs/eval, stop 30)
    similarity_document_rank: bool = True  # a document's place is the better of fusion's and its centred similarity's (`document_ranks`)


# The intents that ask for a section role by name, the first of their `PREFERRED_ROLES`: signals for
# how to tell, causes for why, research for what research says, a list of mistakes for what to
# avoid. (What to do, the default intent, is asked of nearly every question: there fit decides.)
_ASKS_FOR_ROLE = frozenset({"signals", "why", "research", "avoid"})


# The frame says what the section gives: the question's own frame only over a section that gives
# it ("Why this happens" over causes, not over failure rates; "What you can do" over advice, not
# over a description), else the frame of what the section is, else the neutral one.
FRAME_ROLES: dict[str, frozenset[str]] = {
    "how": frozenset({"steps", "dos_donts"}),
    "why": frozenset({"causes"}),
    "signals": frozenset({"signals", "checklist"}),
    "research": frozenset({"research"}),
    "options": frozenset({"steps", "background"}),
    "example": frozenset({"example"}),
}
# ("Why this happens" is not among them: over causes the question did not ask about, the neutral frame)
_FRAME_OF_ROLE = {"steps": "how", "dos_donts": "how", "signals": "signals", "research": "research"}


def frame_for(intent: Intent, role: str) -> str:
    """Which frame leads an answer to a question of `intent` from a section of `role`."""
    if intent == "avoid":  # "What to avoid" stands over a list of mistakes only (`only_donts`); else as for how
        intent = "how"
    if intent == "what" or role in FRAME_ROLES.get(intent, frozenset()):
        return intent
    return _FRAME_OF_ROLE.get(role, "what")


def describes_advice(section: _Section) -> bool:
    """May "What you can do" lead an answer from this section? Not over numbered stages or factors
    that only their count made steps ("Van grap naar cynisme: hoe het verschuift": 1. Gedeelde
    humor. 2. Plagerijen ...): a heading that teaches an action, or steps that are things to do."""
    steps = [Unit("step", c.text, c.lead, c.name) for c in section.candidates if c.kind == "step"]
    if len(steps) < 3 or section_role(section.key[1], []) == "steps":
        return True
    return things_to_do(steps)


def _where(t: dict, section: _Section) -> str:
    leaf = section.key[1].rsplit(" > ", 1)[-1].strip()
    return t["where"].format(section=leaf, title=section.title) if leaf else t["where_title"].format(title=section.title)


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]+(?:[A-Z][a-zà-ÿ]+)?|[A-Z]{2,6})\b")


def proper_names(question: str) -> set[str]:
    """The names a question gives, in lower case: a capitalised word that does not open a sentence
    ("Japan", "Duitsland", "McChrystal"), or an acronym ("NAO"); not a stopword ("I", "We")."""
    stop = stopwords()["nl"] | stopwords()["en"]
    return {m.group(1).lower() for m in _NAME.finditer(question.strip()) if len(m.group(1)) >= 3} - stop


def _sentence_fit(sec: _Section) -> float:
    """How well a section's own sentences fit the question: its best, and the mean of its best three."""
    top = sorted(sec.sims, reverse=True)[:3]
    return 0.5 * top[0] + 0.5 * float(np.mean(top))


def _score_sections(sections: list[_Section], intent: Intent, opts: ComposeOptions, similarity: SectionSimilarity | None = None) -> None:
    w = opts.chunk_weight if similarity is not None else 0.0
    for sec in sections:
        chunk = similarity(sec.key) if similarity is not None and w else 0.0
        sec.score = (
            (1 - w) * _sentence_fit(sec)
            + w * chunk
            + opts.fit_weight * role_fit(intent, sec.role)
            - opts.rank_weight * sec.rank
            - opts.document_rank_weight * sec.doc_rank
        )


def _nested(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Is one of two sections (source, heading path) the other, or inside it?"""
    if a[0] != b[0]:
        return False
    return a[1] == b[1] or a[1].startswith(b[1] + " > ") or b[1].startswith(a[1] + " > ")


def _same_point(a: str, b: str) -> bool:
    """A sentence and the same sentence joined to its antecedent (or lead-in) are one point."""
    return a in b or b in a


def _pick(sec: _Section, limit_list: int, limit_sentences: int, margin: float, list_sentences: int = 0, bridge: int = 0) -> list[int]:
    """Indices of the section's candidates that become points, in reading order; of a paragraph
    section, up to `bridge` sentences between two picked ones join them."""
    n = len(sec.candidates)
    if sec.is_list:
        listed = [j for j in range(n) if sec.candidates[j].kind != "sentence"]
        if len(listed) > limit_list:
            best = sorted(listed, key=lambda j: -sec.sims[j])[:limit_list]
            listed = sorted(best)
        if list_sentences:
            top = max(sec.sims[j] for j in listed)
            by_sim = sorted(range(n), key=lambda j: -sec.sims[j])
            extra = [j for j in by_sim if sec.candidates[j].kind == "sentence" and sec.sims[j] >= top - margin][:list_sentences]
            # a sentence and it joined to its antecedent are one point: the joined one is quoted
            extra = [j for j in extra if not any(k != j and sec.candidates[j].text in sec.candidates[k].text for k in extra)]
            listed = sorted(listed + extra)
        return listed
    best_sim = max(sec.sims)
    ranked = [j for j in sorted(range(n), key=lambda j: -sec.sims[j]) if sec.sims[j] >= best_sim - margin][:limit_sentences]
    chosen: list[int] = []
    for j in ranked:  # no sentence twice (a sentence joined with its antecedent contains it)
        text = sec.candidates[j].text
        same = [c for c in chosen if _same_point(text, sec.candidates[c].text)]
        if not same:
            chosen.append(j)
        elif len(same) == 1 and sec.candidates[same[0]].text in text:
            # the sentence chosen, and it with the sentence that continues it ("... tit-for-tat. It
            # starts by cooperating and then copies ..."): quoted with its continuation
            chosen[chosen.index(same[0])] = j
    # A sentence or two between two quoted ones is quoted too: the passage then reads as written,
    # with the sentence that links them ("The second view treats them as complements.").
    picked = sorted(chosen)

    def start(j: int) -> int:  # a sentence quoted with the one before it starts where that one does
        while j > 0 and sec.candidates[j - 1].text in sec.candidates[j].text:
            j -= 1
        return j

    for a, b in zip(picked, picked[1:]):
        if 1 < start(b) - a <= bridge + 1:
            for j in range(a + 1, start(b)):
                if not any(_same_point(sec.candidates[j].text, sec.candidates[c].text) for c in chosen):
                    chosen.append(j)
    return sorted(chosen)


def compose(
    question: str,
    language: Language,
    question_vec: np.ndarray,
    hits: Sequence[Hit],
    vectorize: Vectorize,
    *,
    refusal_threshold: float,
    intent: Intent = "how",
    section_of: SectionOf | None = None,
    sections_in: SectionsIn | None = None,
    language_offsets: dict[str, float] | None = None,
    known_term: Callable[[str], bool] | None = None,
    options: ComposeOptions | None = None,
    retrieval_query: str = "",
    refusal_floor: float | None = None,
    refusal_keyword_coverage: float = 1.0,
    section_similarity: SectionSimilarity | None = None,
    given: Collection[tuple[str, str]] = (),
) -> Answer:
    """Build the answer from the hits' sections, or refuse when none is relevant enough.

    `given` are the sections the previous answer drew on, for a follow-up: a follow-up asks for
    what that answer did not say, so a section it gave starts the new answer only when it fits
    clearly better (`ComposeOptions.repeat_margin`)."""
    opts = options or ComposeOptions()
    covered, uncovered = coverage(
        question, hits, refusal_threshold, refusal_floor, refusal_keyword_coverage, known_term, opts.uncovered_margin
    )
    if not covered:
        near = is_near(hits, refusal_threshold, refusal_floor)
        return refusal(question, language, hits, retrieval_query, near=near, uncovered=uncovered)
    sections = _sections(hits, section_of, language_offsets if opts.similarity_document_rank else None)
    if not sections:
        return refusal(question, language, hits, retrieval_query, near=True)
    texts = [c.text for sec in sections for c in sec.candidates]
    sims = vectorize(texts) @ question_vec
    offsets = language_offsets or {}
    at = 0
    for sec in sections:
        # Centred per language, as retrieval ranks (advisor.retrieve.search.LanguageStats): the model
        # scores text in the question's own language higher, whether or not it answers better.
        offset = offsets.get(sec.language, 0.0)
        sec.sims = [float(x) - offset for x in sims[at : at + len(sec.candidates)]]
        at += len(sec.candidates)
    _score_sections(sections, intent, opts, section_similarity)
    named = proper_names(question)
    phrase = quoted_phrase(question)
    for sec in sections:
        if named & set(words(sec.key[1].rsplit(" > ", 1)[-1])):
            sec.score += opts.name_weight  # "a partner in Japan": the section headed "Japan"
        quoting = [j for j, c in enumerate(sec.candidates) if _holds(c.text, phrase)]
        if quoting:
            # the question quotes this section ("shadow of the future"): it, and the sentence that holds the phrase
            sec.score += opts.name_weight
        if any(_nested(sec.key, g) for g in given):
            sec.score -= opts.repeat_margin
        # quoted as readily as the sentence closest to the question: the sentence that holds the
        # question's phrase, and the author's own statement of the section's lesson ("De
        # belangrijkste les is om vroeg in te grijpen.")
        top = max(sec.sims)
        for j, c in enumerate(sec.candidates):
            if j in quoting or states_lesson(c.text):
                sec.sims[j] = top
    ranked = sorted(sections, key=lambda sec: -sec.score)
    first = ranked[0]
    if first.role in WEAK_ROLES and intent not in ("what", "example"):
        # A case, a checklist or the opening answers only when nothing that does fits about as well.
        better = [sec for sec in ranked if sec.role not in WEAK_ROLES and sec.score >= first.score - opts.weak_margin]
        if better:
            first = better[0]
    asked_role = PREFERRED_ROLES[intent][0]
    if intent in _ASKS_FOR_ROLE and first.role != asked_role:
        # Asked how to tell, why, what research says or what to avoid: the best document's own
        # section of that role ("Waar je op let: signalen in de dagelijkse praat" over its "Do's en
        # don'ts" for "Waar moet ik op letten om te horen of het cynisme toeneemt?"), when retrieved.
        asked = [sec for sec in ranked if sec.key[0] == first.key[0] and sec.role == asked_role and sec.score >= first.score - opts.role_margin]
        if asked:
            first = asked[0]
    if intent == "example" and first.role != "example":
        # Asked for an example: a case of the same document, or one that fits about as well
        cases = [sec for sec in ranked if sec.role == "example" and (sec.key[0] == first.key[0] or sec.score >= first.score - opts.also_margin)]
        if cases:
            first = cases[0]
    if first.language != language:
        # The asker's language, when a section in it answers about as well: it scores within the
        # margin, and its own sentences fit the question at least as well (not its heading or its
        # document's place alone: "The core competencies" of another article did not answer "what
        # is the right way for me as a manager to respond" as the Dutch "Wat een leidinggevende doet
        # als hij het hoort" does).
        same = [
            sec for sec in ranked
            if sec.language == language and sec.score >= first.score - opts.language_margin and _sentence_fit(sec) >= _sentence_fit(first)
        ]
        if same:
            first = same[0]
    near = [sec for sec in ranked if sec is not first and sec.score >= first.score - opts.also_margin]
    # the second section too in the asker's language, when one fits about as well
    second = near[0] if near else None
    if second is not None and second.language != language:
        second = next((sec for sec in near if sec.language == language and sec.score >= second.score - opts.language_margin), second)
    if section_of is not None and sections_in is not None:
        whole = _parent_as_list(first, section_of, sections_in, vectorize, question_vec, opts.parent_details, opts.max_steps)
        if whole is not None:
            listed = {c.section_key for c in whole.chunks}

            def inside(sec: _Section) -> bool:  # the parent itself or one of its subsections: in the list already
                return sec.key in listed or (sec.key[0] == whole.key[0] and (sec.key[1] == whole.key[1] or sec.key[1].startswith(whole.key[1] + " > ")))

            if second is not None and inside(second):
                second = next((sec for sec in ranked if sec is not first and not inside(sec) and sec.score >= first.score - opts.also_margin), None)
            first = whole
    return _answer(question, language, intent, first, second, opts, uncovered, retrieval_query)


def gave(answer: Answer) -> frozenset[tuple[str, str]]:
    """The sections an answer gave, as (source, section) of their citations: its main section (with
    the steps of a parent shown as a list), not a second section it quoted in part under "also
    relevant" (at most `ComposeOptions.also_points` of its points). A follow-up that asks for more
    ("En wat moet ik vooral niet doen?" after an answer that quoted two of a section's don'ts) may
    then start from that section (`compose`'s `given`)."""
    if not answer.points:
        return frozenset((c.source, c.section) for c in answer.citations)
    main = answer.points[0].section
    cited = {n for p in answer.points if p.section == main for n in p.citations}
    return frozenset((c.source, c.section) for c in answer.citations if c.n in cited)


def coverage(
    question: str,
    hits: Sequence[Hit],
    threshold: float,
    floor: float | None,
    keyword_coverage: float,
    known: Callable[[str], bool] | None = None,
    uncovered_margin: float = 0.02,
) -> tuple[bool, tuple[str, ...]]:
    """(whether the corpus covers the question, its key terms no passage names). A question with such
    a term is covered only when its best passage clears the threshold by `uncovered_margin`: it
    turns on something the sources do not name, and they are not clearly on its topic either.
    Both answer paths (extractive and language model) decide by this."""
    if not hits or not (is_covered(hits, threshold, floor, keyword_coverage) or quotes_a_passage(question, hits)):
        return False, ()
    uncovered = tuple(uncovered_terms(question, hits, known))
    best, _ = evidence(hits)
    return not (uncovered and best < threshold + uncovered_margin), uncovered


def quoted_phrase(question: str) -> str:
    """The question's words from its first to its last that is no stopword, in lower case, when
    there are at least two such words ("What is the shadow of the future?": "shadow of the
    future"); else ""."""
    stop = stopwords()["nl"] | stopwords()["en"]
    content = [m for m in WORD_OR_NUMBER.finditer(question) if m.group(0).lower() not in stop and len(m.group(0)) > 1]
    if len(content) < 2:
        return ""
    return " ".join(question[content[0].start() : content[-1].end()].lower().split())


def _holds(text: str, phrase: str) -> bool:
    return bool(phrase) and phrase in " ".join(text.lower().split())


def quotes_a_passage(question: str, hits: Sequence[Hit]) -> bool:
    """Does the question quote a passage: its `quoted_phrase` stands in a retrieved passage as
    written ("What is the shadow of the future?", "first 100 days")? A term the corpus uses is then
    covered, however short the question and however low its similarity (a short query embeds far
    from any passage)."""
    phrase = quoted_phrase(question)
    return any(_holds(h.chunk.text, phrase) for h in hits)


def is_near(hits: Sequence[Hit], threshold: float, floor: float | None) -> bool:
    """Is a refused question near what the corpus covers? When its best passage reaches the floor
    (or the threshold, whichever is lower) and some passage shares a word of the question (with
    its glossary translations): then the nearest topics are worth naming. For a plainly unrelated
    question they are not: a stew recipe or a Kubernetes cluster comes as close as the floor in the
    model's eyes, but shares no word with any passage (on the gold set's 35 questions to refuse:
    topics for 8, all near the domain, a VAT rate or a GDPR fine for a joint venture; 15 before)."""
    best, coverage = evidence(hits)
    return best >= min(threshold, floor if floor is not None else threshold) and coverage > 0


_NUMBERED_HEADING = re.compile(r"^([^\W\d_]+\s+)?\d+\s*[.:)–-]\s")


def _parent_as_list(
    sec: _Section, section_of: SectionOf, sections_in: SectionsIn, vectorize: Vectorize, question_vec: np.ndarray, details: int, limit: int
) -> _Section | None:
    """A subsection that is one of three to eight under its parent ("De vier kernactiviteiten >
    Verbinden") stands for the parent: the answer is then the parent's subsections in order, each
    named by its heading with its first sentence that stands alone; the subsection the question
    found keeps up to `details` more of its sentences closest to the question, under its step.
    A parent the question found, with three to eight subsections, stands for them the same way
    ("De ketenregisseur: rol, mandaat en valkuilen": "Taken", "Mandaat", "Valkuilen"). Either way
    the parent's opening may stand above the list (`_opening`)."""
    # a case or a reference list under the same heading is no step
    keys = [k for k in sections_in(sec.key[0]) if k == sec.key or _role_of(k, section_of) not in ("example", "references")]
    if not sec.key[1] or sec.role == "intro":
        # A document's opening over three to eight numbered sections of its own ("Fase 1: ...",
        # "Fase 2: ..."): "Wat zijn de fasen?" is answered by those, in order.
        numbered = [k for k in keys if k[1] and " > " not in k[1] and _NUMBERED_HEADING.match(k[1])]
        if 3 <= len(numbered) <= 8:
            return _steps_of(sec, sec.key[1], numbered, None, section_of, vectorize, question_vec, details, _opening(sec.candidates), limit)
    depth = sec.key[1].count(" > ") + 1 if sec.key[1] else 0
    children = [k for k in keys if sec.key[1] and k[1].startswith(sec.key[1] + " > ") and k[1].count(" > ") == depth]
    if 3 <= len(children) <= 8:
        return _steps_of(sec, sec.key[1], children, None, section_of, vectorize, question_vec, details, _opening(sec.candidates), limit)
    if " > " not in sec.key[1]:
        return None
    parent = sec.key[1].rsplit(" > ", 1)[0]
    depth = sec.key[1].count(" > ")
    siblings = [k for k in keys if k[1].startswith(parent + " > ") and k[1].count(" > ") == depth]
    if not 3 <= len(siblings) <= 8:
        return None
    opening = _opening(section_candidates(list(section_of((sec.key[0], parent))))[0]) if (sec.key[0], parent) in keys else []
    return _steps_of(sec, parent, siblings, sec.key, section_of, vectorize, question_vec, details, opening, limit)


def _opening(candidates: Sequence[Candidate]) -> list[Candidate]:
    """A parent's own first sentences, to stand as prose above its subsections' list; the list's
    pick keeps those that fit the question about as well as its best step (`_pick`)."""
    return [Candidate(c.chunk, c.text, "sentence", -1) for c in candidates if c.kind == "sentence"][:3]


def _role_of(key: tuple[str, str], section_of: SectionOf) -> str:
    chunks = section_of(key)
    return chunks[0].role if chunks else ""


def _steps_of(
    sec: _Section,
    parent: str,
    steps: Sequence[tuple[str, str]],
    found: tuple[str, str] | None,
    section_of: SectionOf,
    vectorize: Vectorize,
    question_vec: np.ndarray,
    details: int,
    intro: list[Candidate],
    limit: int,
) -> _Section | None:
    """The section `parent` of `sec`'s document as the list of its subsections `steps`; the step
    `found` keeps up to `details` more of its sentences, as many as fit beside the steps in `limit`
    (the composer's `max_steps`: a detail never pushes a step out of the list)."""
    details = min(details, max(0, limit - len(steps)))
    candidates: list[Candidate] = list(intro)
    chunks: list[Chunk] = list({c.chunk.id: c.chunk for c in intro}.values())
    for order, key in enumerate(steps):
        own = list(section_of(key))
        cands, _ = section_candidates(own)
        first = next((c for c in cands if c.kind == "sentence" or not c.lead), None)
        if first is None and cands:  # a section that opens with its list: its first item after its lead-in
            first = Candidate(cands[0].chunk, f"{cands[0].lead} {cands[0].text}", "sentence", cands[0].order)
        if first is None:
            continue
        # the answer numbers the steps itself: "1. Onduidelijke afspraken" is named "Onduidelijke afspraken"
        name = without_number(key[1].rsplit(" > ", 1)[-1].strip())
        candidates.append(Candidate(first.chunk, first.text, "step", order, name=name))
        if key == found and details:
            best: list[tuple[int, Candidate]] = []
            for j in sorted(range(len(sec.candidates)), key=lambda j: -sec.sims[j]):
                c = sec.candidates[j]
                if len(best) < details and not any(_same_point(c.text, o.text) for o in [first] + [b for _, b in best]):
                    best.append((j, c))
            candidates += [Candidate(c.chunk, c.text, "detail", order, lead=c.lead) for _, c in sorted(best, key=lambda jc: jc[0])]
        chunks += own
    if sum(c.kind == "step" for c in candidates) < 3:
        return None
    sims = [float(x) for x in vectorize([c.text for c in candidates]) @ question_vec]
    return _Section((sec.key[0], parent), sec.rank, sec.doc_rank, chunks, candidates, True, sims, sec.score)


def document_ranks(hits: Sequence[Hit], offsets: dict[str, float] | None = None) -> dict[str, int]:
    """Each document's place among the hits' documents: its place in the hits' order or, with
    `offsets` (`compose`'s language offsets), its place by its best passage's language-centred
    similarity, whichever is better.

    The hits' order is fusion's, and fusion's keyword side favours the question's language: an
    English question's "alliance", "partner" and "manager" put an English article on the manager's
    role first, where the dense side, centred per language, puts the Dutch article on sarcasm first.
    Either ranking's first document is then a first document, and the sections' own fit decides
    (measured in docs/eval/README.md, stop 25)."""
    fused = list(dict.fromkeys(h.chunk.source for h in hits))
    if offsets is None:
        return {source: i for i, source in enumerate(fused)}
    best: dict[str, float] = {}
    for h in hits:
        if h.dense_similarity is not None:
            v = h.dense_similarity - offsets.get(h.chunk.language, 0.0)
            best[h.chunk.source] = max(best.get(h.chunk.source, v), v)
    return better_places(fused, sorted(best, key=lambda d: (-best[d], fused.index(d))))


def _sections(hits: Sequence[Hit], section_of: SectionOf | None, offsets: dict[str, float] | None = None) -> list[_Section]:
    out: list[_Section] = []
    seen: set[tuple[str, str]] = set()
    doc_rank = document_ranks(hits, offsets)
    for rank, h in enumerate(hits):
        key = h.chunk.section_key
        if key in seen:
            continue
        seen.add(key)
        chunks = list(section_of(key)) if section_of is not None else []
        if h.chunk.id not in {c.id for c in chunks}:
            chunks = [h.chunk]  # a passage the reader cannot place in a section stands for itself
        candidates, is_list = section_candidates(chunks)
        if candidates:
            out.append(_Section(key, rank, doc_rank[h.chunk.source], chunks, candidates, is_list))
    return out


class _Numbers:
    """Citation numbers, one per cited section and page, in order of first use.

    A section is often stored as several chunks; a reader (and a consultant who must defend a
    claim) needs document, section and page, not which chunk of them: one number stands for all
    the cited chunks of a section on one page, and its passage is their text in reading order."""

    def __init__(self) -> None:
        self.chunks: dict[tuple[str, str, int | None], dict[str, Chunk]] = {}
        self.highlights: dict[tuple[str, str, int | None], list[str]] = {}

    def cite(self, chunk: Chunk, text: str | None = None) -> int:
        key = (chunk.source, chunk.section, chunk.page)
        self.chunks.setdefault(key, {}).setdefault(chunk.id, chunk)
        marks = self.highlights.setdefault(key, [])
        if text and text not in marks:
            marks.append(text)
        return list(self.chunks).index(key) + 1

    def citations(self) -> tuple[Citation, ...]:
        out = []
        for n, (key, cited) in enumerate(self.chunks.items(), start=1):
            ordered = sorted(cited.values(), key=lambda c: c.position)
            first = ordered[0]
            out.append(Citation(n, first.source, first.title, first.section, first.page, _passage(ordered), first.id, tuple(self.highlights[key])))
        return tuple(out)


def _passage(chunks: Sequence[Chunk]) -> str:
    """The text of a section's cited chunks in reading order: a chunk that follows the one before
    it adds only what it does not repeat (`Chunk.fresh_text`); a gap is marked."""
    parts = [chunks[0].text]
    for before, chunk in zip(chunks, chunks[1:]):
        parts.append(("\n" + chunk.fresh_text) if chunk.position == before.position + 1 else ("\n[…]\n" + chunk.text))
    return "".join(parts)


def _point_line(p: AnswerPoint, name: str, number: int | None, marker: str, joined: bool = False) -> str:
    body = p.text
    if name and body.startswith(name):
        body = f"**{name}**{body[len(name):]}"
    elif name:  # a subsection's heading names it (verbatim, from the document)
        body = f"**{name}{'' if name[-1:] in '.:!?' else '.'}** {body}"
    if joined:
        body = f"{p.lead} {body}"
    head = f"{number}." if number is not None else "-"
    return f"{head} {body} [{p.citations[0]}]" + (f" {marker}" if marker else "")


def _one_case(sec: _Section, limit: int) -> list[int]:
    """A case section's first case, told in its order from its start, up to `limit` sentences: the
    words "give an example" choose no sentence by similarity. A case's title ("Voorbeeld (fictief):
    ...") is no point (`points.defect`), and the next one ends the case."""
    picked: list[int] = []
    for j in sorted(range(len(sec.candidates)), key=lambda j: sec.candidates[j].order):
        cand = sec.candidates[j]
        if picked and opens_case(cand.text, cand.chunk.text):
            break
        if picked and sec.candidates[picked[-1]].text in cand.text:  # joined to its antecedent: the longer one
            picked[-1] = j
            continue
        if len(picked) == limit:
            break
        picked.append(j)
    return picked


def _warnings(sec: _Section, limit: int) -> list[int]:
    """The items of a list section that stand under a lead-in naming what not to do ("Niet doen:",
    "Don'ts:"), best `limit` by similarity, in reading order; empty when its items are not split so."""
    items = [j for j, c in enumerate(sec.candidates) if c.kind in ("item", "step")]
    warned = [j for j in items if sec.candidates[j].lead and only_donts(sec.candidates[j].lead)]
    if not warned or len(warned) == len(items):
        return []
    return sorted(sorted(warned, key=lambda j: -sec.sims[j])[:limit])


def _answer(
    question: str,
    language: Language,
    intent: Intent,
    first: _Section,
    second: _Section | None,
    opts: ComposeOptions,
    uncovered: tuple[str, ...],
    retrieval_query: str,
) -> Answer:
    t = TEXTS[language]
    numbers = _Numbers()
    points: list[AnswerPoint] = []
    lines: list[str] = []

    def add(sec: _Section, picked: list[int], numbered: bool, shown_lead: str = "", lead_line: str = "") -> None:
        # A list section whose items stand under different lead-ins ("Doen:" and "Niet doen:") shows
        # each lead-in above its own items: without it a don't would read as advice. One lead-in
        # for all items (`lead_line`) stands right above the first of them, after any paragraph
        # of the section that comes before the list.
        leads = {sec.candidates[j].lead for j in picked if sec.candidates[j].kind in ("item", "step")}
        # a name in bold only when every item shown has one: "**Trap 1 tot 3: ...**" above a plain
        # "Trap 3 tot 5: ..." reads as if the items differed in kind
        bold = all(sec.candidates[j].name for j in picked if sec.candidates[j].kind in ("item", "step"))
        grouped = not shown_lead and len(leads) > 1
        group = ""
        for k, j in enumerate(picked, start=1):
            cand = sec.candidates[j]
            if cand.kind == "sentence" and shown_lead and cand.text in shown_lead:
                continue  # the list's lead-in, joined to the sentence it refers back to, says it
            if lead_line and cand.kind != "sentence":
                lines.extend(([""] if lines and lines[-1] else []) + [lead_line, ""])
                lead_line = ""
            lead, joined = "", False
            if cand.lead and cand.lead == shown_lead:
                lead = shown_lead  # the answer shows the list's lead-in above it
            elif grouped and cand.lead and cand.kind in ("item", "step") and len(cand.lead) <= 240:
                lead = cand.lead
                if cand.lead != group:
                    group = cand.lead
                    lines.extend(([""] if lines and lines[-1] else []) + [f"{group} [{numbers.cite(cand.chunk, group)}]", ""])
            elif cand.lead and defect(cand.text) == "fragment" and cand.lead in cand.chunk.text:
                lead, joined = cand.lead, True  # an item that needs its lead-in gets it joined
            elif defect(cand.text) == "fragment":
                continue
            if any(_same_point(cand.text, q.text) for q in points):
                continue
            n = numbers.cite(cand.chunk, cand.text)
            p = AnswerPoint(cand.text, (n,), True, sec.role, sec.key[1], cand.chunk.language, cand.kind, lead)
            points.append(p)
            marker = t["marker"] if cand.chunk.language != language else ""
            if cand.kind == "detail":
                lines.append("   " + _point_line(p, "", None, marker, joined))
                continue
            if (numbered or sec.is_list) and cand.kind == "sentence":
                # a list section's own paragraph (its introduction or close) stays a paragraph
                prose = _point_line(p, "", None, marker, joined)[2:]
                lines.extend(([""] if lines and lines[-1] else []) + [prose, ""])
                continue
            number = (
                len([q for q in points if q.section == sec.key[1] and q.kind not in ("detail", "sentence") and (q.lead == lead or not grouped)])
                if numbered
                else None
            )
            shown_name = cand.name if bold or not cand.text.startswith(cand.name) else ""  # a heading's name is content: kept
            lines.append(_point_line(p, shown_name, number, marker, joined))

    picked = _pick(first, opts.max_steps, opts.max_points, opts.sentence_margin, opts.list_sentences, opts.bridge_sentences)
    if intent == "example" and first.role == "example" and not first.is_list:
        picked = _one_case(first, opts.max_points)
    lead_n = numbers.cite(first.candidates[picked[0]].chunk)
    # A list of mistakes or pitfalls answers what to do only as what to avoid: framed so, and not
    # numbered as if its items were steps.
    avoid = first.is_list and only_donts(first.key[1].rsplit(" > ", 1)[-1])
    if intent == "avoid" and first.is_list and not avoid:
        # "What should I not do?" on a list of do's and don'ts: its don'ts, under their own lead-in
        warned = _warnings(first, opts.max_steps)
        if warned:
            picked, avoid = warned, True
    framed = "avoid" if avoid else frame_for(intent, first.role)
    if framed == "how" and not describes_advice(first):
        framed = "what"
    frame = t["frame"][framed]
    lead = f"**{frame}**, {t['according'].format(where=_where(t, first))} [{lead_n}]:"
    lines += [lead, ""]

    def shared_lead(sec: _Section, picked: list[int]) -> tuple[str, str]:
        """(the lead-in all picked items share, its line with its citation), or two empty strings:
        shown once above the items rather than joined to each."""
        listed = [j for j in picked if sec.candidates[j].kind != "sentence"]
        common = sec.candidates[listed[0]].lead if listed else ""
        if not common or len(common) > 240 or any(sec.candidates[j].lead != common for j in listed):
            return "", ""
        return common, f"{common} [{numbers.cite(sec.candidates[listed[0]].chunk, common)}]"

    def say_rest(sec: _Section, shown: list[int]) -> None:
        """A list shown in part says so: three of ten checklist items do not read as the whole list."""
        rest = sum(1 for j, c in enumerate(sec.candidates) if c.kind != "sentence" and j not in shown) if sec.is_list else 0
        if rest:
            lines.extend(["", t["more_items"].format(n=rest)])  # its own paragraph, not part of the last item

    add(first, picked, first.is_list and not avoid, *shared_lead(first, picked))
    say_rest(first, picked)
    if second is not None:
        also = _pick(second, opts.also_points, min(opts.also_points, 2), opts.sentence_margin)
        if also:
            lines += ([""] if lines[-1] else []) + [t["also"].format(where=_where(t, second)), ""]
            add(second, also, False, *shared_lead(second, also))
            say_rest(second, also)
    lines += ([""] if lines[-1] else []) + [f"{t['read_more'].format(where=_where(t, first))} [{lead_n}]"]
    if any(p.language != language for p in points):
        # each such point carries a short mark; what the mark means is said once
        lines += ["", t["marker_note"]]
    if uncovered:
        lines += ["", " ".join(f"_{note}_" for note in gap_notes(t, uncovered))]
    return Answer(
        question=question,
        language=language,
        text="\n".join(lines),
        refused=False,
        citations=numbers.citations(),
        points=tuple(points),
        retrieval_query=retrieval_query,
        lead=lead,
        intent=intent,
        uncovered=uncovered,
    )
