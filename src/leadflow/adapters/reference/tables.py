"""The domain's :class:`~leadflow.domain.normalise.ReferenceData` over registry packages.

- States: every state, DC and territory of ``us`` by name, USPS code and AP abbreviation
  (``Massachusetts``, ``MA``, ``Mass.``), matched folded (case, dots, spaces and hyphens
  ignored: ``mass``, ``Ma.``, ``N.H.``, ``new-hampshire``).
- Countries: every ISO 3166-1 country of ``pycountry`` by alpha-2, alpha-3, name, official
  and common name, plus the few everyday names below (``U.S.`` folds to ``us``).
- ZIP codes: ``zipcodes`` (a compiled table in the wheel), five digits or ZIP+4; answers are
  cached per ZIP because each lookup scans the table.
- Disposable email domains: the ``disposable-email-domains`` block list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache
from types import MappingProxyType

import disposable_email_domains
import pycountry
import us
import zipcodes

from leadflow.domain.normalise import fold

# Everyday names ISO 3166 does not list (folded key → alpha-2).
_COUNTRY_EXTRAS: Mapping[str, str] = MappingProxyType(
    {
        "america": "US",
        "unitedstatesofamerica": "US",
        "unitedstates": "US",
        "uk": "GB",
        "greatbritain": "GB",
        "england": "GB",
        "scotland": "GB",
        "wales": "GB",
        "northernireland": "GB",
        "southkorea": "KR",
        "northkorea": "KP",
        "russia": "RU",
        "vietnam": "VN",
        "holland": "NL",
    }
)


def _table(pairs: Iterable[tuple[str | None, str]], what: str) -> Mapping[str, str]:
    """Folded name → code; two codes for one folded name is a bug in the tables."""
    table: dict[str, str] = {}
    for name, code in pairs:
        if not name:
            continue
        key = fold(name)
        if table.setdefault(key, code) != code:
            raise ValueError(f"{what}: `{name}` folds to two codes ({table[key]}, {code})")
    return MappingProxyType(table)


def _state_names() -> Iterable[tuple[str | None, str]]:
    for state in (*us.states.STATES_AND_TERRITORIES, us.states.DC):
        yield state.abbr, state.abbr
        yield state.name, state.abbr
        yield state.ap_abbr, state.abbr


def _country_names() -> Iterable[tuple[str | None, str]]:
    for country in pycountry.countries:
        code = country.alpha_2
        yield code, code
        yield country.alpha_3, code
        yield country.name, code
        for attribute in ("official_name", "common_name"):
            yield getattr(country, attribute, None), code


# ``zipcodes`` ships a typed extension under an untyped wrapper: its lookup, typed here.
_matching: Callable[[str], list[dict[str, object]]] = zipcodes.matching


@lru_cache(maxsize=8192)
def _zip_state(zip5: str) -> str | None:
    found = _matching(zip5)
    state = found[0].get("state") if found else None
    return state if isinstance(state, str) else None


class PackageReferenceData:
    """States, countries, ZIP codes and disposable domains, read from the packages once."""

    def __init__(self) -> None:
        self.states = _table(_state_names(), "states")
        countries = dict(_table(_country_names(), "countries"))
        for key, code in _COUNTRY_EXTRAS.items():
            countries.setdefault(key, code)
        self.countries: Mapping[str, str] = MappingProxyType(countries)
        self.disposable = frozenset(disposable_email_domains.blocklist)

    def state_code(self, text: str) -> str | None:
        return self.states.get(fold(text))

    def country_code(self, text: str) -> str | None:
        return self.countries.get(fold(text))

    def zip_state(self, postal_code: str) -> str | None:
        zip5 = postal_code.strip()[:5]
        if len(zip5) != 5 or not zip5.isdigit():
            return None
        return _zip_state(zip5)

    def disposable_domain(self, domain: str) -> bool:
        return domain in self.disposable


@cache
def reference_data() -> PackageReferenceData:
    """The one instance of the tables (built on first use, about 20 ms)."""
    return PackageReferenceData()
