"""The clinical-text scanner: a person's own name, email and phone, and clinical terms,
found in free text and replaced by markers (``[name]``, ``[condition]`` …). Offline.

Names are the lead's own first and last names as whole words (``Dana``, ``dana's``); emails
are any address; phones are any number ``phonenumbers`` can read in the text (US by default:
``(617) 555-0142``, ``617.555.0142``, ``+1 617 555 0142``) plus the lead's own number in any
spacing. Clinical terms are the longest phrases of the vocabulary
(:mod:`leadflow.adapters.redaction.vocabulary`) found word by word, plurals included.
Overlapping finds keep the longest; a run of the same marker separated only by spaces
("Dana Whitfield" → ``[name] [name]``) becomes one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from spellchecker import SpellChecker

from leadflow.adapters.redaction.tokens import Token, fold, singular, tokens
from leadflow.adapters.redaction.vocabulary import Vocabulary, load_vocabulary
from leadflow.domain.free_text import Marker
from leadflow.services.redaction import Identity, Scan

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_DIGITS = re.compile(r"\d")
MIN_NAME = 2


@dataclass(frozen=True, slots=True)
class Find:
    """One span of text to replace, and by what."""

    start: int
    end: int
    marker: Marker


class ClinicalScanner:
    """Finds and replaces; one instance serves every request (it holds no state)."""

    def __init__(self, vocabulary: Vocabulary, region: str = "US") -> None:
        self._terms = vocabulary.terms
        self._exact = vocabulary.exact
        self._region = region
        lengths: dict[str, set[int]] = {}
        for phrase in vocabulary.terms:
            lengths.setdefault(phrase[0], set()).add(len(phrase))
        self._lengths = {first: sorted(n, reverse=True) for first, n in lengths.items()}
        self._typos = _TypoIndex(
            {w: m for w in vocabulary.typos if (m := vocabulary.terms.get((w,))) is not None},
            SpellChecker(language="en", distance=1),
        )

    def scan(self, text: str, identity: Identity) -> Scan:
        """``text`` with every find replaced by its marker, and the markers found."""
        found = self.finds(text, identity)
        return Scan(_replace(text, found), frozenset(f.marker for f in found))

    def finds(self, text: str, identity: Identity) -> list[Find]:
        """Every span to replace, left to right, without overlaps (longest first)."""
        candidates = [
            *self._emails(text),
            *self._phones(text, identity),
            *self._names(text, identity),
            *self._clinical(text, tokens(text)),
        ]
        return _without_overlaps(candidates)

    def _emails(self, text: str) -> Iterable[Find]:
        for match in _EMAIL.finditer(text):
            yield Find(match.start(), match.end(), Marker.EMAIL)

    def _phones(self, text: str, identity: Identity) -> Iterable[Find]:
        if not _DIGITS.search(text):
            return
        matcher = phonenumbers.PhoneNumberMatcher(
            text, self._region, leniency=phonenumbers.Leniency.POSSIBLE
        )
        for number in matcher:
            yield Find(number.start, number.end, Marker.PHONE)
        for phone in identity.phones:
            national = re.sub(r"\D", "", phone)[-10:]
            if len(national) < 7:
                continue
            spaced = r"[\s().-]*".join(national)
            for match in re.finditer(rf"(?<!\d)(?:\+?1[\s.-]*)?{spaced}(?!\d)", text):
                yield Find(match.start(), match.end(), Marker.PHONE)

    def _names(self, text: str, identity: Identity) -> Iterable[Find]:
        names = {fold(part) for name in identity.names for part in re.split(r"[\s-]+", name)}
        names = {n for n in names if len(n) >= MIN_NAME}
        if not names:
            return
        for token in tokens(text):
            raw = text[token.start : token.end]
            possessive = raw[-2:].casefold() in {"'s", "\u2019s"}
            word = token.norm[:-1] if possessive else token.norm
            if word in names:
                yield Find(token.start, token.end, Marker.NAME)

    def _clinical(self, text: str, words: list[Token]) -> Iterable[Find]:
        i = 0
        while i < len(words):
            word = words[i]
            match = self._match_at(words, i)
            if match is None:
                marker = (
                    self._exact.get(text[word.start : word.end])
                    or self._typos.find(word.norm)
                    or self._typos.by_form(word.norm)
                )
                if marker is not None:
                    yield Find(word.start, word.end, marker)
                i += 1
                continue
            length, found = match
            if found is not None:  # None: a phrase known not to be clinical ("pain point")
                yield Find(word.start, words[i + length - 1].end, found)
            i += length

    def _match_at(self, words: list[Token], i: int) -> tuple[int, Marker | None] | None:
        first = words[i].norm
        options = [first]
        plain = singular(first)
        if plain is not None:
            options.append(plain)
        best: tuple[int, Marker | None] | None = None
        for head in options:
            for length in self._lengths.get(head, ()):
                if best is not None and length <= best[0]:
                    break
                if i + length > len(words):
                    continue
                found = self._lookup(head, words[i + 1 : i + length])
                if found is not None:
                    best = (length, found[0])
                    break
        return best

    def _lookup(self, head: str, rest: list[Token]) -> tuple[Marker | None] | None:
        """``(marker,)`` when the phrase is known (``(None,)``: known not clinical)."""
        key = (head, *(t.norm for t in rest))
        if key in self._terms:
            return (self._terms[key],)
        if rest:
            last = singular(rest[-1].norm)
            if last is not None and (*key[:-1], last) in self._terms:
                return (self._terms[(*key[:-1], last)],)
        return None


class _TypoIndex:
    """Our own single clinical words of 5 letters or more, found with one letter wrong,
    missing or extra ("metforman", "albuteral", "astma") — only in a word that is not an
    English word (``pyspellchecker``'s dictionary: "cancel" is not "cancer"), when the first
    letter is right and the close words are all of one kind."""

    MIN_WORD = 5
    MIN_TOKEN = 5

    def __init__(self, singles: dict[str, Marker], english: SpellChecker) -> None:
        self._english = english
        self._words = {w: m for w, m in singles.items() if len(w) >= self.MIN_WORD and w.isalpha()}
        self._deleted: dict[str, set[str]] = {}
        for word in self._words:
            for variant in _deletions(word):
                self._deleted.setdefault(variant, set()).add(word)

    def find(self, token: str) -> Marker | None:
        if len(token) < self.MIN_TOKEN or not token.isalpha() or token in self._english:
            return None
        close: set[str] = set(self._deleted.get(token, ()))  # a letter missing
        for variant in _deletions(token):
            if variant in self._words:  # a letter too many
                close.add(variant)
            close.update(self._deleted.get(variant, ()))  # a letter wrong
        markers = {self._words[w] for w in close if w[0] == token[0] and w != token}
        return markers.pop() if len(markers) == 1 else None

    def by_form(self, token: str) -> Marker | None:
        """A word that is not English but ends like a drug, disease or procedure name
        ("propranolol", "kyphoplasty", "angioedema")."""
        if len(token) < MIN_FORM_WORD or not token.isalpha():
            return None
        if token in self._english and not token.endswith(STRONG_FORMS):
            return None
        for marker, endings in FORMS:
            if (
                token.endswith(endings)
                and len(token) - max(len(e) for e in endings if token.endswith(e)) >= 3
            ):
                return marker
        return None


# Word endings that make an unknown word a clinical one: drug-name stems (the USAN
# council's: -olol beta blockers, -pril, -sartan, -statin, -mab antibodies …), disease
# forms (-itis, -osis, -emia …) and procedure forms (-ectomy, -plasty, -scopy …).
FORMS: tuple[tuple[Marker, tuple[str, ...]], ...] = (
    (
        Marker.MEDICATION,
        (
            "olol",
            "alol",
            "pril",
            "sartan",
            "statin",
            "mab",
            "tinib",
            "ciclib",
            "azole",
            "cillin",
            "mycin",
            "micin",
            "cycline",
            "floxacin",
            "dipine",
            "triptan",
            "tidine",
            "prazole",
            "setron",
            "gliptin",
            "gliflozin",
            "glutide",
            "dronate",
            "terol",
            "olone",
            "asone",
            "isone",
            "cyclovir",
            "navir",
            "zepam",
            "zolam",
            "caine",
            "profen",
            "fenac",
            "oxetine",
            "pramine",
            "triptyline",
            "zodone",
            "parin",
            "xaban",
            "gatran",
            "grel",
            "fibrate",
            "semide",
            "thiazide",
            "lukast",
            "tropium",
            "gabalin",
            "lamide",
            "vudine",
            "conazole",
            "afil",
        ),
    ),
    (
        Marker.PROCEDURE,
        (
            "ectomy",
            "ectomies",
            "otomy",
            "otomies",
            "ostomy",
            "plasty",
            "plasties",
            "scopy",
            "scopies",
            "centesis",
            "pexy",
            "rrhaphy",
            "lysis",
            "tripsy",
            "therapy",
            "graphy",
            "desis",
        ),
    ),
    (
        Marker.CONDITION,
        (
            "itis",
            "osis",
            "oses",
            "emia",
            "aemia",
            "algia",
            "pathy",
            "pathies",
            "plegia",
            "paresis",
            "edema",
            "oedema",
            "omas",
            "penia",
            "cytosis",
            "megaly",
            "rrhea",
            "rrhoea",
            "rrhage",
            "uria",
            "ectasis",
            "lithiasis",
            "malacia",
            "dynia",
            "esthesia",
            "phobia",
            "trophy",
            "plasia",
        ),
    ),
)
MIN_FORM_WORD = 6
# Endings no everyday English word has: found even in a word the dictionary knows
# ("hysterectomy", "arthritis"), where "-osis" or "-lysis" would catch "diagnosis", "analysis".
STRONG_FORMS = ("ectomy", "ectomies", "otomy", "ostomy", "plasty", "centesis", "itis")


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _without_overlaps(candidates: list[Find]) -> list[Find]:
    kept: list[Find] = []
    for find in sorted(candidates, key=lambda f: (-(f.end - f.start), f.start)):
        if all(find.end <= k.start or find.start >= k.end for k in kept):
            kept.append(find)
    return sorted(kept, key=lambda f: f.start)


def _replace(text: str, found: list[Find]) -> str:
    out: list[str] = []
    at = 0
    previous: Find | None = None
    for find in found:
        between = text[at : find.start]
        if previous is not None and previous.marker is find.marker and not between.strip():
            at = find.end  # "[name] [name]" → "[name]"
            previous = find
            continue
        out.append(between)
        out.append(find.marker.text)
        at = find.end
        previous = find
    out.append(text[at:])
    return "".join(out)


_default: ClinicalScanner | None = None


def default_scanner() -> ClinicalScanner:
    """The scanner over the installed vocabulary (built once per process)."""
    global _default  # noqa: PLW0603 (one read-only scanner per process)
    if _default is None:
        _default = ClinicalScanner(load_vocabulary())
    return _default
