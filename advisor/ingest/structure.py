"""The structure inside a section: paragraphs, list items with their lead-in, numbered steps with
their name, and the section's role (what kind of text it is).

Pure functions on text, in both languages. They work from headings where a document has them and
fall back on content cues where it has none (a maintainer's PDF or DOCX): numbered items,
imperatives, lists of questions, author-year citations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from advisor.core.text import split_sentences, words

UnitKind = Literal["para", "item", "step"]

# What a section is for. The composer draws on it (steps for a what-to-do question, signals for a
# how-to-tell question ...), retrieval prefers the role that fits the question.
ROLES = ("steps", "dos_donts", "signals", "causes", "checklist", "example", "research", "background", "intro", "references")


@dataclass(frozen=True)
class Unit:
    """One line of a section as a reader meets it.

    `text` is verbatim (without its list marker); `lead` is the lead-in a list item depends on
    (the paragraph before the list that ends in a colon); `name` is a step's or item's own name,
    its short first sentence ("Roteer mensen."), when it has one.
    """

    kind: UnitKind
    text: str
    lead: str = ""
    name: str = ""
    number: int | None = None
    page: int | None = None

    @property
    def is_question(self) -> bool:
        return self.text.rstrip().endswith("?")


_STEP = re.compile(r"^(\d{1,2})[.)]\s+(.*)$")
_ITEM = re.compile(r"^[-*•–]\s+(.*)$")


def without_number(text: str) -> str:
    """`text` without the number a numbered step opens with: "1. Onduidelijke afspraken" -> "Onduidelijke afspraken"."""
    m = _STEP.match(text)
    return m.group(2) if m else text


def _name_of(text: str) -> str:
    """An item's name: a short first sentence ('Roteer mensen.', 'Level 1: working team.') when more follows
    (up to 15 words: 'Look at capacity and priorities at the partner, not only at the plan.')."""
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return ""
    first = sentences[0]
    return first if len(first.split()) <= 15 else ""


# Openings that refer back to what came before: without that, the sentence means little.
_REFERS_BACK = re.compile(
    r"^(dat|dit|die|deze|daar\w*|hierdoor|hiermee|hierbij|zo'n|zulke|zij|ze|hij|het gevolg|ten (eerste|tweede|derde|vierde|slotte)|"
    r"bovendien|daarnaast|verder|tenslotte|ook|maar|want|of|en|"
    r"this|that|these|those|it|its|they|them|their|such|there|here|he|she|also|moreover|furthermore|second(ly)?|third(ly)?|"
    r"finally|but|and|or|so|revisiting|doing so|in that case|as a result|"
    r"de keerzijde|keerzijde|omgekeerd|daartegenover|aan de andere kant|the downside|the flip side|on the other hand|conversely)\b",
    re.IGNORECASE,
)

# A pronominal adverb among the first words refers back as well: "Een ambitieus doel heeft daarbij een
# extra functie." (with what?), "Trust, in turn, makes ..." (in turn to what?). A conclusion ("Betrek daarom ...", "The board therefore ...") stands.
_REFERS_BACK_EARLY = re.compile(
    r"^(?:[\w'’-]+,?\s+){1,4}(daar(bij|mee|door|voor|na|in|op|uit|aan|over|naast)|hier(bij|mee|door|voor|in|op|uit|aan|over)|bovendien|in turn)\b",
    re.IGNORECASE,
)

# A lead-in that opens with these points ahead, to its list ("Deze stappen helpen:", "These help:").
_POINTS_AHEAD = re.compile(r"^(deze|dit|these|this|de volgende|the following)\b", re.IGNORECASE)


# A clause that opens on a pronoun for something named before: "If it sits too far from the
# business, ...", "Als ze elkaar niet kennen, ...".
_REFERS_BACK_CLAUSE = re.compile(
    r"^(?:if|when|whenever|once|as long as|because|unless|although|while|als|wanneer|zodra|zolang|omdat|hoewel|terwijl)\s+"
    r"(?:it|they|this|these|those|he|she|ze|zij|hij|dit|deze)\b",
    re.IGNORECASE,
)


def refers_back(text: str) -> bool:
    """Does a sentence open by referring back to what came before ("Dat maakt ...", "That creates
    ...", "Een ambitieus doel heeft daarbij ...", "If it sits too far ...")? Without it, it means little."""
    text = text.strip()
    return bool(_REFERS_BACK.match(text) or _REFERS_BACK_EARLY.match(text) or _REFERS_BACK_CLAUSE.match(text))


def parse_units(lines: Sequence[tuple[str, int | None]]) -> list[Unit]:
    """The units of a section from its lines (text, page), in reading order."""
    out: list[Unit] = []
    lead = ""
    for raw, page in lines:
        line = raw.strip()
        if not line:
            continue
        m = _STEP.match(line)
        if m:
            body = m.group(2).strip()
            out.append(Unit("step", body, lead, _name_of(body), int(m.group(1)), page))
            continue
        m = _ITEM.match(line)
        if m:
            body = m.group(1).strip()
            out.append(Unit("item", body, lead, _name_of(body), None, page))
            continue
        # A paragraph: it ends a list, and is the lead-in of the next list when it ends in a colon;
        # a lead-in that refers back ("That creates some limits:") keeps the sentence it refers to.
        lead = ""
        if line.endswith(":"):
            sentences = split_sentences(line)
            lead = sentences[-1]
            if len(sentences) > 1 and refers_back(lead) and not _POINTS_AHEAD.match(lead):
                lead = f"{sentences[-2]} {lead}" if f"{sentences[-2]} {lead}" in line else lead
        out.append(Unit("para", line, "", "", None, page))
    return out


# --------------------------------------------------------------------------- roles

# what not to do: a heading with one of these holds do's and don'ts (`only_donts`: don'ts alone)
_DONT_WORDS = (
    r"\bdon'?ts\b|\bvalkuil|\bpitfall|\bfouten\b|\bmistakes?\b|\btraps?\b|\bavoid|\bvermijd|\bniet doen\b|"
    r"\bwat (je )?niet (moet )?doen|\bwhat not to\b"
)

_HEADING_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern, re.IGNORECASE))
    for role, pattern in (
        ("references", r"^(bronnen|bronvermelding|literatuurlijst|referenties|references|sources|bibliography|further reading|verder lezen)\W*$"),
        ("checklist", r"\bchecklist|\bzelfscan|\bzelftest|\bvragen (voor|om|die)\b|\bquestions (to|for)\b|\bself[- ]assessment|\bquick ?scan"),
        ("dos_donts", r"\bdo'?s\b|\bwel en niet\b|" + _DONT_WORDS),
        # "case" as a case told ("Case 2:", "a case study", "Illustrative cases"), not as an argument
        # ("Making the case to the board", "The value-for-money case, and its limits"); "in de
        # praktijk" applies a topic ("Kennis delen in de praktijk", "Vier partnerlanden in de
        # praktijk > Japan"), it tells no case
        ("example", r"\bvoorbeeld|\bcasus|\bcases\b|\bcase( stud|\s*\d|\s*:|\s*\()|^(an?|one|our) case\b|\bpraktijkvoorbeeld|\billustrati|\bexamples?\b"),
        (
            "signals",
            r"signal|\bsignen\b|\bsigns?\b|\bherkennen\b|\bherken je\b|\bhoe weet je\b|\bsymptom|\bwarning|\bred flags?\b|\brode vlag|\bdiagnos|\bmeten\b|\bmeet je\b|"
            r"\bmeasur|\bindicator|\bwanneer .* te (vaag|smal|breed)\b",
        ),
        ("research", r"\bonderzoek|\bliteratuur|\btheorie|\bwetenschap|\bwat we weten\b|\bresearch|\bevidence\b|\bstudies\b|\btheory\b|\bliterature\b|\bwhat we know\b"),
        # how something forms or arises is its causes ("How vicious circles form between partners")
        ("causes", r"^waarom\b|^(how|hoe)\b.*\b(forms?|arises?|emerges?|ontstaa?t|ontstaan)\b|\boorzak|\bredenen\b|\bhoe komt\b|^why\b|\bcauses?\b|\breasons?\b|\broot causes?\b|\bwaar .* vandaan\b|\bwhere .* comes? from\b"),
        (
            "steps",
            r"^hoe\b.*\b(je|u|we|jullie|ik)\b|^how (to|you|we|i)\b|^how .*\b(you|we)\b|\bstappen|\bstappenplan|\baanpak\b|\bwat werkt\b|\bwat (je|u) (kunt|kan) doen\b|\bwat .* doet\b|\bwat te doen\b|\btips\b|\binterventies\b|"
            r"\baandachtspunten\b|\brichtlijnen\b|\bwerkvormen\b|\bafspraken\b|\bmaatregelen\b|\bkernactiviteiten\b|\bprincipes\b|\bbouwstenen\b|"
            r"\bpraktijken\b|\bspelregels\b|\bvuistregels\b|\bdie (helpen|helpt|werken|werkt|opbouwen)\b|"
            r"\bthat (build|builds|help|helps|work|works)\b|"
            r"\bsteps?\b|\bwhat to do\b|\bwhat works\b|\bbuilding\b|\bdesigning\b|\bguidelines\b|\bpractices\b|\bprinciples\b|\bapproach\b|\binterventions\b|"
            r"\bmaking .* work\b|\bgetting .* right\b|\brules\b|\btools\b|\binstrumenten\b|\broadmap\b|\bladder\b|\bcompetenc|\bbuilding blocks\b|\bzo (combineer|pak|maak|bouw)|"
            # lessons; a heading that opens with the action it teaches
            r"\blessons\b|\blessen\b|^(making|staffing|selecting|choosing|planning|preventing|handling|dealing with|setting up|"
            r"breaking|repairing|restoring|improving|resolving|overcoming|managing|organising|organizing)\b",
        ),
    )
)

