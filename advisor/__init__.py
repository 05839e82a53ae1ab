"""Alliance Advisor: a retrieval-based advisor on alliance management with cited answers."""

__version__ = "0.1.0"
