"""Forgiving account names: the normalised key stored with each account."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_name(name: str) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces.

    "Café-Müller & Co." becomes "cafe muller and co".
    """
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = ascii_only.casefold().replace("&", " and ").replace("ß", "ss")
    return _NON_WORD.sub(" ", lowered).strip()
