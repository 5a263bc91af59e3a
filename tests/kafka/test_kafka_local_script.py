"""scripts/kafka-local.sh formats its storage every time, whatever cluster id it draws.

A KRaft cluster id is 16 random bytes in base64url, so one in 64 begins with '-', and
StorageTool's parser took ``-t -Xy...`` for an option: `start` failed at random (issue
12 item 11). The script now draws ids that never begin with '-' (as Kafka's own
``Uuid.randomUuid()`` does) and passes ``--cluster-id=ID``, which parses either way.
These tests run the script's own ``format`` command (config, TLS material, SCRAM users,
StorageTool) in a private state dir; no broker is started and none is touched.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(REPO_ROOT / "scripts" / "kafka-local.sh")
FORMAT_RUNS = int(os.environ.get("HULEEDU_FORMAT_RUNS", "200"))


def dash_id() -> str:
    """A valid cluster id (16 bytes, base64url) that begins with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if cid.startswith("-"):
            return cid


def run_format(state: Path, cluster_id: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HULEEDU_STATE_DIR": str(state),
        # Ports only end up in the config; nothing listens. Kept off the usual ones.
        "KAFKA_PORT": "39092",
    }
    env.pop("KAFKA_CLUSTER_ID", None)
    if cluster_id is not None:
        env["KAFKA_CLUSTER_ID"] = cluster_id
    return subprocess.run(
        [SCRIPT, "format"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def formatted_id(state: Path) -> str:
    meta = (state / "kafka" / "data" / "meta.properties").read_text()
    (line,) = [ln for ln in meta.splitlines() if ln.startswith("cluster.id=")]
    return line.removeprefix("cluster.id=")


def test_a_cluster_id_beginning_with_a_dash_formats(tmp_path: Path) -> None:
    cid = dash_id()
    result = run_format(tmp_path, cid)
    assert result.returncode == 0, result.stderr[-2000:]
    assert formatted_id(tmp_path) == cid


def test_the_script_writes_the_tls_material_and_listeners(tmp_path: Path) -> None:
    result = run_format(tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    tls = tmp_path / "kafka" / "tls"
    for name in ("ca.crt", "client.crt", "client.key", "sasl-username", "sasl-password"):
        assert (tls / name).is_file(), name
    assert (tls / "client.key").stat().st_mode & 0o077 == 0, "keys are private to the user"
    config = (tmp_path / "kafka" / "server.properties").read_text()
    assert "listener.name.mtls.ssl.client.auth=required" in config
    # The PLAINTEXT listener is unchanged; the TLS ones sit on KAFKA_PORT + 3..5.
    assert "PLAINTEXT://127.0.0.1:39092," in config
    for port in (39095, 39096, 39097):
        assert f"127.0.0.1:{port}" in config
    assert not formatted_id(tmp_path).startswith("-")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_formatting_many_times_never_fails(tmp_path: Path) -> None:
    """FORMAT_RUNS (200) fresh formats with random ids: zero failures.

    With the old ``-t <id>`` and unfiltered ids, 200 runs fail at least once with
    probability 1 - (63/64)**200, about 96%.
    """
    failures: list[str] = []
    ids: set[str] = set()
    started = time.monotonic()
    for i in range(FORMAT_RUNS):
        state = tmp_path / f"s{i}"
        result = run_format(state)
        if result.returncode != 0:
            failures.append(result.stderr[-500:])
            continue
        ids.add(formatted_id(state))
        subprocess.run(["rm", "-rf", str(state)], check=True)
    elapsed = time.monotonic() - started
    print(
        f"{FORMAT_RUNS} formats: {len(failures)} failures, {len(ids)} distinct ids, {elapsed:.0f}s"
    )
    assert not failures, failures[:3]
    assert len(ids) == FORMAT_RUNS
    assert not [cid for cid in ids if cid.startswith("-")]
