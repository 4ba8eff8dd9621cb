"""The playbook language: YAML parsed into pydantic models, compiled into domain rules.

``load_playbook`` reads a shipped playbook by name or any playbook file by path, checks the
whole playbook, and raises one :class:`leadflow.errors.PlaybookError` listing every
problem, each with its file, line, column and a suggested fix.
"""

from leadflow.adapters.playbook_yaml.loader import (
    load_playbook,
    load_playbook_text,
    shipped_playbooks,
)

__all__ = ["load_playbook", "load_playbook_text", "shipped_playbooks"]
