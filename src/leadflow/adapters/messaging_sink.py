"""A local message sink: every email, SMS and call is appended to a JSON Lines file."""

from __future__ import annotations

import json
from pathlib import Path

from leadflow.services.messaging import Sink


class FileSink:
    """The :class:`~leadflow.services.messaging.Sink` for local use: nothing leaves the box."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, channel: str, to: str, body: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"channel": channel, "to": to, "body": body}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def _conforms(sink: FileSink) -> Sink:
    return sink  # mypy checks that FileSink satisfies the Sink port
