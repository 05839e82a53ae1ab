"""What every stage shares: the typed records, the settings, lexical text helpers, and file-system primitives."""
