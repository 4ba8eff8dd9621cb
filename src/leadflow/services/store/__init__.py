"""The lead store's use cases: ingest, lifecycle, sales actions and re-qualification."""
