"""Index-time structure: units, section roles, question intent, and points that stand alone."""

from __future__ import annotations

from advisor.answer.points import defect, section_candidates
from advisor.core.types import Chunk, Document, Piece
from advisor.ingest.chunking import chunk_document
from advisor.ingest.structure import only_donts, parse_units, section_role
from advisor.retrieve.intent import question_intent, role_fit


def _lines(text: str) -> list[tuple[str, int | None]]:
    return [(line, None) for line in text.split("\n")]


STEPS = """Je kunt wij-zij-denken niet afschaffen. Deze stappen helpen:
1. Organiseer echte samenwerking. Laat mensen van beide organisaties samen aan een product werken.
2. Roteer mensen. Laat medewerkers een periode bij de partner werken of meelopen.
3. Spreek een feitenregel af. Incidenten worden eerst met de partner zelf besproken."""


def test_numbered_steps_keep_their_number_name_and_lead_in() -> None:
    units = parse_units(_lines(STEPS))
    assert [u.kind for u in units] == ["para", "step", "step", "step"]
    assert [u.number for u in units[1:]] == [1, 2, 3]
    assert [u.name for u in units[1:]] == ["Organiseer echte samenwerking.", "Roteer mensen.", "Spreek een feitenregel af."]
    assert {u.lead for u in units[1:]} == {"Deze stappen helpen:"}


def test_a_paragraph_ends_a_list_and_its_lead_in() -> None:
    units = parse_units(_lines("Let op:\n- Een signaal dat ertoe doet en lang genoeg is.\nDaarna een gewone alinea.\n- Los item zonder aanloop."))
    assert [u.lead for u in units] == ["", "Let op:", "", ""]


