"""Worker overhead of the runtime: ``WorkerService`` vs a plain aiokafka loop, in CPU per message.

**Ours** is what ``huleedu-runtime run-worker`` runs: a ``KafkaEventProcessor`` inside a
``WorkerService`` (signal handling, health and metrics server, heartbeat file,
per-topic metrics, lag gauges, the DLQ producer, commit after each batch) with the
runtime's logging configured at WARNING. **Plain** is an ``AIOKafkaConsumer`` with the
same options (:func:`huleedu_runtime.worker.kafka_options.consumer_options`) that
``getmany``s, handles each record and commits the batch's offsets. Both run the same
handler work: decode the JSON payload, compute the example worker's result
(characters, words) and encode it; neither publishes.

Each measurement is a fresh consumer process (fresh consumer group) pinned to one core;
the broker's JVM (every thread) and this process (the producer) are pinned to the
other(s) for the run and the broker's affinity is restored afterwards
(:mod:`bench.rounds`). After a warm-up, every round measures both sides back to back,
the order alternating (A B, B A, ...), each with:

1. **backlog**: consume a pre-produced topic (3 partitions) from the start for
   ``--seconds`` (or until the backlog is done; it is sized from the warm-up
   throughput). CPU per message = the consumer process's CPU time
   (``time.process_time``: utime+stime, all threads) from the first message handled
   to the end of the stopped loop, over the messages handled: the primary metric;
2. **rate**: once the consumer has joined, produce ``--rate`` messages/s (open loop)
   to a fresh topic for ``--latency-seconds``; each message carries its scheduled
   send time (``CLOCK_MONOTONIC``, shared by all processes) and the handler records
   produce -> processed latency; p50/p99.

The round's ratio is plain CPU/message over ours (higher is better, target >= 0.95);
the result is the median of the per-round ratios with its IQR.

    source <(scripts/kafka-local.sh env)
    python -m bench.runtime_worker                        # 10 rounds x (20 s + 10 s)
    python -m bench.runtime_worker --rounds 4 --seconds 5 --latency-seconds 3 --warmup 3

Needs the broker (``scripts/kafka-local.sh start``; ``KAFKA_BOOTSTRAP_SERVERS``).
Results: the ``worker`` section of bench/results/runtime.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import rounds as rr

TARGET = 0.95
PARTITIONS = 3
SIDES = ("ours", "plain")
TEXT = "the quick brown fox jumps over the lazy dog " * 4


# --- the consumer process --------------------------------------------------------------------


class Work:
    """The handler both sides run, plus the measurement window."""

    def __init__(self, seconds: float, total: int, on_done: Callable[[], None]) -> None:
        self.seconds, self.total, self.on_done = seconds, total, on_done
        self.handled = 0
        self.first: float | None = None
        self.cpu0 = 0.0
        self.done = False
        self.latencies: list[float] = []

    async def __call__(self, message: Any, _publisher: Any = None) -> None:
        payload = json.loads(message.value)
        text = payload["text"]
        json.dumps({"id": payload["id"], "chars": len(text), "words": len(text.split())})
        now = time.monotonic()
        if self.first is None:
            self.first, self.cpu0 = now, time.process_time()
        if payload["t"]:
            self.latencies.append(now - payload["t"])
        self.handled += 1
        if not self.done and (self.handled >= self.total or now - self.first >= self.seconds):
            self.done = True
            self.on_done()

    def result(self) -> dict[str, Any]:
        cpu, wall = time.process_time() - self.cpu0, time.monotonic() - (self.first or 0)
        lat = sorted(self.latencies)
        return {
            "messages": self.handled,
            "cpu_s": cpu,
            "wall_s": wall,
            "cpu_us_per_message": cpu / max(self.handled, 1) * 1e6,
            "messages_per_s": self.handled / wall if self.first else 0.0,
            "p50_ms": rr.percentile(lat, 50) * 1e3,
            "p99_ms": rr.percentile(lat, 99) * 1e3,
            "max_ms": (lat[-1] if lat else float("nan")) * 1e3,
        }


def _settings(servers: str, topic: str, group: str, metrics_port: int, heartbeat: str) -> Any:
    from huleedu_runtime.config import ServiceSettings

    return ServiceSettings(
        service_name="bench-worker",
        kafka_bootstrap_servers=servers,
        kafka_topics=[topic],
        kafka_consumer_group=group,
        host="127.0.0.1",
        metrics_port=metrics_port,
        heartbeat_file=heartbeat,
        log_level="WARNING",
        _env_file=None,
    )


async def _consume_ours(settings: Any, work: Work, ready: Path) -> None:
    from huleedu_runtime.logging import configure_logging
    from huleedu_runtime.worker import KafkaEventProcessor, WorkerService

    configure_logging(
        service_name=settings.service_name,
        service_version=settings.service_version,
        level=settings.log_level,
        log_format=settings.log_format,
    )
    processor = KafkaEventProcessor(settings, work)

    async def mark_ready() -> None:
        while not await processor.is_ready():  # noqa: ASYNC110 - is_ready has no event
            await asyncio.sleep(0.05)
        ready.touch()  # noqa: ASYNC240 - once, before the measurement

    work.on_done = lambda: os.kill(os.getpid(), signal.SIGTERM)  # as the kubelet stops it
    watcher = asyncio.create_task(mark_ready())
    code = await WorkerService(processor, settings).run()
    watcher.cancel()
    if code:
        raise SystemExit(f"WorkerService exited with {code}")


async def _consume_plain(settings: Any, work: Work, ready: Path) -> None:
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
    from aiokafka.structs import OffsetAndMetadata

    from huleedu_runtime.worker.kafka_options import consumer_options

    class Joined(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_revoked(self, revoked: Any) -> None:
            return None

        def on_partitions_assigned(self, assigned: Any) -> None:
            ready.touch()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    work.on_done = stop.set
    consumer = AIOKafkaConsumer(**consumer_options(settings))
    consumer.subscribe(settings.kafka_topics, listener=Joined())
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=500, max_records=settings.kafka_max_poll_records
            )
            offsets = {}
            for tp, records in batch.items():
                for record in records:
                    await work(record)
                offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "")
            if offsets:
                await consumer.commit(offsets)
    finally:
        await consumer.stop()


def consume(args: argparse.Namespace) -> None:
    """The consumer process: run one side until done or SIGTERM; write the result."""
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(
            args.servers, args.topic, args.group, args.metrics_port, f"{tmp}/heartbeat"
        )
        work = Work(args.seconds, args.total, lambda: None)
        runner = _consume_ours if args.consume == "ours" else _consume_plain
        asyncio.run(runner(settings, work, out.with_suffix(".ready")))
    out.write_text(json.dumps(work.result()))


# --- the harness ------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Consumer:
    """A consumer process of one side; :meth:`result` waits for it."""

    def __init__(
        self, kind: str, servers: str, topic: str, seconds: float, total: int, cores: Any
    ) -> None:
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
        self.out = self.dir / "result.json"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.runtime_worker",
                "--consume",
                kind,
                "--servers",
                servers,
                "--topic",
                topic,
                "--group",
                f"bench-{kind}-{uuid.uuid4().hex[:12]}",
                "--seconds",
                str(seconds),
                "--total",
                str(total),
                "--metrics-port",
                str(_free_port()),
                "--out",
                str(self.out),
            ],
            cwd=rr.REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=rr.pin_self(cores),
        )

    async def ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not self.out.with_suffix(".ready").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.kind} consumer did not join: {self._stderr()}")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    async def result(self, within: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"the {self.kind} consumer did not finish")
            await asyncio.sleep(0.05)
        if self.proc.returncode or not self.out.exists():
            raise RuntimeError(f"the {self.kind} consumer failed: {self._stderr()}")
        result: dict[str, Any] = json.loads(self.out.read_text())
        for path in self.dir.iterdir():
            path.unlink()
        self.dir.rmdir()
        return result


def _payload(t: float, i: int) -> bytes:
    return json.dumps({"id": f"m{i}", "t": t, "text": TEXT}).encode()


async def _create_topic(servers: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


async def _delete_topics(servers: str, prefix: str) -> None:
    """Remove this benchmark's topics from the (shared) broker."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()


