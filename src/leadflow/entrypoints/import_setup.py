"""What ``leadflow import`` reads its files with: a mapping or a preset, the time zone of
times written without an offset, and the default playbook.

The time zone is ``--time-zone``, else the ``LEADFLOW_IMPORT_TIME_ZONE`` setting, else the
mapping's ``dates.time_zone``. A preset says ``required`` (a CRM writes times in the
account's or user's zone, which the file does not name), so importing with it and no zone
stops before anything is stored; without a preset, such times are read as UTC and the
import says how many were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from leadflow.adapters.records import ColumnMapping, load_mapping
from leadflow.adapters.records.presets import load_preset
from leadflow.adapters.records.recode import Recoding, fingerprint, time_zone
from leadflow.errors import InputFileError


@dataclass(frozen=True)
class ImportSetup:
    """The column mapping, the time zone (``None``: UTC, said in the output), the default
    playbook, and what of them names an import run."""

    columns: ColumnMapping
    zone_name: str | None
    zone: tzinfo | None
    playbook: str | None

    def recoding(self, kind: str) -> Recoding:
        """A fresh recoding for one file (it counts the times it read as UTC)."""
        values = self.columns.lead_values if kind == "leads" else self.columns.event_values
        return Recoding(values, self.columns.dates.formats, self.zone)

    def run_key(self, kind: str) -> dict[str, Any]:
        """The mapping as the import run's id sees it: renames plus what else changes rows."""
        columns = self.columns
        renames = columns.leads if kind == "leads" else columns.events
        values = columns.lead_values if kind == "leads" else columns.event_values
        key: dict[str, Any] = {**renames, **fingerprint(values, columns.dates, self.zone_name)}
        if self.playbook and kind == "leads":
            key["\0playbook"] = self.playbook
        return key

    def zone_note(self, source: str) -> str | None:
        """The line that says how times without an offset are read (when a zone is set)."""
        if self.zone_name is None:
            return None
        return f"date-times without a UTC offset are read in {self.zone_name} ({source})"


def _columns(mapping: Path | None, preset: str | None) -> ColumnMapping:
    if mapping is not None and preset is not None:
        raise InputFileError("give --mapping or --preset, not both (copy the preset to edit it)")
    if preset is not None:
        return load_preset(preset)
    return load_mapping(mapping) if mapping is not None else ColumnMapping()


def import_setup(
    *,
    mapping: Path | None,
    preset: str | None,
    zone_option: str | None,
    zone_setting: str | None,
    playbook: str | None,
) -> tuple[ImportSetup, str]:
    """The setup and where its time zone came from; :class:`InputFileError` when the
    options cannot be used (both a mapping and a preset, an unknown zone, a zone required
    but not given)."""
    columns = _columns(mapping, preset)
    dates = columns.dates
    mapped = None if dates.zone_required else dates.time_zone
    found = [
        (name, where)
        for name, where in (
            (zone_option, "--time-zone"),
            (zone_setting, "LEADFLOW_IMPORT_TIME_ZONE"),
            (mapped, "the mapping"),
        )
        if name
    ]
    if not found:
        if dates.zone_required:
            what = f"--preset {preset}" if preset else "the mapping"
            raise InputFileError(
                f"{what}: the export writes times in the CRM account's time zone without "
                "saying which; give it with --time-zone (e.g. America/New_York) or the "
                "LEADFLOW_IMPORT_TIME_ZONE setting"
            )
        return ImportSetup(columns, None, None, playbook), ""
    name, where = found[0]
    try:
        zone = time_zone(name)
    except ValueError as exc:
        raise InputFileError(f"{where}: {exc}") from None
    return ImportSetup(columns, name, zone, playbook), where