# a paragraph that opens with a case's label: "Voorbeeld (fictief): een retailalliantie."
_CASE_LABEL = re.compile(r"^(voorbeeld|praktijkvoorbeeld|casus|example|case|illustrative case)( \d+)?( \([^)]{0,30}\))? ?(:|—|–| - )", re.IGNORECASE)


def tells_a_case(paragraph: str) -> bool:
    """Does a paragraph tell a case ("Voorbeeld (fictief): ...", "Illustrative case: ..."), as a
    case section does under its heading ("example")?"""
    return bool(_CASE_LABEL.match(paragraph))


_DONTS = re.compile(_DONT_WORDS, re.IGNORECASE)
_DOS = re.compile(r"\bdo'?s\b|\bwel\b|\bwhat to do\b", re.IGNORECASE)


def only_donts(heading: str) -> bool:
    """Does a heading (or a list's lead-in) name only what not to do: mistakes, pitfalls, don'ts,
    "Niet doen:"? Its items are warnings, not advice ("Do's en don'ts" names both). The warning
    leads the heading (within its first three words): in "De ketenregisseur: rol, mandaat en
    valkuilen" the pitfalls are one topic of several."""
    m = _DONTS.search(heading)
    return m is not None and len(heading[: m.start()].split()) <= 2 and not _DOS.search(heading)