async def _produce_backlog(servers: str, topic: str, count: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=servers, acks=1, linger_ms=20)
    await producer.start()
    try:
        for start in range(0, count, 5000):
            sends = [
                await producer.send(topic, _payload(0, start + i))
                for i in range(min(5000, count - start))
            ]
            await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _backlog(
    kind: str, servers: str, topic: str, seconds: float, total: int, cores: Any
) -> dict[str, Any]:
    return await Consumer(kind, servers, topic, seconds, total, cores).result()


async def _at_rate(
    kind: str, servers: str, rate: float, seconds: float, cores: Any
) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer

    topic = f"bench.runtime.rate.{uuid.uuid4().hex[:10]}"
    await _create_topic(servers, topic)
    consumer = Consumer(kind, servers, topic, 1e9, 1 << 62, cores)
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks=1, linger_ms=0)
    await producer.start()
    try:
        await consumer.ready()
        await asyncio.sleep(1.0)  # the first fetch after the join, not steady state
        total = int(rate * seconds)
        t0 = time.monotonic()
        sent = 0
        while sent < total:
            due = min(total, int((time.monotonic() - t0) * rate) + 1)
            for i in range(sent, due):
                await producer.send(topic, _payload(t0 + i / rate, i))
            sent = due
            await asyncio.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
        await producer.flush()
        await asyncio.sleep(1.0)  # the last messages reach the consumer
    except BaseException:
        consumer.stop()
        raise
    finally:
        await producer.stop()
    consumer.stop()
    result = await consumer.result()
    result["produced"] = total
    return result