def test_roles_from_headings_in_both_languages() -> None:
    assert section_role("Hoe je de stip samen formuleert", []) == "steps"
    assert section_role("Building the escalation ladder", []) == "steps"
    assert section_role("Signalen dat wij-zij-denken de samenwerking ondermijnt", []) == "signals"
    assert section_role("Warning signs that you are in a vicious circle", []) == "signals"
    assert section_role("Waarom ketensamenwerking zo vaak vastloopt", []) == "causes"
    assert section_role("Checklist voor de alliantiemanager", []) == "checklist"
    # a checklist of things to do is steps; one of questions or statements to check stays a checklist
    actions = parse_units(_lines("Weeks 1-2\n- Confirm named sponsors on both sides.\n- Run the kick-off with a joint working session.\n"
                                 "- Agree the first-year plan.\n- Publish a contact list for both teams."))
    assert section_role("Week-by-week checklist for the first 100 days", actions) == "steps"
    checks = parse_units(_lines("- We hebben vooraf vastgelegd wat we nodig hebben.\n- We weten hoe de partner zich eerder gedroeg.\n"
                                "- Hebben we een alternatief als deze partner afvalt?"))
    assert section_role("Checklist voor de partnerkeuze", checks) == "checklist"
    assert section_role("Voorbeeld (fictief): de scale-up en de energiereus", []) == "example"
    assert section_role("Wat het onderzoek laat zien over succespercentages", []) == "research"
    assert section_role("Do's en don'ts", []) == "dos_donts"
    assert section_role("Typical pitfalls", []) == "dos_donts"
    assert section_role("What to avoid", []) == "dos_donts"
    assert section_role("Vroege waarschuwingssignalen", []) == "signals"  # a Dutch compound
    # a heading that tells the reader what to do is advice; "Vier problemen ..." only counts
    assert section_role("Agree joint working norms explicitly", parse_units(_lines("Norms are rules of the road."))) == "steps"
    assert section_role("Vier problemen die zich als cultuurverschil vermommen", parse_units(_lines("Een gewone alinea."))) == "background"
    assert section_role("References", []) == "references"
    # "Bronnen van macht" is about sources of power, not a reference list; "grootte" holds no "root"
    assert section_role("Bronnen van macht in een samenwerking", []) != "references"
    assert section_role("Macht is afhankelijkheid, niet grootte", []) == "background"
    # "How to ..." / "Hoe je ..." is how-to; "how something happens" describes and is no advice
    assert section_role("How to break a vicious circle", []) == "steps"
    assert section_role("Hoe pak je een machtsstrijd aan", []) == "steps"
    assert section_role("Hoe vertegenwoordigers thuis over de partner praten", []) == "background"
    # ... and how something forms or arises is its causes
    assert section_role("How vicious circles form between partners", []) == "causes"
    assert section_role("Hoe wij-zij-denken ontstaat", []) == "causes"
    # a subsection on one of the topics its parent lists is not the parent's role word's topic
    assert section_role("De ketenregisseur: rol, mandaat en valkuilen > Mandaat", []) == "background"
    assert section_role("De ketenregisseur: rol, mandaat en valkuilen > Taken van een ketenregisseur", []) == "background"
    assert section_role("De ketenregisseur: rol, mandaat en valkuilen", []) == "background"
    assert section_role("De ketenregisseur: rol, mandaat en valkuilen > Valkuilen", []) == "dos_donts"
    assert section_role("Two kinds of trust: competence and goodwill", []) == "background"
    assert section_role("The core competencies: boundary spanner, translator, diplomat > Translator", []) == "steps"
    # "case" as an argument is no case told
    assert section_role("Making the case to the board", []) == "steps"
    assert section_role("The value-for-money case, and its limits", []) == "background"
    assert section_role("Case 2: a toll road", []) == "example" and section_role("Illustrative cases", []) == "example"
    # "in de praktijk" applies a topic; it tells no case
    assert section_role("Vier partnerlanden in de praktijk > Japan", []) == "background"
    assert section_role("Kennis delen in de praktijk", parse_units(_lines("- Benoem een kennisbewaker.\n- Werk in gemengde teams.\n- Leg lessen vast."))) == "steps"
    assert section_role("Voorbeelden uit de praktijk", []) == "example"
    # a Dutch heading closed by the action it teaches is advice; a relative clause is not
    assert section_role("Eindeloos uitstel voorkomen", []) == "steps"
    assert section_role("Machtsbalans herstellen of bewaken", []) == "steps"
    assert section_role("Terugkoppelen: meer dan een verslag sturen", []) == "steps"
    assert section_role("Spanningen die in elke vorm terugkomen", []) == "background"
    assert section_role("Soorten conflict in samenwerkingsverbanden", []) == "background"
    # an English heading that opens with the action it teaches; lessons; "go" is an imperative
    assert section_role("Planning the exit from the start", []) == "steps"
    assert section_role("Practical lessons for public and private partners", []) == "steps"
    assert section_role("Go for quick wins that matter", []) == "steps"
    # the Dutch words for what the English headings' "practices" and "rules" name
    assert section_role("Relationele praktijken die het verschil maken", []) == "steps"
    assert section_role("Spelregels voor het gezamenlijke team", []) == "steps"
    # "wel en niet" names both; Dutch red flags are signals
    assert section_role("Wat wel en niet te doen", []) == "dos_donts"
    assert section_role("Rode vlaggen die je niet moet wegredeneren", []) == "signals"
    # how often alliances fail is no list of causes; why they fail is
    assert section_role("Hoe vaak allianties mislukken", []) != "causes"
    assert section_role("Why alliances fail", []) == "causes" and section_role("De vijf belangrijkste oorzaken", []) == "causes"


