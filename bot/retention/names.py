"""Forgiving account names: the normalised key stored with each account."""

from __future__ import annotations

import re
import unicodedata

# Letters NFKD does not take apart into a base letter and an accent.
_FOLD = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ß": "ss",
        "&": " and ",
    }
)
_NON_WORD = re.compile(r"[\W_]+")


def normalize_name(name: str) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces.

    "Café-Müller & Co." becomes "cafe muller and co"; letters of any script stay
    ("Москва Трейд" becomes "москва трейд").
    """
    lowered = name.casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", unicodedata.normalize("NFC", bare)).strip()
