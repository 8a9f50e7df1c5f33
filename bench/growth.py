"""Costs that must stay flat as history grows, at 1k, 10k and 50k items on a private redis-server:
``/ops pending`` (whole, through the runner), the expiry sweep, ``/incident list`` with 5 open and N
resolved, ``chatops journal export`` (time and peak memory), the pending-approvals gauge; and the
Redis memory a request, a journal entry and an outbox item cost.

    .venv/bin/python -m bench.growth [--sizes 1000,10000,50000]

History is written straight into Redis in the shape the scripts leave it (cloned from one real
request, incident and journal entry), so filling 50k items takes seconds, not minutes; what is
timed is the bot's own read path.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, cast

import redis

from approvals import keys as approval_keys
from approvals.ids import new_request_id
from approvals.service import NewRequest
from bench._support import Row, print_table, redis_server
from chatops.config import load_settings
from chatops.notify import keys
from chatops.notify.journal import Journal, JournalEntry, export_md_lines
from chatops.notify.notice import Notice
from chatops.wiring import App, build_app
from commands.invocation import Invocation

HOUR_MS = 3_600_000
BATCH = 5_000


def _request(n: int) -> NewRequest:
    return NewRequest(
        command="/feed",
        text=f'fallback {n} on 3 "spike"',
        policy_key="feed.fallback",
        calls=[{"function": "price_feed::set_fallback", "args": [["u64", str(n)], ["bool", True]]}],
        digest=f"{n:064x}",
        summary=f"Fallback on for asset {n}",
        requester="alice",
        reason="price spike",
        channel="console",
        thread=None,
        plan_time_s=1_800_000_000,
    )


def _timed(run: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``run`` in ms."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def _now_ms(client: redis.Redis) -> int:
    seconds, micros = cast(tuple[int, int], client.time())
    return int(seconds) * 1000 + int(micros) // 1000


def _fill_requests(app: App, count: int, expires_ms: int) -> None:
    """``count`` pending requests like the one create.lua leaves, expiring at ``expires_ms``."""
    service = app.flow.service
    template = service.create(_request(0))
    raw = cast(
        dict[bytes, bytes], app.redis.hgetall(approval_keys.request_key(template.id.split("-")[0]))
    )
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    for start in range(1, count + 1, BATCH):
        pipe = app.redis.pipeline(transaction=False)
        for number in range(start, min(start + BATCH, count + 1)):
            request_id = str(new_request_id(number + 1))
            pipe.hset(
                approval_keys.request_key(number + 1),
                mapping={**fields, "id": request_id, "digest": f"{number:064x}"},
            )
            pipe.zadd(approval_keys.PENDING, {request_id: expires_ms})
        pipe.execute()
    app.redis.set(approval_keys.SEQUENCE, count + 1)


def _fill_incidents(app: App, resolved: int) -> None:
    """5 open incidents, and ``resolved`` resolved ones as incident_set_state.lua leaves them."""
    store = app.notify.store
    for n in range(5):
        store.open_or_join(
            f"open:{n}", channel="C1", title=f"open {n}", severity="warning", at_s=1, by="x"
        )
    template, _ = store.open_or_join(
        "tmpl", channel="C1", title="t", severity="info", at_s=1, by="x"
    )
    store.set_state(template.id, "resolved", at_s=2, by="x")
    raw = cast(dict[bytes, bytes], app.redis.hgetall(keys.incident_key(template.id)))
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    for start in range(0, resolved, BATCH):
        pipe = app.redis.pipeline(transaction=False)
        for n in range(start, min(start + BATCH, resolved)):
            incident_id = str(1000 + n)
            pipe.hset(keys.incident_key(incident_id), mapping={**fields, "id": incident_id})
            pipe.zadd(keys.INCIDENTS_ALL, {incident_id: 3 + n})
            pipe.zadd(keys.INCIDENTS_RESOLVED, {incident_id: 3 + n})
        pipe.execute()


def _fill_journal(client: redis.Redis, count: int) -> None:
    """``count`` entries, one every 10 s back from now (a busy journal: 6 a minute), each with
    the stream id of the time it happened, as journal_append.lua leaves them."""
    first_ms = _now_ms(client) - count * 10_000
    for start in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for n in range(start, min(start + BATCH, count)):
            at_ms = first_ms + n * 10_000
            entry = JournalEntry(
                at_s=at_ms // 1000,
                type="Alert",
                description="[warning] asset:1: Price clamp active on asset 1 for more than 5 min",
                responsible="chatops",
            ).model_dump_json()
            pipe.xadd(keys.JOURNAL, {"entry": entry}, id=f"{at_ms}-0")
        pipe.execute()


def _export(client: redis.Redis) -> tuple[float, float, int]:
    """``chatops journal export``'s path, written to a sink that drains as it goes (a pipe, a
    file): (ms, peak MB of Python memory, bytes written). The memory is taken on a second run,
    tracemalloc slowing the first one down."""

    def run() -> int:
        return sum(len(line) for line in export_md_lines(Journal(client).newest_first()))

    started = time.perf_counter()
    written = run()
    elapsed = (time.perf_counter() - started) * 1000
    tracemalloc.start()
    run()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 1e6, written


def _memory_per_item(client: redis.Redis, fill: Callable[[], int]) -> float:
    """Bytes of Redis memory per item ``fill`` writes (it returns how many)."""
    client.flushdb()
    before = int(cast(dict[str, Any], client.info("memory"))["used_memory"])
    count = fill()
    after = int(cast(dict[str, Any], client.info("memory"))["used_memory"])
    return (after - before) / count


def measure(url: str, sizes: list[int]) -> list[Row]:
    rows: list[Row] = []
    settings = load_settings({"REDIS_URL": url})
    figures: dict[str, list[str]] = {}
    with build_app(settings) as app:
        client = app.redis
        service = app.flow.service
        for size in sizes:
            client.flushdb()
            _fill_requests(app, size, _now_ms(client) + HOUR_MS)
            pending = Invocation.parse_line("/ops pending", user="alice")
            reply = app.runner.handle(pending)
            figures.setdefault("/ops pending, whole (runner), ms", []).append(
                f"{_timed(lambda inv=pending: app.runner.handle(inv)):.1f}"
            )
            figures.setdefault("/ops pending reply size, bytes", []).append(
                f"{len(reply.model_dump_json()):,}"
            )
            figures.setdefault("pending-approvals gauge (ZCARD), ms", []).append(
                f"{_timed(service.store.pending_count, 20):.2f}"
            )
            client.flushdb()
            _fill_requests(app, size, _now_ms(client) - 1)
            figures.setdefault("one expiry sweep (a bounded batch of 200), ms", []).append(
                f"{_timed(service.sweep, 3):.1f}"
            )
            client.flushdb()
            _fill_incidents(app, size)
            listing = Invocation.parse_line("/incident list", user="alice")
            figures.setdefault("/incident list, 5 open + N resolved, ms", []).append(
                f"{_timed(lambda inv=listing: app.runner.handle(inv)):.1f}"
            )
            client.flushdb()
            _fill_journal(client, size)
            elapsed, peak_mb, written = _export(client)
            figures.setdefault("journal export (md, streamed), ms", []).append(f"{elapsed:,.0f}")
            figures.setdefault("journal export, peak Python memory, MB", []).append(
                f"{peak_mb:.1f}"
            )
            figures.setdefault("journal export, output, MB", []).append(f"{written / 1e6:.1f}")

        def requests() -> int:
            for n in range(1, 1001):
                request = service.create(_request(n))
                service.cancel(request.id, "alice")
            return 1000

        def journal_entries() -> int:
            journal = Journal(client)
            for n in range(1000):
                entry = JournalEntry(
                    at_s=int(time.time()),
                    type="Command",
                    description=f"/lottery activate {n}: done. /lottery activate: done",
                    responsible="alice",
                    links=("0x" + "ab" * 32,),
                )
                journal.append(entry, dedupe=f"step:{n}")
            return 1000

        def outbox_items() -> int:
            for n in range(1000):
                notice = Notice(
                    id=f"event:LotteryCreatedEvent:5:{n}",
                    kind="event",
                    subject=f"lottery:{n}",
                    severity="info",
                    title=f"Lottery {n} created",
                    at_s=int(time.time()),
                )
                app.notify.outbox.enqueue(notice, channel="C1")
            return 1000

        per_request = _memory_per_item(client, requests)
        per_entry = _memory_per_item(client, journal_entries)
        per_item = _memory_per_item(client, outbox_items)
        client.flushdb()
    header = " / ".join(f"{s:,}" for s in sizes)
    for name, values in figures.items():
        rows.append(Row(f"{name} at {header}", " / ".join(values)))
    rows.append(
        Row(
            "Redis memory per request (final, with its history and 2 audit entries)",
            f"{per_request / 1024:.1f} KB",
        )
    )
    rows.append(Row("Redis memory per journal entry (with its dedupe key)", f"{per_entry:,.0f} B"))
    rows.append(Row("Redis memory per outbox item (queued notice)", f"{per_item / 1024:.1f} KB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with redis_server() as url:
        rows = measure(url, sizes)
    print_table(
        "Growth: costs against history (private redis-server, loopback)",
        rows,
        notes=["reproduce: .venv/bin/python -m bench.growth"],
    )


if __name__ == "__main__":
    main()