def test_roles_from_content_where_a_document_has_no_headings() -> None:
    questions = parse_units(_lines("- Weet ik wat de partner nodig heeft?\n- Spreken we elkaar vaak genoeg?\n- Is het doel helder?"))
    assert section_role("", questions) == "checklist"
    assert section_role("", parse_units(_lines(STEPS))) == "steps"
    imperatives = parse_units(_lines("- Zorg voor een trekker met tijd.\n- Werk met echte vraagstukken.\n- Geef de groep een eigen budget."))
    assert section_role("", imperatives) == "steps"
    # named items whose bodies tell what to do ("Commitment tracking. Keep a visible list ...")
    named = parse_units(_lines("- Opening round. Start each meeting with a short round.\n- Commitment tracking. Keep a visible list of promises.\n"
                               "- Informal time. A dinner before the meeting helps."))
    assert section_role("Rituals that work in a board", named) == "steps"
    plain = parse_units(_lines("- Opening round. A short round.\n- Informal time. A dinner.\n- Hosts. Each in turn."))
    assert section_role("Rituals in a board", plain) == "background"
    # a heading that says its items build or help: "Practical rituals that build trust and respect"
    assert section_role("Practical rituals that build trust and respect", plain) == "steps"
    assert section_role("Rituelen die helpen", plain) == "steps"
    research = parse_units(_lines("Gulati (1995) vond dat herhaalde allianties vertrouwen opbouwen. Kale en Singh (2007) lieten zien dat leren telt."))
    assert section_role("", research) == "research"
    assert section_role("", parse_units(_lines("Een gewone alinea over samenwerking.")), first=True) == "intro"
    # running text that tells the reader what to do, in a third of its sentences, is advice
    scorecard = parse_units(_lines(
        "Een bruikbare scorekaart bestaat uit drie delen. Houd het bij vijftien tot twintig indicatoren.\n"
        "- Resultaten: de afgesproken doelen.\n- Relatie: vertrouwen en openheid.\n- Proces: snelheid van besluitvorming.\n"
        "Stel de scorekaart samen op met de partner. Als één partij de indicatoren bepaalt, voelt de meting als controle."
    ))
    assert section_role("Een scorekaart op resultaten, relatie en proces", scorecard) == "steps"
    # a description with one tip in it stays a description
    described = parse_units(_lines(
        "Een klassieke fout is dat juristen onderhandelen. Het team dat de alliantie runt, erft een contract. "
        "Dat kost waarde. Betrek daarom de alliantiemanager vanaf het begin. Dat is zelden gebeurd."
    ))
    assert section_role("Het onderhandelteam en het uitvoeringsteam", described) == "background"
    # imperatives beyond the commonest verbs: "Richt", "Praat" (Dutch), "Put", "Map" (English)
    diligence = parse_units(_lines(
        "Due diligence bij een alliantie is anders dan bij een overname. Je koopt de partner niet. "
        "Richt het onderzoek daarom op vier vragen. Die derde vraag wordt vaak overgeslagen. "
        "Praat met voormalige partners van de kandidaat. Een partij die naar het contract grijpt, doet dat bij jou ook."
    ))
    assert section_role("Due diligence voor een samenwerking", diligence) == "steps"
    rights = parse_units(_lines(
        "Unclear decision rights slow an alliance down. Map the recurring decisions first. "
        "Put each one at a level: the team, the managers or the committee. Most issues then never reach the top."
    ))
    assert section_role("Decision rights", rights) == "steps"


def test_question_intent_in_both_languages_and_for_keyword_queries() -> None:
    assert question_intent("Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?") == "how"
    assert question_intent("Wat kan ik doen als de partner afspraken niet nakomt?") == "how"
    assert question_intent("How do I set up an escalation procedure?") == "how"
    assert question_intent("Waarom komt zo'n ketensamenwerking niet van de grond?") == "why"
    assert question_intent("Why do alliances fail?") == "why"
    # how it came to this asks why; how to get somewhere asks what to do
    assert question_intent("How did we end up here when nobody intended to escalate?") == "why"
    assert question_intent("Hoe zijn we hier beland?") == "why" and question_intent("Hoe kon het zo ver komen?") == "why"
    assert question_intent("How come the partner stopped sharing plans?") == "why"
    assert question_intent("Waar komt dat eigenlijk vandaan?") == "why" and question_intent("Where does this distrust come from?") == "why"
    # "Wat is een goede eerste stap ...?" asks what to do, not what something is
    assert question_intent("Wat is een goede eerste stap als de relatie met de partner verslechtert?") == "how"
    assert question_intent("What is the best first step after signing?") == "how"
    # how one thing differs from another asks what each is; how to deal with differences asks what to do
    assert question_intent("Wat doet een netwerkleider anders dan een gewone manager?") == "what"
    assert question_intent("How is a network leader different from a line manager?") == "what"
    assert question_intent("Hoe verschilt een netwerkleider van een manager?") == "what"
    assert question_intent("How do we deal with cultural differences between the partners?") == "how"
    assert question_intent("Hoe ga ik om met verschillen tussen de partners?") == "how"
    assert question_intent("How do we get there?") == "how" and question_intent("How do I end up with a plan both boards sign?") == "how"
    assert question_intent("Hoe weet ik of ons doel te vaag is?") == "signals"
    assert question_intent("How can I tell whether a partner is playing power games?") == "signals"
    # checking whether something is so asks how to tell, in whichever words
    assert question_intent("Hoe kan ik nagaan of het echt aan de cultuur ligt?") == "signals"
    assert question_intent("Waar let ik op om te merken of het cynisme toeneemt?") == "signals"
    # what not to do is a question of its own; how to prevent something is still how
    assert question_intent("En wat moet ik vooral niet doen?") == "avoid"
    assert question_intent("In welke valkuilen stappen mensen uit de lijn vaak?") == "avoid"
    assert question_intent("Which traps should a new alliance manager watch out for?") == "avoid"
    assert question_intent("What should we avoid in the first 100 days?") == "avoid"
    assert question_intent("How do we avoid that the office becomes a bureaucracy?") == "how"
    assert question_intent("Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?") == "how"
    assert question_intent("Wat zegt het onderzoek over succespercentages van allianties?") == "research"
    assert question_intent("What does research say about alliance functions?") == "research"
    assert question_intent("Welke vormen van governance zijn er voor netwerken?") == "options"
    assert question_intent("Wat is een netwerkadministratieorganisatie?") == "what"
    assert question_intent("escalation ladder") == "how"
    assert question_intent("vertrouwen topteam") == "how"


