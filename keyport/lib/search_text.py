"""Text as search compares it: without accents and case, so that "kruger" finds "Krüger" and
"Kruger", and "Krüger" finds both too.

Where people write German, "ü" is also written "ue" ("Müller" is "Mueller" on many a form): a
stored text then holds its German folding as well ("müller" is kept as "muller mueller"), and a
searched word is looked for in both its foldings. The database compares plain lower-case text, on
SQLite and PostgreSQL alike, so the folding is done here, once, in Python, and both sides of a
comparison go through it.
"""

import unicodedata
from collections.abc import Iterable

# The countries whose sites' people are searched with German spellings too: a site's country
# says which language its customers' names are written in (Switzerland spells "ü" as "ü").
GERMAN_SPELLING_COUNTRIES = frozenset({"DE", "AT"})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})


def fold(text: str) -> str:
    """Compatibility forms split (NFKD), combining marks dropped, case folded: "Krüger" is "kruger"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character)).casefold()


def fold_german(text: str) -> str:
    """As `fold`, the umlauts first written out the German way: "Müller" is "mueller"."""
    return fold(unicodedata.normalize("NFC", text.casefold()).translate(_GERMAN))


def foldings(word: str) -> set[str]:
    """Every form a searched word may be stored in: its folding and its German folding."""
    return {fold(word), fold_german(word)}


def search_text_of(parts: Iterable[str], *, german: bool) -> str:
    """The one column a row is searched in: its parts folded, then (for German spellings, when it
    differs) folded the German way as well."""
    text = " ".join(part for part in parts if part)
    plain = fold(text)
    if not german:
        return plain
    written_out = fold_german(text)
    return plain if written_out == plain else f"{plain} {written_out}"


def spells_german(country: str | None) -> bool:
    return (country or "").upper() in GERMAN_SPELLING_COUNTRIES
