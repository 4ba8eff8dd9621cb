"""A small playbook in YAML and how to read its problems, for the playbook-loading tests."""

from __future__ import annotations

import pytest

from leadflow.adapters.playbook_yaml import load_playbook_text
from leadflow.errors import PlaybookError, PlaybookProblem

SHIPPED = ("healthtech-b2b", "referral-partner", "respiratory-program", "specialty-clinic")

# Line numbers matter: tests below point at them.
BASE = """\
id: tiny-clinic
name: Tiny clinic
fit:
  - id: service
    label: Service line offered
    must_have: true
    points: 20
    when: {field: service_line, in: [cardiology]}
intent:
  signals:
    - id: scheduling_page
      label: Viewed a scheduling page
      on: {type: page_viewed, page_category: scheduling}
      points: 10
      cap: 30
stages:
  mql: {fit_at_least: 20, intent_at_least: 10}
  sql:
    requires:
      - {answer: need_confirmed, label: Need confirmed}
bands:
  - {name: hot, fit_at_least: 20, intent_at_least: 20, next_action: Call}
  - {name: rest, next_action: Nurture}
"""


def problems_of(text: str, file: str = "t.yaml") -> list[PlaybookProblem]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text, file)
    return caught.value.problems


def only_problem(text: str) -> PlaybookProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]
