"""From a question to ranked passages: hybrid search, rank fusion, the domain glossary."""
