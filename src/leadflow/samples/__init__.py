"""Bundled sample data: fictional Northwind Health patient leads and their events.

The README quick start copies them out with ``leadflow sample DIR`` and qualifies them
under the ``specialty-clinic`` playbook. Every name and contact is made up
(``example.com`` addresses, ``555-01xx`` numbers).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

SAMPLE_FILES: tuple[str, ...] = ("leads.csv", "events.csv")


def sample_path(name: str) -> Traversable:
    """The bundled sample file ``name`` (one of :data:`SAMPLE_FILES`)."""
    if name not in SAMPLE_FILES:
        raise ValueError(f"no sample named {name!r}; samples: {', '.join(SAMPLE_FILES)}")
    return files(__name__) / name


def copy_samples(directory: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the sample files into ``directory`` (created if needed); the paths written.

    A file already holding the same sample is left as it is, so copying twice is harmless;
    a different file of the same name raises :class:`FileExistsError` unless ``overwrite``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in SAMPLE_FILES:
        content = sample_path(name).read_bytes()
        target = directory / name
        if target.exists() and not overwrite and target.read_bytes() != content:
            raise FileExistsError(f"{target} exists and differs from the sample")
        target.write_bytes(content)
        written.append(target)
    return written
