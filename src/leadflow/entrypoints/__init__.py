"""Entrypoints: the command line (and later HTTP), wiring adapters to services."""
