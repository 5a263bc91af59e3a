"""Run inside the e2e client pod (stdlib only): HTTP requests from within the cluster.

usage (the last stdout line is one JSON object):
  python3 - get URL [COUNT]          COUNT sequential GETs, one connection each
  python3 - load URL SECONDS RATE    steady GETs for SECONDS at RATE/s, each on a new
                                     connection (as a fleet of clients would), counting
                                     every failure: refused, reset, timeout, non-2xx
"""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse
from collections import Counter


def one(url: str, timeout: float = 5.0) -> tuple[int | None, str, str]:
    """(status, error, body excerpt) of one GET on a fresh connection."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        return response.status, "", body[:20000].decode(errors="replace")
    except Exception as exc:  # every failure counts, whatever its kind
        return None, f"{type(exc).__name__}: {exc}", ""
    finally:
        conn.close()


def cmd_get(url: str, count: str = "1") -> dict[str, object]:
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    body = ""
    for _ in range(int(count)):
        status, error, body = one(url)
        statuses[str(status)] += 1
        if error:
            errors.append(error)
    return {"statuses": dict(statuses), "errors": errors[:10], "body": body}


def cmd_load(url: str, seconds: str, rate: str) -> dict[str, object]:
    interval = 1.0 / float(rate)
    deadline = time.monotonic() + float(seconds)
    ok = failed = 0
    samples: list[str] = []
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        status, error, _ = one(url, timeout=10.0)
        if status is not None and 200 <= status < 300:
            ok += 1
        else:
            failed += 1
            if len(samples) < 20:
                samples.append(f"{time.strftime('%H:%M:%S')} {status} {error}")
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return {"ok": ok, "failed": failed, "samples": samples}


def main() -> None:
    command, *args = sys.argv[1:]
    result = {"get": cmd_get, "load": cmd_load}[command](*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
