"""The clinical vocabulary: conditions, medications and procedures, built offline.

Three sources, all installed from the package registry with leadflow (nothing is fetched at
run time):

- **conditions** — ICD-10-CM (the ``simple-icd-10-cm`` package's tabular list): each code's
  description and inclusion terms in the chapters of diseases and symptoms (A00–R99), cut
  to the phrase a person would write ("Type 2 diabetes mellitus with …" → ``type 2
  diabetes mellitus``; "Essential (primary) hypertension" → ``essential hypertension`` and
  ``hypertension``);
- **medications** — every drug name and synonym of the ``drug-named-entity-recognition``
  package (generic and brand names, e.g. ``Humira`` → adalimumab);
- **our own list** — ``curated.yaml``: lay words and abbreviations ("a-fib", "bad knee",
  "sleep study"), procedures, and the words never to redact ("care", "sleep", "heart").

Building reads about 10 MB and takes a few seconds, so the result is kept as JSON in the
cache folder (``LEADFLOW_CACHE_DIR``, else ``~/.cache/leadflow``), named by a hash of the
sources' versions; a cache that cannot be written is simply rebuilt next time.
"""

from __future__ import annotations

import bz2
import hashlib
import importlib.util
import json
import os
import pickle
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import yaml
from spellchecker import SpellChecker

from leadflow.adapters.redaction.tokens import singular, words
from leadflow.domain.free_text import Marker

BUILDER_VERSION = "6"
MAX_WORDS = 6
CLINICAL_KINDS = (Marker.CONDITION, Marker.MEDICATION, Marker.PROCEDURE)
TYPO_MIN = 5  # our own words of this length or more are also found with one typo
_ICD_CHAPTERS = re.compile(r"^[A-T]")  # diseases, symptoms, injuries (not causes, encounters)
RARE = 200  # a word this rare in English (per billion-ish words) is a medical word here
_CUT = re.compile(
    r",|;|:| with | without | due to | in | of | on | complicating | following | associated "
    r"| not elsewhere | nos\b| affecting | involving | at | by | from | and | or "
)
_DISEASE_FORM = re.compile(
    r"(itis|osis|oses|emia|aemia|oma|omas|pathy|pathies|algia|iasis|plasia|trophy|rrhea|"
    r"rrhoea|uria|phobia|ectasis|megaly|spasm|plegia|paresis|cele|lithiasis|malacia|"
    r"sclerosis|stenosis|penia|cytosis|ptysis|dynia|esthesia|kinesia|tonia|phagia)$"
)
_DROP_LEADING = frozenset(
    {
        "other",
        "unspecified",
        "acute",
        "chronic",
        "subacute",
        "primary",
        "secondary",
        "recurrent",
        "essential",
        "idiopathic",
        "mild",
        "moderate",
        "severe",
        "specified",
        "localized",
        "generalized",
        "unilateral",
        "bilateral",
        "congenital",
        "hereditary",
        "persistent",
        "simple",
    }
)


@dataclass(frozen=True)
class Vocabulary:
    """Phrases (as tuples of normalised words) and what each one is — ``None`` for a
    phrase known not to be clinical ("pain point"), which keeps its words from matching —
    and abbreviations matched only as written (``PT``, ``CT``)."""

    terms: dict[tuple[str, ...], Marker | None]
    exact: dict[str, Marker]
    sources: dict[str, str]  # source name → version
    typos: frozenset[str] = frozenset()  # our own single words, also found misspelt

    @property
    def longest(self) -> int:
        return max((len(t) for t in self.terms), default=0)


