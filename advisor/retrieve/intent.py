"""What the person wants from a question: what to do, what not to do, why, how to tell, what research says, which
options, what something is, an example. Rules on the question's words, in Dutch and English; short keyword
queries ("vertrouwen topteam", "escalation ladder") count as asking what to do.

The intent says which section roles (`advisor.ingest.structure.ROLES`) answer it best.
"""

from __future__ import annotations

import re
from typing import Literal


Intent = Literal["how", "avoid", "why", "signals", "research", "options", "what", "example"]

# "research" naming the kind of collaboration, not a source of knowledge
_RESEARCH_AS_KIND = (
    r"alliances?|partners?|partnerships?|projects?|consortium|consortia|collaborations?|cooperation|agreements?|"
    r"institutes?|centres?|centers?|organi[sz]ations?|teams?|programmes?|programs?|budgets?|and development|joint ventures?"
)

_PATTERNS: tuple[tuple[Intent, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE))
    for intent, pattern in (
        # what not to do: the mistakes, traps and pitfalls ("Hoe voorkom ik ..." asks how, below)
        (
            "avoid",
            r"\bwat (moet|moeten|kan|kun|zou|mag) (ik|je|u|we|wij) (vooral |beter |juist |zeker )?niet\b|\bwat (je |we )?(beter )?niet (moet|moeten|doen)\b|"
            r"\bvalkuilen\b|\bwelke fouten\b|\bwat te vermijden\b|\bwat (moet|moeten|kan|kun) (ik|je|u|we|wij) vermijden\b|"
            r"\bwhat (should|must|do|can) (i|we|you) (not do|avoid)\b|\bwhat (not to do|to avoid)\b|\b(which|what) (mistakes|pitfalls|traps)\b|\bpitfalls\b|\btraps\b|\bdon'?ts\b",
        ),
        (
            "signals",
            r"\bhoe (weet|merk|zie|herken|meet) (ik|je|u|we|wij)|\bwaaraan (herken|zie|merk)|\baan welke signalen\b|\bwelke signalen\b|\bsymptom|\bherkennen\b|"
            r"\bhow (do|can|would|will) (i|we|you) (know|tell|recogni[sz]e|spot|see|measure)|\bwarning signs?\b|\bsigns? (of|that)\b|\bred flags?\b|"
            r"\bhoe gezond\b|\bhow healthy\b|\bis (ons|het) doel te\b|"
            r"\bom te (horen|zien|merken|weten) of\b|\bnagaan of\b|\bto tell (whether|if)\b|\bwatch (out )?for\b|\blook out for\b",
        ),
        # an example or a case: "Heb je een voorbeeld?", "Can you give an example?"; not "bijvoorbeeld",
        # "for example" or leading by example ("het goede voorbeeld geven", "een voorbeeld stellen",
        # "set an example")
        (
            "example",
            r"\bvoorbeelden\b|\b(een|nog een|ander|concreet|concrete|praktisch) (praktijk)?voorbeeld\b(?!\s+(stellen|nemen))|"
            r"\bpraktijkvoorbeelden?\b|\bcasus\b|\bcasussen\b|"
            r"\b(an|another|any|some|concrete|real|practical|real-life|real-world) (examples?|cases?|case stud(y|ies))\b(?<!set an example)|"
            r"\bexamples? of\b|\bcase stud(y|ies)\b",
        ),
        # research as what is known, not as the kind of work an alliance does ("a research
        # partnership", "onderzoekssamenwerking") or a verb ("wat moeten we onderzoeken")
        (
            "research",
            r"\bonderzoek(ers?)?\b|\bwetenschap|\bstudies\b|\bliteratuur|\btheorie|\bresearch(ers?)?\b(?!\s+(" + _RESEARCH_AS_KIND + r")\b)|"
            r"\bevidence\b|\bliterature\b|\btheory\b|\bscientific\b|\bacademic",
        ),
        # why, also asked as how it came to this: "How did we end up here?", "Hoe is het zo gekomen?"
        ("why", r"^\s*(waarom|why)\b|\bwaarom\b|\bhoe komt (het|dat)\b|\boorza|\bwhy\b|\bwhat causes\b|\bcauses?\b|\breasons?\b|\bredenen?\b|\bwat gaat er mis\b|\bwhat is going wrong\b|\bgoes wrong\b|"
            r"\bhow did (we|i|it|this|that|things|they) (end up|get|come)\b|\bhow (do|does|could|can) (we|i|it|things|they|you) end up (here|like this|in this)\b|"
            r"\bhow come\b|\bhow did .* (happen|arise)\b|\bwaar (komt|komen) .*vandaan\b|\bwhere (does|do) .* come from\b|"
            r"\bhoe (is|zijn|kon|kan) .* (zo )?(gekomen|beland|ontstaan|ontstaat|zo ver komen)\b|\bhoe (zijn|is) (we|wij|het|dit|dat) (hier|daar|zo) (beland|gekomen|terechtgekomen)\b|\bhoe ontstaa?t\b"),
        ("options", r"\bwelke (vormen|opties|modellen|mogelijkheden|soorten|varianten|keuzes)\b|\bwhich (options|forms|models|types|kinds)\b|\b(options|alternatives|alternatieven)\b|\bwhat (kinds|types|forms) of\b"),
        # how one thing differs from another asks what each is, not what to do
        ("what", r"^\s*how (is|are|does|do) .*\b(different from|differ from)\b|^\s*hoe (verschilt|verschillen)\b"),
        (
            "how",
            r"\bhoe\b|\bwat (kan|kun|moet|moeten|doe|doen|zou) (ik|je|u|we|wij)\b|\bwat (kan|kun|moet) (ik|je|u|we) doen\b|\bwelke (stappen|concrete|acties|maatregelen|afspraken|competenties|instrumenten)\b|"
            # "Wat is een goede eerste stap ...?" asks what to do, not what something is
            r"\b(goede|beste|slimste|verstandigste|eerste|volgende) (eerste )?(stap|stappen|zet|aanpak|manier)\b|\b(good|best|first|next|right|smart) (first )?(step|steps|move|approach|way)\b|"
            r"\btips?\b|\baanpak\b|\bhow\b|\bwhat (should|can|could|do|must) (i|we|you)\b|\bwhat steps\b|\bwhich (steps|competencies|tools|rules)\b|\badvice\b|\bbest way\b|\bhet beste\b",
        ),
        # what something is, also as how it differs from something else ("Wat doet een netwerkleider
        # anders dan een gewone manager?")
        (
            "what",
            r"^\s*(wat is|wat zijn|wat betekent|what is|what are|what does .* mean|define|definitie)\b|\bwat houdt .* in\b|\bwat bedoel|"
            r"\banders dan\b|\bverschil(len)? (tussen|met)\b|\bdifferences? between\b|\bdifferent from\b|\bcompared (to|with)\b|\bvergeleken met\b",
        ),
    )
)

