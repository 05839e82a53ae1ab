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