def _curated() -> dict[str, Any]:
    text = resources.files("leadflow.adapters.redaction").joinpath("curated.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _medications() -> Iterator[tuple[str, bool]]:
    """Names of medicines: every name and synonym of a drug that MedlinePlus describes
    (``True``: kept as they are), and of the other drugs DrugBank lists (``False``: kept
    only when not everyday English, since the dictionary also holds reagents and compounds
    whose names collide with words such as "buffers" or "caps")."""
    found = resources.files("drug_named_entity_recognition").joinpath("drug_ner_dictionary.pkl.bz2")
    with found.open("rb") as raw, bz2.open(raw) as handle:
        # The registry package's own dictionary, shipped in its wheel (never user data).
        data = pickle.load(handle)  # noqa: S301
    drugs = data["drug_canonical_to_data"]
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        known = [drugs.get(name, {}) for name in canonicals]
        if any("medline_plus_id" in d for d in known):
            yield variant, True
        elif any("drugbank_id" in d for d in known):
            yield variant, False


def _icd_file() -> Path:
    # Found without importing the package: its __init__ loads every code through a
    # deprecated importlib call, which we do not need (we read the tabular list ourselves).
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("simple_icd_10_cm is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".xml"))
    if not names:
        raise FileNotFoundError("simple_icd_10_cm ships no tabular list")
    return folder / names[-1]


def condition_phrases(description: str) -> set[str]:
    """The phrases a person would write for an ICD-10-CM description: its head, and what
    follows "with" ("Narcolepsy with cataplexy" → ``narcolepsy``, ``cataplexy``)."""
    text = re.sub(r"\([^)]*\)", " ", description.casefold())
    text = re.sub(r"\[[^]]*\]", " ", text)
    found = _head_phrases(text)
    for tail in re.split(r" with | due to ", f" {text} ")[1:]:
        found |= {p for p in _head_phrases(tail) if " " in p or _DISEASE_FORM.search(p)}
    return found


def _head_phrases(text: str) -> set[str]:
    head = _CUT.split(f" {text} ")[0].strip().removeprefix("the ")
    found = set()
    parts = head.split()
    while parts:
        if 1 <= len(parts) <= 4:
            found.add(" ".join(parts))
        if parts[0] not in _DROP_LEADING:
            break
        parts = parts[1:]
    if head.endswith(" mellitus"):
        found.add(head.removesuffix(" mellitus"))
    first = head.split(" ")[0]
    if " " in head and _DISEASE_FORM.search(first):
        found.add(first)  # "hidradenitis suppurativa" → also "hidradenitis"
    return found


def _whole(description: str) -> str:
    """A description without parentheses and the words ``other``, ``unspecified`` …"""
    text = re.sub(r"\([^)]*\)", " ", description.casefold()).replace(",", " ")
    return " ".join(w for w in text.split() if w not in _DROP_LEADING)


def _conditions() -> Iterator[str]:
    """Condition phrases; a single word only when it is a whole description ("Cough"), has
    the form of a disease's name (``-itis``, ``-osis``, ``-emia`` …) or is rare in English
    (``pyspellchecker``'s word counts: "syncope" from "Syncope and collapse", but not
    "abdominal" from "Abdominal and pelvic pain")."""
    english = SpellChecker(language="en", distance=1).word_frequency
    path = _icd_file()
    for _, element in ET.iterparse(path):  # noqa: S314 (the registry package's own file)
        if element.tag != "diag":
            continue
        code = element.findtext("name") or ""
        if _ICD_CHAPTERS.match(code):
            texts = [element.findtext("desc") or ""]
            texts += [n.text or "" for n in element.findall("inclusionTerm/note")]
            for text in texts:
                whole = _whole(text)
                for phrase in condition_phrases(text):
                    rare = phrase.isalpha() and len(phrase) >= 5 and english[phrase] <= RARE
                    if " " in phrase or phrase == whole or rare or _DISEASE_FORM.search(phrase):
                        yield phrase
        element.clear()


def _keep(phrase: tuple[str, ...], never: set[tuple[str, ...]], plain: set[str]) -> bool:
    """Whether a registry phrase is specific enough to redact: not on our never list, and
    (for several words) with at least one word that is neither a qualifier ("other",
    "acute") nor on the never list ("other type", "any condition" are not)."""
    if not phrase or len(phrase) > MAX_WORDS or phrase in never:
        return False
    if len(phrase) == 1:
        word = phrase[0]
        return len(word) >= 4 and not word.isdigit()
    return sum(len(w) for w in phrase) >= 4 and any(w not in plain for w in phrase)


def _registry_terms(
    never: set[tuple[str, ...]], plain: set[str]
) -> dict[tuple[str, ...], Marker | None]:
    """Medications, then conditions, from the registry packages."""
    terms: dict[tuple[str, ...], Marker | None] = {}
    english = SpellChecker(language="en", distance=1).word_frequency
    for phrase, medline in _medications():
        key = words(phrase)
        unusual = all(w.isalpha() and len(w) >= 5 and english[w] == 0 for w in key)
        if _keep(key, never, plain) and (medline or (len(key) <= 2 and unusual)):
            terms[key] = Marker.MEDICATION
    for phrase in _conditions():
        key = words(phrase)
        if _keep(key, never, plain):
            terms[key] = Marker.CONDITION
    return terms


def _curated_terms(curated: dict[str, Any]) -> dict[tuple[str, ...], Marker]:
    """Our own phrases, with the singular of a plural phrase's last word."""
    terms: dict[tuple[str, ...], Marker] = {}
    for kind in CLINICAL_KINDS:
        for phrase in curated.get(kind.value, []):
            key = words(phrase)
            if not key:
                continue
            terms[key] = kind  # our own list may hold short abbreviations (copd, osa, mri)
            one = singular(key[-1])
            if one is not None and len(key) > 1:  # "kidney stones" → "kidney stone"
                terms.setdefault((*key[:-1], one), kind)
    return terms


def build_vocabulary() -> Vocabulary:
    """Read the three sources (a few seconds); curated entries win over the others."""
    curated = _curated()
    never = {words(p) for p in curated.get("never", [])}
    plain = {p[0] for p in never if len(p) == 1} | _DROP_LEADING
    terms = _registry_terms(never, plain)
    terms.update(_curated_terms(curated))
    terms.update({known: None for known in never if len(known) > 1})
    exact = {
        word: Marker(kind)
        for kind, listed in (curated.get("exact") or {}).items()
        for word in listed
    }
    typos = frozenset(
        key[0]
        for kind in CLINICAL_KINDS
        for phrase in curated.get(kind.value, [])
        if len(key := words(phrase)) == 1 and len(key[0]) >= TYPO_MIN and key[0].isalpha()
    )
    return Vocabulary(terms, exact, _sources(), typos)


def _sources() -> dict[str, str]:
    curated = resources.files("leadflow.adapters.redaction").joinpath("curated.yaml")
    return {
        "drug-named-entity-recognition": metadata.version("drug-named-entity-recognition"),
        "simple-icd-10-cm": metadata.version("simple-icd-10-cm"),
        "curated": hashlib.sha256(curated.read_bytes()).hexdigest()[:16],
        "builder": BUILDER_VERSION,
    }


def _cache_dir() -> Path:
    configured = os.environ.get("LEADFLOW_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "leadflow"


def _cache_path(sources: dict[str, str]) -> Path:
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    return _cache_dir() / f"clinical-vocabulary-{digest}.json"


def _read_cache(path: Path, sources: dict[str, str]) -> Vocabulary | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("sources") != sources:
        return None
    terms = {
        tuple(phrase.split(" ")): Marker(kind) if kind else None
        for phrase, kind in data["terms"].items()
    }
    exact = {word: Marker(kind) for word, kind in data["exact"].items()}
    return Vocabulary(terms, exact, sources, frozenset(data["typos"]))


def _write_cache(path: Path, vocabulary: Vocabulary) -> None:
    body = {
        "sources": vocabulary.sources,
        "terms": {" ".join(k): v.value if v else None for k, v in vocabulary.terms.items()},
        "exact": {k: v.value for k, v in vocabulary.exact.items()},
        "typos": sorted(vocabulary.typos),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
        partial.replace(path)
        for old in path.parent.glob("clinical-vocabulary-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return  # a read-only home: build again next time


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    """The vocabulary, from the cache when it matches the installed sources."""
    sources = _sources()
    path = _cache_path(sources)
    cached = _read_cache(path, sources)
    if cached is not None:
        return cached
    built = build_vocabulary()
    _write_cache(path, built)
    return built
