"""Long-lived clients through PgBouncer, as an application's connection pool holds them: each keeps one connection
open for the whole test, writes in a loop at a steady rate, and on an error closes it and reconnects (retrying every
50 ms) the way pools do. Every transaction is recorded - when it was due, when it ended, whether it failed and with
what, and the port of the server it ran on (inet_server_port(): the source's or the target's PostgreSQL) - so a test
can tell what a cutover cost its clients: latency, failed transactions, reconnects, and how long each client was kept
from working (from its last transaction on the source to its first on the target).

psycopg with prepare_threshold=None: PgBouncer before 1.21 cannot carry protocol-level prepared statements in
transaction pooling, so applications behind it turn them off; the same clients then run in both pool modes.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psycopg

# One transaction: an order for a customer and the customer's email, like the pgbench script of test_cutover.py.
WRITE = ("INSERT INTO included.orders (customer_id, amount) VALUES (%(cid)s, 1.5)",
         "UPDATE included.customers SET email = %(email)s WHERE id = %(cid)s")


@dataclass
class Attempt:
    due: float       # epoch seconds the transaction was scheduled (latency counts from here, as pgbench -R does)
    ended: float
    ok: bool
    port: int | None = None
    error: str | None = None


class Client(threading.Thread):
    """One pooled connection, writing every `interval` seconds."""

    def __init__(self, number: int, conninfo: dict, interval: float):
        super().__init__(daemon=True, name=f"client-{number}")
        self.number, self.conninfo, self.interval = number, conninfo, interval
        self.attempts: list[Attempt] = []
        self.connects = 0
        self.halt = threading.Event()

    def connect(self) -> psycopg.Connection:
        while not self.halt.is_set():
            try:
                conn = psycopg.connect(**self.conninfo, prepare_threshold=None, connect_timeout=10)
                self.connects += 1
                return conn
            except psycopg.Error:
                time.sleep(0.05)
        raise RuntimeError("halted")

    def run(self) -> None:
        conn = None
        due = time.time()
        n = 0
        while not self.halt.is_set():
            due = max(due + self.interval, time.time() - 1)  # behind by more than a second: do not catch up in a burst
            delay = due - time.time()
            if delay > 0:
                self.halt.wait(delay)
            n += 1
            cid = 1 + (self.number * 250 + n) % 1000
            try:
                if conn is None:
                    conn = self.connect()
                with conn.transaction():
                    for sql in WRITE:
                        conn.execute(sql, dict(cid=cid, email=f"c{cid}.{n}@example.org"))
                    port = conn.execute("SELECT inet_server_port()").fetchone()[0]
                self.attempts.append(Attempt(due, time.time(), True, port))
            except RuntimeError:
                break
            except psycopg.Error as e:
                self.attempts.append(Attempt(due, time.time(), False, error=f"{e.sqlstate or '-'} {e}".strip()))
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
        if conn is not None:
            conn.close()


class Clients:
    """N clients started together; figures() summarises what they went through."""

    def __init__(self, conninfo: dict, count: int = 4, rate: float = 40.0):
        self.clients = [Client(i, conninfo, count / rate) for i in range(count)]

    def __enter__(self) -> Clients:
        for c in self.clients:
            c.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        for c in self.clients:
            c.halt.set()
        for c in self.clients:
            c.join(timeout=30)

    def working_on(self, port: int, since: float) -> bool:
        """Every client has completed a transaction on that server after `since` (epoch s)."""
        return all(any(a.ok and a.port == port and a.ended > since for a in c.attempts) for c in self.clients)

    def figures(self, source_port: int, target_port: int, window: tuple[float, float]) -> dict:
        """What the clients saw during `window` (epoch seconds): failed transactions and their errors, clients that
        reconnected, the largest latency of a transaction that ended in the window (from when it was due, so waiting
        behind a pause counts), and the switch gap: per client, from its last transaction on the source to its first
        on the target - how long it could not work - the largest over the clients."""
        failed, errors, messages, gaps, latencies, reconnected = 0, {}, set(), [], [], 0
        for c in self.clients:
            inside = [a for a in c.attempts if window[0] <= a.ended <= window[1]]
            for a in inside:
                latencies.append(a.ended - a.due)
                if not a.ok:
                    failed += 1
                    errors[a.error.split(" ", 1)[0]] = errors.get(a.error.split(" ", 1)[0], 0) + 1
                    messages.add(" ".join(a.error.split())[:90])
            reconnected += 1 if c.connects > 1 else 0
            last_source = max((a.ended for a in c.attempts if a.ok and a.port == source_port), default=None)
            first_target = min((a.ended for a in c.attempts if a.ok and a.port == target_port), default=None)
            if last_source is not None and first_target is not None:
                gaps.append(first_target - last_source)
        done = sum(1 for c in self.clients for a in c.attempts if a.ok)
        return {"failed": failed, "errors": errors, "messages": sorted(messages), "reconnected": reconnected,
                "max_latency_ms": round(max(latencies) * 1000) if latencies else None,
                "switch_gap_ms": round(max(gaps) * 1000) if len(gaps) == len(self.clients) else None,
                "transactions": done}

    def last_error(self) -> str | None:
        errors = [a.error for c in self.clients for a in c.attempts if not a.ok]
        return errors[-1] if errors else None