def _broker_pid() -> int | None:
    state = Path(os.environ.get("HULEEDU_STATE_DIR", rr.REPO / ".local")) / "kafka" / "kafka.pid"
    try:
        pid = int(state.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def main(
    *,
    servers: str,
    rounds: int = 10,
    seconds: float = 20.0,
    latency_seconds: float = 10.0,
    rate: float = 1000.0,
    warmup: float = 5.0,
    pin: bool = True,
) -> dict[str, Any]:
    """Run the benchmark, write the ``worker`` section of runtime.json, return it."""
    load_before = os.getloadavg()[0]
    cores = rr.Cores.plan(pin)
    os.sched_setaffinity(0, cores.load)  # this process is the producer
    broker = _broker_pid()
    broker_previous = rr.pin(broker, cores.load) if broker and cores.pinned else {}
    backlog_topic = f"bench.runtime.backlog.{uuid.uuid4().hex[:10]}"

    failure: list[str] = []

    async def _measure_round(row: dict[str, Any], order: tuple[str, str]) -> None:
        for kind in order:
            row[kind] = await _backlog(
                kind, servers, backlog_topic, seconds, backlog_size[0], cores.subject
            )
            row[kind]["backlog_exhausted"] = row[kind]["messages"] >= backlog_size[0]
            row[kind]["at_rate"] = await _at_rate(
                kind, servers, rate, latency_seconds, cores.subject
            )

    backlog_size = [0]

    async def run() -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        backlog = int(max(50_000, 20_000 * warmup))
        await _create_topic(servers, backlog_topic)
        t = time.monotonic()
        await _produce_backlog(servers, backlog_topic, backlog)
        print(f"produced {backlog} in {time.monotonic() - t:.1f} s", flush=True)
        warm = {
            k: await _backlog(k, servers, backlog_topic, warmup, backlog, cores.subject)
            for k in SIDES
        }
        needed = int(max(w["messages_per_s"] for w in warm.values()) * seconds * 1.3)
        if needed > backlog:
            t = time.monotonic()
            await _produce_backlog(servers, backlog_topic, needed - backlog)
            print(f"topped up to {needed} in {time.monotonic() - t:.1f} s", flush=True)
            backlog = needed
        backlog_size[0] = backlog
        print(
            "warm-up: "
            + ", ".join(f"{k} {w['messages_per_s']:.0f} msg/s" for k, w in warm.items())
            + f"; backlog {backlog}; fixed rate {rate:g}/s",
            flush=True,
        )
        samples: list[dict[str, Any]] = []
        for i, order in enumerate(rr.orders(rounds, *SIDES)):
            row: dict[str, Any] = {"order": list(order)}
            if _broker_pid() != broker:
                failure.append(f"the broker was restarted during round {i + 1}")
                break
            try:
                await _measure_round(row, order)
            except RuntimeError as exc:
                failure.append(f"round {i + 1}: {exc}"[:500])
                break
            row["ratio"] = row["plain"]["cpu_us_per_message"] / row["ours"]["cpu_us_per_message"]
            row["ratio_at_rate"] = (
                row["plain"]["at_rate"]["cpu_us_per_message"]
                / row["ours"]["at_rate"]["cpu_us_per_message"]
            )
            samples.append(row)
            print(
                f"round {i + 1}/{rounds} {'-'.join(order)}: CPU us/msg ours "
                f"{row['ours']['cpu_us_per_message']:.1f}, plain "
                f"{row['plain']['cpu_us_per_message']:.1f}, ratio {row['ratio']:.3f}; "
                f"p99 ms ours {row['ours']['at_rate']['p99_ms']:.1f}, "
                f"plain {row['plain']['at_rate']['p99_ms']:.1f}",
                flush=True,
            )
        return warm, backlog, samples

    try:
        warm, backlog, samples = asyncio.run(run())
    finally:
        if broker and broker_previous:
            rr.restore(broker, broker_previous)
        asyncio.run(_delete_topics(servers, "bench.runtime."))

    pinning = {
        **cores.describe("consumer", "producer_and_broker"),
        "broker_pid": broker,
        "broker_pinned": bool(broker_previous),
        "broker_affinity_restored_to": sorted(broker_previous.get(broker or 0, set())),
    }
    if not samples:
        raise SystemExit(f"no round completed: {failure}")
    summary = rr.summarise([r["ratio"] for r in samples])
    section: dict[str, Any] = {
        "commit": rr.commit(),
        "machine": rr.machine(pinning, load_before),
        "benchmark": "runtime_worker",
        "complete": not failure,
        "failure": failure[0] if failure else None,
        "unit": "message",
        "baseline": "plain",
        "method": (
            f"{rounds} paired rounds (order alternating) after a {warmup:g} s warm-up per "
            f"side; CPU per message = consumer process CPU from the first message to the "
            f"stopped loop / messages, consuming a backlog of {backlog} messages "
            f"({PARTITIONS} partitions, fresh group) for {seconds:g} s; p99 = produce -> "
            f"processed at {rate:g} msg/s for {latency_seconds:g} s; ours = "
            "KafkaEventProcessor in WorkerService, plain = AIOKafkaConsumer getmany + "
            "commit per batch; same handler (JSON decode, result encode), no publishing"
        ),
        **summary,
        "target": TARGET,
        "met": summary["ratio_median"] >= TARGET,
        "cpu_us_per_message": {k: rr.median_of(samples, k, "cpu_us_per_message") for k in SIDES},
        "messages_per_s": {k: rr.median_of(samples, k, "messages_per_s") for k in SIDES},
        "p99_ms_at_rate": {
            "rate": rate,
            **{k: rr.median_of(samples, k, "at_rate", "p99_ms") for k in SIDES},
        },
        "p50_ms_at_rate": {k: rr.median_of(samples, k, "at_rate", "p50_ms") for k in SIDES},
        "cpu_us_per_message_at_rate": {
            k: rr.median_of(samples, k, "at_rate", "cpu_us_per_message") for k in SIDES
        },
        "ratio_at_rate": rr.summarise([r["ratio_at_rate"] for r in samples]),
        "round_seconds": seconds,
        "latency_seconds": latency_seconds,
        "warmup": {"seconds": warmup, **{k: w["messages_per_s"] for k, w in warm.items()}},
        "rounds": samples,
    }
    rr.write_section("worker", section)
    if failure:
        print(f"stopped early, {len(samples)} of {rounds} rounds: {failure[0]}", file=sys.stderr)
    return section


def _cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_worker", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--rounds", type=int, default=10, help="paired rounds (default 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="backlog phase per side")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="fixed-rate phase")
    parser.add_argument("--rate", type=float, default=1000.0, help="msg/s in the rate phase")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per side")
    parser.add_argument("--no-pin", action="store_true", help="leave scheduling to the kernel")
    for hidden in ("--consume", "--servers", "--topic", "--group", "--out"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--metrics-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        consume(args)
        return
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        raise SystemExit(
            "KAFKA_BOOTSTRAP_SERVERS is not set: scripts/kafka-local.sh start && "
            "source <(scripts/kafka-local.sh env)"
        )
    s = main(
        servers=servers,
        rounds=args.rounds,
        seconds=args.seconds,
        latency_seconds=args.latency_seconds,
        rate=args.rate,
        warmup=args.warmup,
        pin=not args.no_pin,
    )
    print(
        f"plain/ours CPU per message: {s['ratio_median']:.3f} (IQR {s['ratio_iqr']:.3f}"
        f"{', NOISY' if s['noisy'] else ''}); target {TARGET}: {'met' if s['met'] else 'MISSED'}"
    )


if __name__ == "__main__":
    _cli()
