"""Kafka security against the real broker's TLS listeners: CA-only, mutual TLS, SASL_SSL.

``scripts/kafka-local.sh start`` gives the broker three TLS listeners next to PLAINTEXT
and a throwaway CA; ``scripts/kafka-local.sh env`` exports where they are. Each test
builds a directory shaped like the mounted TLS Secret (``ca.crt``, and ``tls.crt`` +
``tls.key`` for mutual TLS) and lets the runtime's own ``consumer_options`` /
``producer_options`` decide what to do with it, exactly as a pod would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka_harness import (
    create_topic,
    produce,
    read_results_until,
    start_worker,
    terminate,
    unique,
)
from test_worker_process import wait_for_exit

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.worker.kafka_options import consumer_options, producer_options
from support.ports import free_port

MESSAGES = 20


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: the TLS tests need the broker's TLS listeners. Run "
            "`scripts/kafka-local.sh start && source <(scripts/kafka-local.sh env)`; a broker "
            "started by an older script has none (`scripts/kafka-local.sh stop` then start).",
            pytrace=False,
        )
    return value


@pytest.fixture
def material() -> Path:
    """The broker's generated CA, client certificate and SASL credentials."""
    return Path(_env("KAFKA_LOCAL_TLS_DIR"))


def secret_dir(tmp_path: Path, material: Path, *, mutual: bool, name: str = "secret") -> Path:
    """A directory like the mounted Secret: ca.crt, plus tls.crt/tls.key for mutual TLS."""
    directory = tmp_path / name
    directory.mkdir()
    shutil.copy(material / "ca.crt", directory / "ca.crt")
    if mutual:
        shutil.copy(material / "client.crt", directory / "tls.crt")
        shutil.copy(material / "client.key", directory / "tls.key")
    return directory


def settings(servers: str, group: str, **values: Any) -> ServiceSettings:
    return ServiceSettings(
        service_name="tls-test",
        kafka_bootstrap_servers=servers,
        kafka_consumer_group=group,
        _env_file=None,  # type: ignore[call-arg]
        **values,
    )


async def round_trip(config: ServiceSettings, count: int = MESSAGES) -> list[bytes]:
    """Produce ``count`` messages and consume them back, both with the runtime's options."""
    topic = unique("rt.tls")
    producer = AIOKafkaProducer(**producer_options(config))
    async with asyncio.timeout(60):
        await producer.start()
        try:
            for i in range(count):
                await producer.send_and_wait(topic, str(i).encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, **consumer_options(config))
        await consumer.start()
        values: list[bytes] = []
        try:
            while len(values) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    values.extend(r.value for r in records)
            await consumer.commit()
        finally:
            await consumer.stop()
    return values


async def refused(config: ServiceSettings, material: Path, reason: str | None) -> BaseException:
    """The error a consumer with these settings gets at start (fails the test if none),
    after the broker logged why: the client sees every refusal as "Unable to bootstrap",
    the broker's ``Failed authentication ... (<reason>)`` line tells them apart."""
    log = material.parent / "server.log"
    before = log.stat().st_size
    consumer = AIOKafkaConsumer(unique("rt.tls.refused"), **consumer_options(config))
    try:
        async with asyncio.timeout(60):
            await consumer.start()
    except Exception as exc:  # the reason is checked in the broker's log below
        error = exc
    else:
        pytest.fail("the broker accepted a client it should have refused")
    finally:
        await consumer.stop()
    if reason is None:
        return error
    async with asyncio.timeout(10):
        while True:
            with log.open("rb") as f:
                f.seek(before)
                lines = f.read().decode(errors="replace").splitlines()
            failed = [ln for ln in lines if "Failed authentication" in ln]
            if any(reason in ln for ln in failed):
                return error
            await asyncio.sleep(0.2)