def test_research_as_the_kind_of_alliance_or_a_verb_is_no_question_about_research() -> None:
    # "a research alliance" asked what to do, and got "What the research says" over a contract list
    assert question_intent("How should we split IP in a research alliance?") == "how"
    assert question_intent("What is the difference between background and foreground knowledge in a research partnership?") == "what"
    assert question_intent("Wat moeten we nog onderzoeken bij de partner?") == "how"
    assert question_intent("Is there research on alliance failure rates?") == "research"
    assert question_intent("Hoeveel allianties mislukken er volgens onderzoek?") == "research"
    assert question_intent("Which researchers studied trust in alliance boards?") == "research"


def test_asking_for_an_example_is_an_intent_of_its_own() -> None:
    assert question_intent("Heb je daar een voorbeeld van?") == "example"
    assert question_intent("Kun je een concreet voorbeeld geven?") == "example"
    assert question_intent("Is er een casus over ketenregie in de zorg?") == "example"
    assert question_intent("Can you give an example?") == "example"
    assert question_intent("Is there a case study of a failed joint venture?") == "example"
    # "for example", "bijvoorbeeld" and leading by example ask something else
    assert question_intent("Welke concrete stappen zet je, bijvoorbeeld rond het verdelen van kosten?") == "how"
    assert question_intent("What should we agree first, for example on costs?") == "how"
    assert question_intent("Hoe geef ik als bestuurder het goede voorbeeld?") == "how"
    assert question_intent("How do I set an example for my team?") == "how"
    assert role_fit("example", "example") > role_fit("example", "steps")


def test_role_fit_prefers_the_role_that_answers_the_intent() -> None:
    assert role_fit("how", "steps") > role_fit("how", "background") > role_fit("how", "example")
    assert role_fit("signals", "signals") > role_fit("signals", "steps")
    assert role_fit("signals", "checklist") > 0  # questions to ask yourself do tell
    assert role_fit("avoid", "dos_donts") > role_fit("avoid", "steps")
    assert role_fit("why", "causes") > role_fit("why", "steps")
    assert role_fit("research", "references") < 0


def test_defects_name_what_keeps_a_text_from_standing_alone() -> None:
    assert defect("Besteed ik ongeveer evenveel tijd aan mijn eigen organisatie als aan de partner?") == "question"
    assert defect("Dit artikel gaat over waarom horizontale samenwerking stroef loopt.") == "meta"
    assert defect("This article describes how to design an escalation ladder.") == "meta"
    assert defect("Wat een leidinggevende doet als hij het hoort") == "heading"
    # a case's title, bold at the start of its paragraph in the source, is a heading too
    assert defect("Voorbeeld (fictief): een zorgcoalitie die het wel redde.") == "heading"
    assert defect("Illustrative case: a toll road PPP that failed.") == "heading"
    assert defect("Een voorbeeld: de keten werkte pas toen iedereen één overdrachtsformulier gebruikte.") is None
    assert defect("Een paar werkvormen die in de praktijk werken:") == "lead-in"
    assert defect("Dat maakt de onderlinge afhankelijkheid concreet zonder dat er een conflict is.") == "fragment"
    assert defect("Ten tweede rapporteerden zij een hogere tevredenheid bij de partners.") == "fragment"
    assert defect("goede afspraken, maar in de uitvoering gaat het mis bij de partners.") == "fragment"
    # a pronominal adverb among the first words refers back too ("daarbij": with what?); a conclusion stands
    assert defect("Een ambitieus doel heeft daarbij een extra functie voor de partners.") == "fragment"
    assert defect("Je kunt hiermee de onderlinge afhankelijkheid zichtbaar maken.") == "fragment"
    assert defect("Trust, in turn, makes it possible to leave more of the contract open.") == "fragment"  # in turn to what?
    assert defect("Betrek daarom de beoogde alliantiemanager vanaf het begin bij de onderhandeling.") is None
    assert defect("The board therefore decides on every change to the joint budget.") is None
    assert defect("Roteer mensen.") == "short"
    assert defect("Roteer mensen. Laat medewerkers een periode bij de partner werken of meelopen.") is None


