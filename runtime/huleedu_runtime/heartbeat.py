"""The heartbeat file: liveness for a worker that serves no HTTP.

A worker touches the file every ``HEARTBEAT_INTERVAL_SECONDS`` while it is alive
(the consumer task runs and no handler is stuck past its timeout); the touch runs
on the worker's event loop, so a loop blocked by a synchronous call stops it too.
``huleedu-runtime check-heartbeat`` reads the file's age: the exec liveness probe
the operator renders for a worker whose HTTP probes are disabled.

Stdlib only: the probe runs this every few seconds in a fresh interpreter.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from huleedu_runtime import contract


def heartbeat_file() -> Path:
    """``HEARTBEAT_FILE`` from the environment, else the contract's default."""
    return Path(os.environ.get(contract.Env.HEARTBEAT_FILE) or contract.DEFAULT_HEARTBEAT_FILE)


def touch(path: Path) -> None:
    """Set the file's mtime to now, creating it if needed."""
    path.touch()


def stale_reason(path: Path, max_age: float) -> str | None:
    """Why the heartbeat is not fresh (missing, too old), or ``None`` when it is."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return f"{path} does not exist: the worker has not started or never beat"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror}"
    age = time.time() - modified
    if age > max_age:
        return f"{path} is {age:.1f}s old, more than --max-age {max_age:g}s: the worker is stuck"
    return None
