"""Lead and event records from CSV (with a header row) or JSON Lines files, streamed.

``read_leads`` and ``read_events`` yield, in file order, a domain object for every good row
and a :class:`~leadflow.errors.RecordProblem` for every bad value of a rejected row; a
:class:`RecordWarning` reports a value dropped from a row that is still used (an invalid
email or phone number). Row numbers count data rows from 1: the CSV header is not counted,
and in JSON Lines row N is line N. Messages name the file, row, record id and field, never a
contact's values. A file that cannot be read at all raises
:class:`~leadflow.errors.InputFileError`.
"""

from leadflow.adapters.records.events import EventItem, parse_event, read_events
from leadflow.adapters.records.leads import LeadItem, parse_lead, read_leads
from leadflow.adapters.records.mapping import ColumnMapping, load_mapping
from leadflow.adapters.records.problems import Finding, RecordWarning, finding_record

__all__ = [
    "ColumnMapping",
    "EventItem",
    "Finding",
    "LeadItem",
    "RecordWarning",
    "finding_record",
    "load_mapping",
    "parse_event",
    "parse_lead",
    "read_events",
    "read_leads",
]
