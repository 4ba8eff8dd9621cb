"""Shipped column mappings for CRM exports (``leadflow import --preset NAME``).

A preset is an ordinary mapping file (see :mod:`leadflow.adapters.records.mapping`) kept in
the package under ``leadflow/samples/presets/NAME.yaml``; ``leadflow preset NAME`` prints it
so that a user can copy it, edit it and pass it with ``--mapping``.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable

from leadflow.adapters.records.mapping import ColumnMapping, load_mapping
from leadflow.errors import InputFileError

PRESETS: tuple[str, ...] = ("hubspot", "salesforce")


def _resource(name: str) -> Traversable:
    if name not in PRESETS:
        raise InputFileError(f"unknown preset `{name[:40]}`; presets: {', '.join(PRESETS)}")
    return files("leadflow.samples") / "presets" / f"{name}.yaml"


def preset_text(name: str) -> str:
    """The preset's mapping file as text."""
    return str(_resource(name).read_text(encoding="utf-8"))


def load_preset(name: str) -> ColumnMapping:
    """The preset ``name`` loaded and checked like any mapping file."""
    with as_file(_resource(name)) as path:
        return load_mapping(path)