_IMPERATIVE_NL = frozenset(
    """zorg maak leg laat kies bespreek organiseer geef houd spreek bouw begin stel werk zet vraag neem
    betrek deel plan benoem gebruik roteer investeer breng vier wees ga kijk schrijf toets evalueer
    voorkom vermijd beperk creëer doe zoek bepaal stuur wijs regel koppel richt praat denk durf erken
    accepteer wacht blijf reken kom toon help luister verdeel formuleer meet let hou noem vertaal veranker
    besteed verken definieer leer sta trek hanteer vertrouw pak bereid informeer signaleer escaleer
    documenteer waardeer beloon respecteer check heb""".split()
)
# A Dutch heading that ends in the action it teaches ("Eindeloos uitstel voorkomen", "Machtsbalans
# herstellen of bewaken", "Terugkoppelen: meer dan een verslag sturen"): the infinitive closes the
# heading, or the part before its colon.
_ACTION_INFINITIVES = frozenset(
    """voorkomen vastleggen kiezen houden behouden herstellen bewaken maken verdelen aanpakken oplossen
    opbouwen doorbreken verbeteren organiseren regelen inrichten vermijden beperken versterken bespreken
    terugkoppelen betrekken meenemen voeren leiden sturen""".split()
)
_IMPERATIVE_EN = frozenset(
    """make set build keep agree hold use start give name choose define write share plan treat ask let go
    involve invest check review create separate close send avoid limit celebrate be do don't never always
    focus bring appoint assign measure document confirm run publish test deliver adjust decide prepare schedule
    identify invite discuss explain inform report track monitor evaluate organise organize put map offer
    escalate talk rotate meet accept watch acknowledge compare approve protect add turn look think pay align
    clarify reward respond listen ensure consider take get find tell expect encourage reduce translate
    welcome recognise recognize revisit resist stop remember seek visit reserve link tie spend learn pick
    train hire pair allow show help lead frame split handle""".split()
)
_AUTHOR_YEAR = re.compile(r"\b[A-Z][a-zà-ÿ]+(?: (?:&|en|and) [A-Z][a-zà-ÿ]+)?(?: et al\.)?,? \(?(?:19|20)\d\d\b")


def _imperative(text: str) -> bool:
    w = words(text[:40])
    return bool(w) and (w[0] in _IMPERATIVE_NL or w[0] in _IMPERATIVE_EN)


def _tells(unit: Unit) -> bool:
    """Does a list item or step tell the reader what to do: it opens with an imperative, or its
    body does right after its name ("Rotating hosts. Meet at each partner's site in turn.")?"""
    if _imperative(unit.text):
        return True
    rest = unit.text[len(unit.name) :].lstrip() if unit.name and unit.text.startswith(unit.name) else ""
    return bool(rest) and _imperative(rest)


