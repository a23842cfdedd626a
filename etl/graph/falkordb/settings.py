"""FalkorDB's settings (`[graph.falkordb]` in config.toml) and the run-lock target it names.

etl/config.py reads this dataclass with the other settings and imports it from here, so this
module imports no client and no server code: `etl.config` must stay cheap to import.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The private server's append-only-file fsync (redis `appendfsync`); etl/config.py checks the setting
# against it, the server (server.py) its argument.
AppendFsync = Literal["always", "everysec", "no"]


@dataclass(frozen=True)
class FalkorDBSettings:
    url: str = ""  # empty: start the embedded server; else e.g. redis://host:6379 or unix:///path
    data_dir: Path = Path("var/falkordb")
    graph_name: str = "medkg"
    appendfsync: AppendFsync = "everysec"  # private server's append-only-file fsync
    socket_timeout: float = 300.0  # seconds one statement may take before the write is retried

    def lock_target(self) -> str:
        """What the run lock (etl/lock.py) is about: the store, not the process (never a password).
        The embedded store is its data folder, resolved: two spellings of one folder are one store."""
        if self.url:
            return f"falkordb:{self.url}/{self.graph_name}"
        return f"falkordb:{Path(self.data_dir).resolve()}/{self.graph_name}"