def _chunk(text: str, n: int = 0, overlap: int = 0, section: str = "S") -> Chunk:
    return Chunk(f"c{n}", "a.md", "A", "nl", section, None, n, text, role="steps", overlap=overlap)


def test_candidates_are_steps_with_their_names_and_sentences_with_their_antecedent() -> None:
    text = STEPS + "\nWie de ander kent, herkent karikaturen sneller. Dat maakt het gesprek over beelden makkelijker.\nWat doe je als het misgaat?"
    cands, is_list = section_candidates([_chunk(text)])
    assert is_list
    steps = [c for c in cands if c.kind == "step"]
    assert [c.name for c in steps] == ["Organiseer echte samenwerking.", "Roteer mensen.", "Spreek een feitenregel af."]
    assert steps[1].text == "Roteer mensen. Laat medewerkers een periode bij de partner werken of meelopen."
    sentences = [c.text for c in cands if c.kind == "sentence"]
    # the sentence that refers back comes with its antecedent; the question and the lead-in never
    assert "Wie de ander kent, herkent karikaturen sneller. Dat maakt het gesprek over beelden makkelijker." in sentences
    assert not any(s.endswith("?") or s.endswith(":") for s in sentences)
    assert all(defect(c.text) in (None,) for c in cands if c.kind == "sentence")


def test_a_meta_sentence_is_no_point_even_joined_to_the_sentence_before_it() -> None:
    text = (
        "De mensen die het werk doen, weten hooguit dat er iets met samenwerking loopt. "
        "Dit artikel gaat over het overbrengen van het gedeelde doel aan die mensen."
    )
    sentences = [c.text for c in section_candidates([_chunk(text)])[0]]
    assert sentences == ["De mensen die het werk doen, weten hooguit dat er iets met samenwerking loopt."]
    # nor a sentence that ends on a clause about the text itself
    clause = (
        "Binnen aanbestedingskaders is veel meer mogelijk dan inkopers vaak denken. "
        "Specifieke juridische vragen over aanbestedingsrecht horen overigens bij een jurist; dit artikel gaat over de samenwerkingskant."
    )
    sentences = [c.text for c in section_candidates([_chunk(clause)])[0]]
    assert sentences == ["Binnen aanbestedingskaders is veel meer mogelijk dan inkopers vaak denken."]


def test_a_case_told_inside_an_advice_section_gives_no_points_but_a_case_section_does() -> None:
    # "Twee jaar later was de grap een vaststaand oordeel geworden" stood between advice as a point.
    case = (
        "Voorbeeld (fictief): een retailalliantie. Twee winkelketens deelden een distributiecentrum. "
        "Twee jaar later was de grap een vaststaand oordeel geworden bij de planners van de ene keten."
    )
    advice = "Spreek herhaald gedrag aan in een persoonlijk gesprek met de medewerker die de toon zet."
    sentences = [c.text for c in section_candidates([_chunk(f"{advice}\n{case}")])[0]]
    assert sentences == [advice]
    as_case = Chunk("c0", "a.md", "A", "nl", "Voorbeeld", None, 0, case, role="example")
    assert any(c.text.startswith("Twee jaar later") for c in section_candidates([as_case])[0])
    # a sentence that only starts with the word is no case
    studies = "Case studies show that trust between partners grows slowly and in small steps."
    assert [c.text for c in section_candidates([_chunk(studies)])[0]] == [studies]