def _actions(units: Sequence[Unit]) -> bool:
    """Is a list of at least three items mostly things to do ("Confirm named sponsors ...", "Hold the
    handover ..."), none a question? A checklist of actions ("Week-by-week checklist") is steps; a
    checklist of questions to ask yourself stays a checklist."""
    listed = [u for u in units if u.kind != "para"]
    return len(listed) >= 3 and not any(u.is_question for u in listed) and sum(_tells(u) for u in listed) >= 0.6 * len(listed)


def _teaches_an_action(heading: str) -> bool:
    """A Dutch heading closed by the infinitive of what it teaches to do; not a relative clause
    ("Rode vlaggen die je niet moet wegredeneren") and not a question word's heading."""
    w = words(heading.split(":", 1)[0])
    if len(w) > 8 or not w or w[0] in ("waarom", "wat", "hoe", "wie", "wanneer") or {"die", "dat"} & set(w):
        return False
    return w[-1] in _ACTION_INFINITIVES


_HELPS = re.compile(
    r"\b(help|helps|helpen|helpt|werkt|werken|works|work|tips|maatregelen|werkvormen|practices|aanbevelingen|recommendations|to do|te doen)\b",
    re.IGNORECASE,
)


def things_to_do(steps: Sequence[Unit]) -> bool:
    """Are numbered steps things to do: one opens with an imperative ("Roteer mensen."), or their
    lead-in says they help ("Three practices help:", "Een paar werkvormen die werken:")? Numbered
    stages, factors or sources describe ("Vaak is een verschuiving in vier stappen te zien:
    1. Gedeelde humor. 2. Plagerijen over verschillen. ...")."""
    return any(_tells(u) for u in steps) or any(_HELPS.search(u.lead) for u in steps)


def _advises(units: Sequence[Unit]) -> bool:
    """Does a section's running text tell the reader what to do: at least two of its sentences, and a
    third of them, open with an imperative ("Houd het bij vijftien tot twintig indicatoren.", "Stel
    de scorekaart samen op met de partner.")? For a section whose heading and lists say nothing of
    its role; a description with one tip in it stays a description."""
    sentences = [s for u in units if u.kind == "para" for s in split_sentences(u.text)]
    told = sum(_imperative(s) for s in sentences)
    return told >= 2 and 3 * told >= len(sentences)


def _one_topic_of_several(heading: str, m: re.Match[str], leaf: str | None) -> bool:
    """Does the role word `m` found in `heading` name one of several topics the heading lists after
    its colon ("De ketenregisseur: rol, mandaat en valkuilen"), for a section not on that topic? The
    heading's section and its subsections "Mandaat" and "Taken van een ketenregisseur" are then no
    pitfalls; its subsection "Valkuilen" is. A role word before the colon covers every listed topic
    ("The core competencies: boundary spanner, translator, diplomat"). `leaf`: the subsection's own
    heading when `heading` is its parent's."""
    colon = heading.find(":")
    if not 0 <= colon < m.start() or not re.search(r",|\ben\b|\band\b", heading[colon:]):
        return False
    return leaf is None or m.group(0).lower() not in leaf.lower()


def section_role(heading: str, units: Sequence[Unit], *, first: bool = False) -> str:
    """The role of a section from its own heading, then from its content.

    `heading` is the section's path ('Parent > Child'); the child decides first, then the parent.
    `first` marks the document's opening section (the text before the first heading).
    """
    parts = [p.strip() for p in heading.split(" > ") if p.strip()]
    for depth in range(len(parts) - 1, -1, -1):
        part = parts[depth]
        for role, pattern in _HEADING_ROLES:
            m = pattern.search(part)
            if m and not _one_topic_of_several(part, m, None if depth == len(parts) - 1 else parts[-1]):
                return "steps" if role == "checklist" and _actions(units) else role
    if not parts and first:
        return "intro"
    if parts and ((_imperative(parts[-1]) and words(parts[-1])[0] != "vier") or _teaches_an_action(parts[-1])):
        # a heading that tells the reader what to do ("Agree joint working norms explicitly");
        # "Vier problemen ..." counts, it does not celebrate
        return "steps"
    listed = [u for u in units if u.kind != "para"]
    if units and sum(u.is_question for u in units) >= max(2, 0.6 * len(units)):
        return "checklist"
    if len(listed) >= 3 and (sum(u.kind == "step" for u in listed) >= 3 or sum(_tells(u) for u in listed) >= 0.5 * len(listed)):
        return "steps"
    text = " ".join(u.text for u in units)
    if len(_AUTHOR_YEAR.findall(text)) >= 2:
        return "research"
    if not first and _advises(units):
        return "steps"
    return "intro" if first else "background"
