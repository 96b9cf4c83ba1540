"""Text matched with SQL LIKE: the user's words taken literally, never as wildcards."""

from __future__ import annotations

# The escape character to pass with the pattern: `column.like(pattern, escape=LIKE_ESCAPE)`.
LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards (% and _) and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
