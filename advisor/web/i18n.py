"""The page's own words in Dutch and in English, one language at a time, chosen by the person.

    ui_language(value) -> "nl" | "en"      text(key, language, **values) -> str
    UI (labels of the page), MESSAGES (what the server writes into it), CHOICES, BROWSER_LANGUAGE_JS

The page comes up in the browser's language (`BROWSER_LANGUAGE_JS`, run on load) and the NL/EN
switch changes it; the session's choice lives in a `gr.State` that the handlers take. An answer
is not a label: it always follows its question's language (`advisor.answer`). A session that
never chose (an API client) gets `None`, and each handler keeps its older default for it.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("nl", "en")
CHOICES = {"NL": "nl", "EN": "en"}  # the switch's choices and the language each one means

# Run on page load: the switch's value from navigator.language (Dutch for nl, nl-NL, nl-BE, ...).
BROWSER_LANGUAGE_JS = "() => ((navigator.language || '').toLowerCase().startsWith('nl') ? 'NL' : 'EN')"

# Run on load and when the switch changes: the browser tab's title and the document's language follow it.
DOCUMENT_LANGUAGE_JS = """(choice) => {
  const nl = choice === 'NL';
  document.documentElement.lang = nl ? 'nl' : 'en';
  document.title = nl ? 'Alliantie-adviseur' : 'Alliance Advisor';
}"""

UI: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Alliantie-adviseur",
        "language": "Taal",
        "chat_tab": "Chat",
        "desk_tab": "Beheer",
        "conversation": "Gesprek",
        "chat_placeholder": (
            "Stel een vraag over samenwerking tussen organisaties, in het Nederlands of het Engels.\n\n**Voorbeeldvragen**"
        ),
        "question": "Uw vraag",
        "ask": "Vraag",
        "export": "Exporteer gesprek (.md)",
        "new_conversation": "Nieuw gesprek",
        "export_file": "Gesprek (Markdown)",
        "copy": "Antwoord met bronnen kopiëren",
        "comment": "Opmerking (optioneel)",
        "helpful": "Nuttig",
        "not_helpful": "Niet nuttig",
        "password": "Wachtwoord",
        "unlock": "Ontgrendel",
        "logout": "Uitloggen",
        "documents": "### Documenten",
        "upload": "Bestanden toevoegen ({suffixes}; max {mb} MiB)",
        "add": "Toevoegen aan het corpus",
        "corpus": "Corpus",
        "remove_choice": "Document verwijderen",
        "remove": "Verwijder",
        "index": "### Index",
        "reindex": "Herindexeer",
        "evaluation": "### Evaluatie",
        "run_eval": "Evaluatie uitvoeren",
        "reports": "Laatste rapporten",
        "calibration": "### Kalibratie van de weigerregel",
        "run_calibrate": "Kalibreer op de vragen",
        "apply_calibration": "Voorgestelde waarden toepassen",
        "feedback": "### Feedback",
        "refresh": "Vernieuw",
        "feedback_table": "Feedback",
    },
    "en": {
        "title": "Alliance Advisor",
        "language": "Language",
        "chat_tab": "Chat",
        "desk_tab": "Maintainer",
        "conversation": "Conversation",
        "chat_placeholder": "Ask about collaboration between organisations, in Dutch or in English.\n\n**Example questions**",
        "question": "Your question",
        "ask": "Ask",
        "export": "Export conversation (.md)",
        "new_conversation": "New conversation",
        "export_file": "Conversation (Markdown)",
        "copy": "Copy answer with sources",
        "comment": "Comment (optional)",
        "helpful": "Helpful",
        "not_helpful": "Not helpful",
        "password": "Password",
        "unlock": "Unlock",
        "logout": "Log out",
        "documents": "### Documents",
        "upload": "Add files ({suffixes}; max {mb} MiB)",
        "add": "Add to corpus",
        "corpus": "Corpus",
        "remove_choice": "Remove a document",
        "remove": "Remove",
        "index": "### Index",
        "reindex": "Re-index",
        "evaluation": "### Evaluation",
        "run_eval": "Run evaluation",
        "reports": "Last reports",
        "calibration": "### Calibrating the refusal rule",
        "run_calibrate": "Calibrate on the questions",
        "apply_calibration": "Apply the proposed values",
        "feedback": "### Feedback",
        "refresh": "Refresh",
        "feedback_table": "Feedback",
    },
}

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
        # the status line
        "no_index_yet": "Nog geen index",
        "knowledge_base": "Kennisbank: build `{build}`, {documents} documenten, {chunks} passages",
        "building": " — **Er wordt een nieuwe index gebouwd**{stage}; antwoorden komen intussen uit de huidige index",
        # the chat
        "source_gone": "Deze bron is niet meer beschikbaar.",
        "open_failed": "Het document kon niet worden geopend.",
        "nothing_to_export": "Er is nog geen gesprek om te exporteren.",
        # the desk: login
        "login_first": "Log eerst in (of opnieuw: de sessie is verlopen).",
        "wrong_password": "Onjuist wachtwoord.",
        "wait": "Wacht {seconds} s voor een nieuwe poging.",
        "logged_out": "Uitgelogd.",
        # the desk: uploads and removals
        "choose_files": "Kies eerst een of meer bestanden.",
        "reindex_to_use": "Start een herindexering om de nieuwe documenten in antwoorden te gebruiken.",
        "added": "toegevoegd",
        "replaced": "vervangen",
        "refused": "geweigerd",
        "not_uploaded_here": "'{name}' is niet via deze pagina geüpload",
        "over_limit": "'{name}' is groter dan de uploadlimiet van {mb} MiB",
        "unreadable": "'{name}' kon niet worden gelezen",
        "choose_document": "Kies eerst een document.",
        "removed": "'{source}' is uit het corpus verwijderd. Start een herindexering om het uit de antwoorden te halen.",
        "not_removed": "'{source}' kon niet worden verwijderd.",
        "not_in_corpus": "'{name}' is geen bestand in het corpus",
        # the desk: runs
        "index_started": "Herindexering gestart.",
        "eval_started": "Evaluatie gestart.",
        "index_running": "Er loopt al een herindexering.",
        "eval_running_already": "Er loopt al een evaluatie.",
        "index_building": "Er wordt al een nieuwe index gebouwd; wacht tot die klaar is.",
        "index_start_failed": "De herindexering kon niet worden gestart.",
        "eval_start_failed": "De evaluatie kon niet worden gestart.",
        "index_progress": "Er wordt een nieuwe index gebouwd: {progress}. De chat antwoordt intussen uit de huidige index.",
        "no_reindex_yet": "Vanaf dit bureau is nog geen herindexering gestart.",
        "index_starting": "Herindexering start...",
        "index_failed": "De herindexering is mislukt: {error}",
        "eval_running": "Evaluatie loopt ({seconds} s)...",
        "eval_failed": "De evaluatie is mislukt: {error}",
        "eval_finished": "Evaluatie klaar.",
        "below_bars": " Sommige maten liggen onder hun drempel.",
        "index_noop": "De index is bijgewerkt (build {build}); er hoefde niets te worden ingebed.",
        "index_current": (
            "Build {build} is nu actueel: {documents} documenten, {chunks} passages "
            "({added} toegevoegd, {changed} gewijzigd, {removed} verwijderd)."
        ),
        "index_failed_files": "{count} bestand(en) konden niet worden geïndexeerd:",
        # the desk: calibration
        "calibrate_started": "Kalibratie gestart: de vragen gaan door de huidige index.",
        "calibrate_running_already": "Er loopt al een kalibratie.",
        "calibrate_start_failed": "De kalibratie kon niet worden gestart.",
        "calibrate_running": "Kalibratie loopt ({seconds} s)...",
        "calibrate_failed": "De kalibratie is mislukt: {error}",
        "calibrate_finished": "Kalibratie klaar. Er is nog niets gewijzigd.",
        "calib_questions": "{total} vragen uit {file}: {answerable} om te beantwoorden, {refusal} om te weigeren.",
        "calib_chance": (
            "Toevalsniveau (hoe dicht vragen zonder verband bij deze passages komen): {levels}. Tussen haakjes: hoeveel "
            "de weigerregel daardoor bij elke gelijkenis optelt."
        ),
        "calib_rule": "Regel",
        "calib_current": "huidig",
        "calib_proposed": "voorgesteld",
        "calib_refusal_threshold": "drempel",
        "calib_refusal_floor": "ondergrens",
        "calib_refusal_keyword_coverage": "trefwoorddekking",
        "calib_refusal_precision": "weigering: precisie",
        "calib_refusal_recall": "weigering: recall",
        "calib_answered": "beantwoord",
        "calib_recall_at_5": "recall@5 (beantwoord)",
        "calib_changed": "Vragen waarvan de uitkomst verandert ({n}):",
        "calib_unchanged": "Geen vraag verandert van uitkomst.",
        "calib_glossaries": "Woordenlijsten (de woorden die het zoeken tussen Nederlands en Engels vertaalt), met de huidige regel:",
        "calib_glossary": "woordenlijst",
        "calib_mrr": "MRR",
        "calib_cross_language_recall_at_5": "recall@5 andere taal",
        "calib_glossary_proposed": "Voorgesteld: glossary = \"{glossary}\" (de regel hierboven is ermee gekalibreerd).",
        "calib_glossary_kept": "De huidige woordenlijst ({glossary}) doet het even goed of beter: geen wijziging.",
        "calib_outcome_answered": "beantwoord",
        "calib_outcome_refused": "geweigerd",
        "calib_should_answer": "hoort beantwoord te worden",
        "calib_should_refuse": "hoort geweigerd te worden",
        "calib_notes": "Let op:",
        "calib_group_question_nl": "Nederlandse vragen",
        "calib_group_question_en": "Engelse vragen",
        "calib_group_cross_language": "vragen in een andere taal dan hun document",
        "calib_note_builtin_offtopic": (
            "Het vragenbestand heeft geen vragen om te weigeren: {n} ingebouwde vragen buiten het onderwerp (Nederlands en "
            "Engels: koken, sport, software, reizen, belastingtarieven, verslaggevingsregels) nemen hun plaats in. Voeg eigen "
            "vragen toe (kind: refusal), dicht bij uw onderwerp, voor een regel die bij uw gebruikers past."
        ),
        "calib_note_few_refusals": (
            "Maar {n} vragen om te weigeren: de weigerkant van de regel rust op te weinig. Voeg er minstens {min} toe, "
            "duidelijk buiten het onderwerp en er dichtbij (een belastingtarief, een wet) wat uw documenten niet behandelen."
        ),
        "calib_note_few_answerable": (
            "Maar {n} beantwoordbare vragen: te weinig om de regel op te vertrouwen. Voeg vragen toe die uw gebruikers "
            "stellen (minstens {min}, in elke taal waarin ze vragen), elk met het document dat haar beantwoordt (expected)."
        ),
        "calib_note_below_bar": (
            "Zelfs de beste regel haalt weigerprecisie {precision:.2f} en recall {recall:.2f} (de norm is {bar:.2f}): op deze "
            "documenten scheidt het bewijs de vragen om te beantwoorden niet van die om te weigeren. Bekijk de vragen hierboven: "
            "voeg documenten toe die de geweigerde beantwoordbare vragen beantwoorden, en controleer of de vragen om te weigeren "
            "echt buiten uw documenten vallen."
        ),
        "calib_note_overlap": (
            "Beantwoordbare vragen en vragen buiten het onderwerp overlappen: {below} van de {n} beantwoordbare vragen scoren "
            "niet hoger dan de hoogste vraag buiten het onderwerp ({top:.3f}). Meer documenten over de onderwerpen die gevraagd "
            "worden, en vragen in de woorden van uw gebruikers, halen ze uit elkaar."
        ),
        "calib_note_language": (
            "{group}: maar {share:.0%} van {n} wordt beantwoord met de voorgestelde regel. Het model waardeert een passage in "
            "een andere taal lager dan een in de taal van de vraag; controleer de taalmix: documenten in de taal waarin uw "
            "gebruikers vragen, of meer vragen in die taal om op te kalibreren."
        ),
        "calib_note_retrieval": (
            "Van de beantwoordbare vragen wordt {recall_at_5:.0%} beantwoord vanuit het verwachte document bij de eerste vijf "
            "passages ({answered:.0%} wordt beantwoord): het zoeken, niet de weigerregel, mist de rest. Controleer hun verwachte "
            "documenten en of de documenten de woorden van uw gebruikers gebruiken."
        ),
        "calib_note_missing_expected": (
            "Verwachte documenten die niet in de index staan: {documents}. Hun vragen kunnen ze niet vinden: verbeter de "
            "bestandsnamen (relatief aan de corpusmap) of herindexeer."
        ),
        "calib_note_no_expected": "{n} beantwoordbare vragen noemen geen verwacht document: ze tellen mee voor weigeren, niet voor recall@5.",
        "calib_note_small_gain": (
            "De beste regel op deze vragen (drempel {threshold:.4f}, vloer {floor:.4f}, trefwoorddekking {coverage:.2f}) "
            "beslist {gain:+d} vraag/vragen goed vergeleken met de huidige regel: te weinig om hem te verzetten (minstens "
            "{min}), dus de huidige regel blijft. Een regel die voor één vraag verschuift, houdt geen stand op andere "
            "documenten; voeg vragen toe die uw gebruikers stellen en kalibreer opnieuw."
        ),
        "calib_applied": "Toegepast: antwoorden gebruiken de nieuwe regel vanaf nu, en {path} bewaart hem voor de volgende start ({values}).",
        "calib_overridden": " Let op: {variables} in de omgeving van de server gaan bij de volgende start voor {path}; haal ze daar weg.",
        "calib_written_restart": "Geschreven naar {path} ({values}); herstart de app om de nieuwe regel te gebruiken.",
        "calib_nothing_to_apply": "Er is geen kalibratie met een ander voorstel om toe te passen; kalibreer eerst.",
        "calib_stale": "De index is veranderd sinds deze kalibratie: kalibreer opnieuw voordat u toepast.",
        "calib_apply_failed": "De waarden konden niet worden geschreven: {error}",
    },
    "en": {
        "no_index_yet": "No index yet",
        "knowledge_base": "Knowledge base: build `{build}`, {documents} documents, {chunks} passages",
        "building": " — **A new index is being built**{stage}; answers come from the current index meanwhile",
        "source_gone": "This source is no longer available.",
        "open_failed": "The document could not be opened.",
        "nothing_to_export": "There is no conversation to export yet.",
        "login_first": "Log in first (or again: the session has expired).",
        "wrong_password": "Wrong password.",
        "wait": "Wait {seconds} s before trying again.",
        "logged_out": "Logged out.",
        "choose_files": "Choose one or more files first.",
        "reindex_to_use": "Start a re-index to use the new documents in answers.",
        "added": "added",
        "replaced": "replaced",
        "refused": "refused",
        "not_uploaded_here": "'{name}' was not uploaded through this page",
        "over_limit": "'{name}' is over the upload limit of {mb} MiB",
        "unreadable": "'{name}' could not be read",
        "choose_document": "Choose a document first.",
        "removed": "'{source}' was removed from the corpus. Start a re-index to remove it from the answers.",
        "not_removed": "'{source}' could not be removed.",
        "not_in_corpus": "'{name}' is not a file in the corpus",
        "index_started": "Re-index started.",
        "eval_started": "Evaluation started.",
        "index_running": "A re-index is already running.",
        "eval_running_already": "An evaluation is already running.",
        "index_building": "A new index is already being built; wait until it is done.",
        "index_start_failed": "The re-index could not be started.",
        "eval_start_failed": "The evaluation could not be started.",
        "index_progress": "A new index is being built: {progress}. Chat keeps answering from the current index.",
        "no_reindex_yet": "No re-index started from this desk yet.",
        "index_starting": "Re-index starting...",
        "index_failed": "The re-index failed: {error}",
        "eval_running": "Evaluation running ({seconds} s)...",
        "eval_failed": "The evaluation failed: {error}",
        "eval_finished": "Evaluation finished.",
        "below_bars": " Some metrics are below their bars.",
        "index_noop": "The index is up to date (build {build}); nothing needed embedding.",
        "index_current": (
            "Build {build} is now current: {documents} documents, {chunks} chunks "
            "(added {added}, changed {changed}, removed {removed})."
        ),
        "index_failed_files": "{count} file(s) could not be indexed:",
        "calibrate_started": "Calibration started: the questions go through the current index.",
        "calibrate_running_already": "A calibration is already running.",
        "calibrate_start_failed": "The calibration could not be started.",
        "calibrate_running": "Calibration running ({seconds} s)...",
        "calibrate_failed": "The calibration failed: {error}",
        "calibrate_finished": "Calibration finished. Nothing has been changed yet.",
        "calib_questions": "{total} questions from {file}: {answerable} to answer, {refusal} to refuse.",
        "calib_chance": (
            "Chance level (how close unrelated questions come to these passages): {levels}. In brackets: what the "
            "refusal rule adds to every similarity because of it."
        ),
        "calib_rule": "Rule",
        "calib_current": "current",
        "calib_proposed": "proposed",
        "calib_refusal_threshold": "threshold",
        "calib_refusal_floor": "floor",
        "calib_refusal_keyword_coverage": "keyword coverage",
        "calib_refusal_precision": "refusal precision",
        "calib_refusal_recall": "refusal recall",
        "calib_answered": "answered",
        "calib_recall_at_5": "recall@5 (answered)",
        "calib_changed": "Questions whose outcome changes ({n}):",
        "calib_unchanged": "No question changes its outcome.",
        "calib_glossaries": "Glossaries (the words retrieval translates between Dutch and English), with the current rule:",
        "calib_glossary": "glossary",
        "calib_mrr": "MRR",
        "calib_cross_language_recall_at_5": "cross-language recall@5",
        "calib_glossary_proposed": "Proposed: glossary = \"{glossary}\" (the rule above is calibrated with it).",
        "calib_glossary_kept": "The current glossary ({glossary}) does best or as well: no change.",
        "calib_outcome_answered": "answered",
        "calib_outcome_refused": "refused",
        "calib_should_answer": "should be answered",
        "calib_should_refuse": "should be refused",
        "calib_notes": "Note:",
        "calib_group_question_nl": "Dutch questions",
        "calib_group_question_en": "English questions",
        "calib_group_cross_language": "questions in another language than their document",
        "calib_note_builtin_offtopic": (
            "The questions file has no questions to refuse: {n} built-in off-topic questions (Dutch and English: cooking, "
            "sports, software, travel, tax rates, accounting standards) stand in for them. Add your own (kind: refusal), near "
            "your topic, for a rule that fits your users."
        ),
        "calib_note_few_refusals": (
            "Only {n} questions to refuse: the rule's refusal side rests on too few. Add at least {min}, plainly off-topic "
            "ones and near-topic ones (a tax rate, a statute) your documents do not cover."
        ),
        "calib_note_few_answerable": (
            "Only {n} answerable questions: the rule is set on too few to trust. Add questions your users ask (at least {min}, "
            "in each language they ask in), each with the document that answers it (expected)."
        ),
        "calib_note_below_bar": (
            "Even the best rule reaches refusal precision {precision:.2f} and recall {recall:.2f} (the bar is {bar:.2f}): on "
            "these documents the evidence does not separate the questions to answer from those to refuse. Look at the questions "
            "above: add documents that answer the answerable ones that are refused, and check that the questions to refuse are "
            "really outside what the documents cover."
        ),
        "calib_note_overlap": (
            "Answerable and off-topic questions overlap: {below} of {n} answerable questions score no higher than the highest "
            "off-topic one ({top:.3f}). More documents on the topics asked, and questions worded as your users word them, move "
            "them apart."
        ),
        "calib_note_language": (
            "{group}: only {share:.0%} of {n} are answered at the proposed rule. The model rates a passage in another language "
            "lower than one in the question's own; check the language mix: documents in the language your users ask in, or "
            "more questions in that language to calibrate on."
        ),
        "calib_note_retrieval": (
            "Of the answerable questions, {recall_at_5:.0%} are answered from their expected document among the first five "
            "passages ({answered:.0%} are answered): retrieval, not the refusal rule, misses the rest. Check their expected "
            "documents, and whether the documents use your users' words."
        ),
        "calib_note_missing_expected": (
            "Expected documents not in the index: {documents}. Their questions cannot find them: fix the file names (relative "
            "to the corpus folder) or re-index."
        ),
        "calib_note_no_expected": "{n} answerable questions name no expected document: they count for refusal, not for recall@5.",
        "calib_note_small_gain": (
            "The best rule on these questions (threshold {threshold:.4f}, floor {floor:.4f}, keyword coverage {coverage:.2f}) "
            "decides {gain:+d} question(s) right compared with the current rule: too few to move it (at least {min}), so the "
            "current rule is kept. A rule moved for one question does not carry over to other documents; add questions your "
            "users ask, then calibrate again."
        ),
        "calib_applied": "Applied: answers use the new rule from now on, and {path} keeps it for the next start ({values}).",
        "calib_overridden": " Note: {variables} in the server's environment win over {path} at the next start; remove them there.",
        "calib_written_restart": "Written to {path} ({values}); restart the app to use the new rule.",
        "calib_nothing_to_apply": "There is no calibration with a different proposal to apply; calibrate first.",
        "calib_stale": "The index changed since this calibration: calibrate again before applying.",
        "calib_apply_failed": "The values could not be written: {error}",
    },
}


def ui_language(value: Any, default: str = "en") -> str:
    """"nl" or "en" from a switch value ("NL"), a language code ("nl-BE") or None (then `default`)."""
    if value is None or value == "":
        return default
    return "nl" if str(value).strip().lower().startswith("nl") else "en"


def choice_of(language: str) -> str:
    """The switch's value for a language: "NL" or "EN"."""
    return "NL" if language == "nl" else "EN"


def label(key: str, language: str | None, **values: Any) -> str:
    """A label of the page in one language."""
    return UI[ui_language(language)][key].format(**values)


def text(key: str, language: str | None, **values: Any) -> str:
    """A message the server writes into the page, in one language (English when none was chosen)."""
    return MESSAGES[ui_language(language)][key].format(**values)
