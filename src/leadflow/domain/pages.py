"""Page categories: a playbook's URL patterns, and the category of a viewed page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import translate
from urllib.parse import urlsplit

from leadflow.domain.events import Event


@dataclass(frozen=True)
class PageRule:
    """A URL pattern (shell-style glob on the path) mapped to a page category."""

    pattern: str
    category: str


class PageMatcher:
    """Page rules compiled once into one regular expression; the first matching rule wins.

    Matches exactly as ``fnmatchcase`` over the rules in order, on the case-folded path,
    without a pattern compile or cache lookup per rule and event.
    """

    __slots__ = ("_categories", "_match")

    def __init__(self, rules: Sequence[PageRule]) -> None:
        # A regex alternation tries its branches in order and each branch is anchored at
        # both ends, so the branch that matches is the first rule that matches. Named
        # groups say which branch it was.
        branches = [f"(?P<r{i}>{translate(r.pattern.casefold())})" for i, r in enumerate(rules)]
        self._categories = {f"r{i}": r.category for i, r in enumerate(rules)}
        self._match = re.compile("|".join(branches)).match if branches else None

    def category_of_url(self, url: str) -> str | None:
        """The category of the first rule whose pattern matches the URL's path."""
        try:
            path = urlsplit(url).path or url
        except ValueError:  # not a parseable URL (e.g. a broken IPv6 host): match it as written
            path = url
        path = path.casefold()
        if self._match is None:
            return None
        found = self._match(path)
        if found is None or found.lastgroup is None:
            return None
        return self._categories[found.lastgroup]

    def category(self, event: Event) -> str | None:
        """The event's page category: given directly, else mapped from its URL."""
        properties = event.properties
        given = properties.get("page_category")
        if isinstance(given, str) and given.strip():
            return given.strip().casefold()
        url = properties.get("url")
        if isinstance(url, str) and url:
            return self.category_of_url(url)
        return None