# The roles that answer each intent, best first; a role outside the list is a weaker fit.
PREFERRED_ROLES: dict[Intent, tuple[str, ...]] = {
    "how": ("steps", "dos_donts"),
    "avoid": ("dos_donts", "signals"),
    "why": ("causes", "background", "research"),
    "signals": ("signals", "checklist", "dos_donts"),
    "research": ("research", "background"),
    "options": ("steps", "background"),
    "what": ("background", "intro", "research"),
    "example": ("example",),
}

# Roles that are rarely an answer in themselves: a case, a list of questions, the opening.
WEAK_ROLES = frozenset({"example", "checklist", "intro", "references"})


def question_intent(question: str) -> Intent:
    """The intent of a question; a short query without a question word asks what to do."""
    text = question.strip()
    for intent, pattern in _PATTERNS:
        if pattern.search(text):
            return intent
    # Anything else ("welke interventies werken?", "so what concrete steps?", "vertrouwen topteam")
    # asks an advisor what to do.
    return "how"


def role_fit(intent: Intent, role: str) -> float:
    """How well a section of `role` answers a question of `intent`: 1 best, 0 neutral, below 0 weak."""
    preferred = PREFERRED_ROLES[intent]
    if role in preferred:
        return 1.0 - 0.3 * preferred.index(role)
    if role in WEAK_ROLES and not (intent == "signals" and role == "checklist"):
        return -1.0 if role == "references" else -0.5
    return 0.0
