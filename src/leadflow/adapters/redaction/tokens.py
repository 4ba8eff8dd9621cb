"""Words of a text with their offsets, normalised the same way for vocabularies and texts.

A token is a run of letters and digits (an apostrophe inside a word is kept and then dropped:
``Crohn's`` → ``crohns``). Normalising folds case and accents, so ``Eliquis``, ``ELIQUIS``
and ``éliquis`` are the same word. Hyphens and slashes separate words: ``a-fib`` is the two
words ``a fib``, which the vocabulary stores the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its normalised form and where it is."""

    norm: str
    start: int
    end: int


def fold(word: str) -> str:
    """Lower case without accents or apostrophes."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def tokens(text: str) -> list[Token]:
    """The words of ``text`` with their character offsets."""
    return [Token(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def words(phrase: str) -> tuple[str, ...]:
    """A vocabulary phrase as the tuple of normalised words a text is matched against."""
    return tuple(t.norm for t in tokens(phrase) if t.norm)


def singular(word: str) -> str | None:
    """A plural's likely singular (``statins`` → ``statin``, ``allergies`` → ``allergy``),
    or ``None`` when ``word`` does not look plural."""
    if word.endswith("oses") and len(word) > 6:
        return word[:-4] + "osis"  # keratoses → keratosis
    if word.endswith("ae") and len(word) > 5:
        return word[:-1]  # vertebrae → vertebra
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return None
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1]
