"""Clinical free text: the offline vocabulary and the scanner that redacts with it."""

from leadflow.adapters.redaction.scanner import ClinicalScanner, default_scanner

__all__ = ["ClinicalScanner", "default_scanner"]