async def test_ca_only_verifies_the_broker_and_consumes(tmp_path: Path, material: Path) -> None:
    directory = secret_dir(tmp_path, material, mutual=False)
    config = settings(
        _env("KAFKA_SSL_BOOTSTRAP_SERVERS"),
        unique("rt.tls.ca.g"),
        kafka_security_protocol="SSL",
        kafka_ssl_dir=str(directory),
    )
    values = await round_trip(config)
    assert sorted(values, key=int) == [str(i).encode() for i in range(MESSAGES)]


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A Secret-like directory whose ca.crt is a fresh CA that signed nothing."""
    other = tmp_path / "other"
    other.mkdir()
    command = [
        *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
        *("-subj", "/CN=not-the-broker-ca", "-keyout", str(other / "ca.key")),
        *("-out", str(other / "ca.crt")),
    ]
    subprocess.run(command, check=True, capture_output=True)
    (other / "ca.key").unlink()
    return other


async def test_a_ca_that_did_not_sign_the_broker_is_refused(
    other_ca: Path, material: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = other_ca
    config = settings(
        _env("KAFKA_SSL_BOOTSTRAP_SERVERS"),
        unique("rt.tls.wrongca.g"),
        kafka_security_protocol="SSL",
        kafka_ssl_dir=str(other),
    )
    # The client refuses the broker here, so the reason is in the client's own log.
    print(f"wrong CA: {await refused(config, material, None)!r}")
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


async def test_mutual_tls_connects_with_the_client_certificate(
    tmp_path: Path, material: Path
) -> None:
    config = settings(
        _env("KAFKA_MTLS_BOOTSTRAP_SERVERS"),
        unique("rt.tls.mtls.g"),
        kafka_security_protocol="SSL",
        kafka_ssl_dir=str(secret_dir(tmp_path, material, mutual=True)),
    )
    values = await round_trip(config)
    assert len(values) == MESSAGES


async def test_mutual_tls_refuses_a_client_without_a_certificate(
    tmp_path: Path, material: Path
) -> None:
    config = settings(
        _env("KAFKA_MTLS_BOOTSTRAP_SERVERS"),
        unique("rt.tls.nocert.g"),
        kafka_security_protocol="SSL",
        kafka_ssl_dir=str(secret_dir(tmp_path, material, mutual=False)),
    )
    error = await refused(config, material, "SSL handshake failed")
    print(f"no client certificate: {error!r}")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
async def test_sasl_ssl_works_with_the_right_password(
    tmp_path: Path, material: Path, mechanism: str
) -> None:
    config = settings(
        _env("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS"),
        unique("rt.tls.sasl.g"),
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_dir=str(secret_dir(tmp_path, material, mutual=False)),
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username=(material / "sasl-username").read_text().strip(),
        kafka_sasl_password=(material / "sasl-password").read_text().strip(),
    )
    assert len(await round_trip(config, count=5)) == 5


async def test_sasl_ssl_uses_the_default_mechanism_when_none_is_named(
    tmp_path: Path, material: Path
) -> None:
    # The broker's user exists for SCRAM-SHA-512 (the contract's default) among others.
    config = settings(
        _env("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS"),
        unique("rt.tls.sasldefault.g"),
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_dir=str(secret_dir(tmp_path, material, mutual=False)),
        kafka_sasl_username=(material / "sasl-username").read_text().strip(),
        kafka_sasl_password=(material / "sasl-password").read_text().strip(),
    )
    assert consumer_options(config)["sasl_mechanism"] == "SCRAM-SHA-512"
    assert len(await round_trip(config, count=5)) == 5


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
async def test_sasl_ssl_refuses_a_wrong_password(
    tmp_path: Path, material: Path, mechanism: str
) -> None:
    config = settings(
        _env("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS"),
        unique("rt.tls.saslbad.g"),
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_dir=str(secret_dir(tmp_path, material, mutual=False)),
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username=(material / "sasl-username").read_text().strip(),
        kafka_sasl_password="not-the-password",  # the wrong one, on purpose
    )
    reason = "invalid credentials" if mechanism.startswith("SCRAM") else "Invalid username"
    print(f"wrong password ({mechanism}): {await refused(config, material, reason)!r}")


async def test_a_worker_with_a_ca_only_secret_starts_and_processes(
    kafka: str, tmp_path: Path, material: Path
) -> None:
    """The issue's crash: a Secret with only ca.crt, mounted where the operator mounts it."""
    directory = secret_dir(tmp_path, material, mutual=False, name="kafka-tls")
    assert sorted(p.name for p in directory.iterdir()) == ["ca.crt"]
    topic, result_topic = unique("rt.tls.worker"), unique("rt.tls.worker.out")
    await create_topic(kafka, topic)
    await create_topic(kafka, result_topic)
    ids = [f"tls-{i}" for i in range(MESSAGES)]
    await produce(kafka, topic, [json.dumps({"id": i, "text": f"text {i}"}).encode() for i in ids])
    log_path = tmp_path / "worker.log"
    worker = start_worker(
        servers=_env("KAFKA_SSL_BOOTSTRAP_SERVERS"),
        topic=topic,
        result_topic=result_topic,
        group=unique("rt.tls.worker.g"),
        metrics_port=free_port(),
        log_path=log_path,
        extra_env={"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_DIR": str(directory)},
    )
    try:
        # Results are read back over PLAINTEXT: same broker, the worker wrote them via TLS.
        records = await read_results_until(kafka, result_topic, ids=set(ids), within=90)
        seen = {json.loads(r.value)["id"] for r in records}
        assert seen == set(ids), f"log tail:\n{log_path.read_text()[-3000:]}"
        assert worker.poll() is None, "the worker should still be running"
    finally:
        terminate(worker, signal.SIGTERM)
        rc = await wait_for_exit(worker, 30)
        terminate(worker, signal.SIGKILL)
    assert rc == 0, f"exit {rc}; log tail:\n{log_path.read_text()[-3000:]}"


async def test_a_worker_with_a_certificate_but_no_key_exits_naming_the_missing_key(
    tmp_path: Path, material: Path
) -> None:
    directory = secret_dir(tmp_path, material, mutual=True, name="kafka-tls")
    (directory / "tls.key").unlink()
    log_path = tmp_path / "worker.log"
    worker = start_worker(
        servers=_env("KAFKA_MTLS_BOOTSTRAP_SERVERS"),
        topic=unique("rt.tls.nokey"),
        result_topic=unique("rt.unused"),
        group=unique("rt.tls.nokey.g"),
        metrics_port=free_port(),
        log_path=log_path,
        extra_env={"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_DIR": str(directory)},
    )
    try:
        rc = await wait_for_exit(worker, 60)
    finally:
        terminate(worker, signal.SIGKILL)
    log = log_path.read_text()
    assert rc == 1, f"exit {rc}; log tail:\n{log[-3000:]}"
    assert "tls.crt is there but tls.key is not" in log, log[-3000:]
    assert "add tls.key" in log
