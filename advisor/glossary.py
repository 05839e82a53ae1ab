"""A small Dutch-English glossary of the domain, for cross-language keyword matching.

BM25 finds nothing for an English question on a Dutch passage. Each question word is matched
together with its translations (dictionary-based cross-language retrieval), so "escalation"
also matches "escalatie". Single words only; both directions; the domain's own vocabulary.
"""

from __future__ import annotations

from functools import lru_cache

_PAIRS = """
alliance alliantie; alliances allianties; partnership samenwerking; collaboration samenwerking;
cooperation samenwerking; collaborate samenwerken; cooperate samenwerken; partner partner;
partners partners; trust vertrouwen; distrust wantrouwen; respect respect; openness openheid;
decisiveness besluitvaardigheid; decision besluit; decisions besluiten; decide beslissen;
goal doel; goals doelen; objective doelstelling; vision visie; ambition ambitie; horizon horizon;
message boodschap; messages boodschappen; report rapport; reports rapporten; plan plan;
chain keten; supply keten; dependency afhankelijkheid; dependence afhankelijkheid;
dependent afhankelijk; interdependence wederzijdse; conflict conflict; conflicts conflicten;
escalation escalatie; escalate escaleren; dispute geschil; mediation bemiddeling; mediator bemiddelaar;
deadlock impasse; power macht; struggle strijd; asymmetry ongelijkheid; culture cultuur;
cultures culturen; cultural culturele; stereotype stereotype; stereotypes stereotypen;
sarcasm sarcasme; cynicism cynisme; jokes grappen; defector overloper; traitor verrader;
representative vertegenwoordiger; representatives vertegenwoordigers; home thuis;
organisation organisatie; organization organisatie; organisations organisaties;
organizations organisaties; network netwerk; networks netwerken; leadership leiderschap;
leader leider; leaders leiders; government overheid; municipality gemeente; municipalities gemeenten;
public publiek; private privaat; governance governance; steering sturing; committee commissie;
board bestuur; chair voorzitter; meeting vergadering; meetings vergaderingen; agenda agenda;
design ontwerp; structure structuur; teams teams; team team; unit eenheid; units eenheden;
autonomous autonome; autonomy autonomie; horizontal horizontale; coordination coordinatie;
coordinator coordinator; director regisseur; health gezondheid; healthcare zorg; care zorg;
measure meten; measuring meten; indicator indicator; indicators indicatoren; scorecard scorecard;
survey enquete; evaluation evaluatie; evaluate evalueren; review evaluatie; lifecycle levenscyclus;
cycle cyclus; phase fase; phases fasen; exit exit; termination beeindiging; terminate beeindigen;
disentangle ontvlechten; negotiation onderhandeling; negotiate onderhandelen; negotiations onderhandelingen;
contract contract; contracts contracten; agreement overeenkomst; agreements afspraken;
selection keuze; choice keuze; choosing kiezen; select selecteren; candidate kandidaat;
criteria criteria; fit fit; risk risico; risks risico's; procurement aanbesteding;
tender aanbesteding; infrastructure infrastructuur; value waarde; values waarden;
first eerste; days dagen; kickoff kick-off; launch start; start start; communication communicatie;
relations relaties; relationship relatie; relationships relaties; quality kwaliteit; top top;
management management; manager manager; managers managers; function functie; office bureau;
discipline vak; capability vermogen; competences competenties; competencies competenties;
skills vaardigheden; role rol; roles rollen; mandate mandaat; accountability verantwoording;
funding financiering; budget budget; costs kosten; incentives prikkels; reward beloning;
knowledge kennis; learning leren; learn leren; competitor concurrent; competitors concurrenten;
competition concurrentie; portfolio portefeuille; intellectual intellectueel; property eigendom;
ownership eigendom; patent octrooi; failure mislukking; fail mislukken; fails mislukt;
success succes; successful succesvol; warning waarschuwing; signs signalen; signals signalen;
vicious vicieuze; circle cirkel; circles cirkels; spiral spiraal; reciprocity wederkerigheid;
international internationale; country land; countries landen; national nationale; japanese japanse;
german duitse; french franse; american amerikaanse; dutch nederlandse; directness directheid;
hierarchy hierarchie; hierarchical hierarchische; bureaucracy bureaucratie; liaison verbindingsofficier;
consciousness bewustzijn; execution uitvoering; small klein; large groot; entrepreneurship ondernemerschap;
blame schuld; excuse excuus; diagnose diagnose; diagnosis diagnose; employees medewerkers;
staff personeel; customers klanten; clients clienten; client client; information informatie;
sharing delen; share delen; youth jeugd; elderly ouderen; dementia dementie; route route;
joint gezamenlijke; venture venture; consortium consortium; renegotiation heronderhandeling;
renegotiate heronderhandelen; lessons lessen; pilot pilot; due due; diligence diligence;
steering-committee stuurgroep; chain-director ketenregisseur
"""


@lru_cache(maxsize=1)
def translations() -> dict[str, frozenset[str]]:
    """word -> its translations (lower case), both directions."""
    out: dict[str, set[str]] = {}
    for pair in _PAIRS.replace("\n", " ").split(";"):
        words = pair.split()
        if len(words) != 2:
            continue
        en, nl = words
        if en == nl:
            continue
        out.setdefault(en, set()).add(nl)
        out.setdefault(nl, set()).add(en)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def translations_by_stem() -> dict[str, dict[str, frozenset[str]]]:
    """language -> stem of a word of that language (Snowball) -> the word's translations."""
    from advisor.text import _stemmer

    out: dict[str, dict[str, set[str]]] = {"en": {}, "nl": {}}
    for pair in _PAIRS.replace("\n", " ").split(";"):
        words = pair.split()
        if len(words) != 2 or words[0] == words[1]:
            continue
        en, nl = words
        out["en"].setdefault(_stemmer("en").stemWord(en), set()).add(nl)
        out["nl"].setdefault(_stemmer("nl").stemWord(nl), set()).add(en)
    return {lang: {k: frozenset(v) for k, v in d.items()} for lang, d in out.items()}