def test_a_section_is_read_back_whole_from_overlapping_chunks() -> None:
    long = "\n".join(f"Zin nummer {i} over samenwerking tussen partners die lang genoeg is om te tellen." for i in range(40))
    doc = Document("a.md", "A", "nl", (Piece("Intro.", ""), Piece(long, "Lange sectie")), "md")
    chunks = [c for c in chunk_document(doc, size=300, overlap=120) if c.section == "Lange sectie"]
    assert len(chunks) > 3 and any(c.overlap for c in chunks)
    assert "\n".join(c.fresh_text for c in chunks) == long
    assert {c.role for c in chunks} == {"background"}


def test_no_chunk_starts_inside_a_sentence_cut_by_a_page_break() -> None:
    doc = Document(
        "a.pdf",
        "A",
        "nl",
        (
            Piece("Partners maken vaak goede afspraken, maar in de uitvoering", "Afspraken", 3),
            Piece("gaat het mis. Daarom helpt een vast overleg.", "Afspraken", 4),
        ),
        "pdf",
    )
    chunks = chunk_document(doc)
    assert not any(c.text[:1].islower() for c in chunks)
    assert chunks[0].text.endswith("in de uitvoering gaat het mis.") and chunks[0].page == 3
    assert chunks[1].text == "Daarom helpt een vast overleg." and chunks[1].page == 4


def test_headings_that_name_only_what_not_to_do() -> None:
    for heading in ("Common mistakes in the first 100 days", "Typical pitfalls", "Valkuilen", "Niet doen:", "Veelgemaakte fouten", "What to avoid"):
        assert only_donts(heading), heading
    for heading in ("Do's en don'ts", "Wat wel en niet te doen", "Checklist: do and don't", "Building the escalation ladder", "Doen:",
                    "De ketenregisseur: rol, mandaat en valkuilen"):
        assert not only_donts(heading), heading


def test_a_lead_in_that_refers_back_keeps_the_sentence_it_refers_to() -> None:
    # "That creates some limits:" stood above a list as the answer's only context
    text = "Liaison officers sit in the partner's teams for months. That creates some limits:\n- They lose touch with their own organisation.\n- They are hard to replace."
    units = parse_units(_lines(text))
    assert {u.lead for u in units if u.kind == "item"} == {"Liaison officers sit in the partner's teams for months. That creates some limits:"}
    ahead = parse_units(_lines("Je kunt het niet afschaffen. Deze stappen helpen:\n- Organiseer echte samenwerking tussen de teams."))
    assert ahead[1].lead == "Deze stappen helpen:"  # points ahead, to its list


def test_a_pointer_to_another_text_an_announcement_and_a_downside_are_no_points_on_their_own() -> None:
    # a reader met each of these as a point: a cross-reference, a count of what follows, a downside
    # without the advantage it weighs against
    assert defect("Over het praktisch inrichten van een NAO gaat een apart artikel in deze kennisbank.") == "meta"
    assert defect("Een bruikbare stip op de horizon voldoet aan een paar eisen.") == "lead-in"
    assert defect("With the register in hand, four questions drive the discussion.") == "lead-in"
    # a count that is content stays a point
    assert defect("Friedrich Glasl beschreef hoe conflicten escaleren in negen trappen, verdeeld over drie fasen.") is None
    assert defect("Een handige werkvorm is om de onderhandeling expliciet in twee fasen te knippen.") is None
    assert defect("Provan en Kenis onderscheiden drie vormen van netwerkgovernance.") is None  # who counts them
    text = (
        "Omdat ze neutraal is, wordt ze door partners vaak geaccepteerd als scheidsrechter bij conflicten. "
        "De keerzijde is dat de vorm geld kost, en dat er een extra bestuurslaag ontstaat."
    )
    sentences = [c.text for c in section_candidates([_chunk(text)])[0]]
    assert all(not s.startswith("De keerzijde") for s in sentences), sentences
    # a clause that opens on a pronoun for what came before: "If it sits too far ..." comes with it
    pair = (
        "If the role sits too low in the hierarchy, internal departments ignore its requests. "
        "If it sits too far from the business, the alliance manager lacks the knowledge to be credible."
    )
    sentences = [c.text for c in section_candidates([_chunk(pair)])[0]]
    assert not any(s.startswith("If it sits") for s in sentences), sentences
    assert any(s.startswith("If the role") and s.endswith("to be credible.") for s in sentences), sentences
