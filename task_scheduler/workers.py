"""Workers: every process (or remote WebUI) that runs tasks of one queue, as the store knows it.

The store is the arbiter. A worker registers a row, claims a task with a *lease* (the task row
says which worker runs it and until when), and renews the lease with its heartbeat while the
task runs, however long a checkpoint load or a hires pass takes. A worker that dies stops
renewing: once the lease has lapsed, whichever worker notices puts the task back (see
:meth:`TaskQueue.recover`), under the one rule that exists for crashes: requeued once, left
``interrupted`` the second time.

A worker's id is stable across restarts (by default the WebUI's host and port), so a restarted
worker recognises its own tasks and recovers them at once instead of waiting out the lease. Two
live processes must not share an id: :meth:`Workers.register` gives the second one a suffix.
"""

from __future__ import annotations

import json
import math
import os
import socket
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidTaskData, TaskNotFound
from .store import Store
from .task import checkpoint_key as _key

#: seconds a claim lasts without a heartbeat; a worker renews it every ``lease_s / 4``
DEFAULT_LEASE_S = 60.0
KINDS = ("webui", "remote", "local")
#: states a worker reports; "offline" (heartbeat older than its lease) is derived when read
STATES = ("idle", "running", "down", "stopped")


class WorkerNotFound(TaskNotFound):
    """No worker with that id (a TaskNotFound, so every API maps it to 404)."""

    def __init__(self, worker_id: str) -> None:
        LookupError.__init__(self, f"no worker with id {worker_id!r}")
        self.task_id = worker_id
        self.worker_id = worker_id


@dataclass(frozen=True)
class WorkerIdentity:
    """Who a worker is: what it writes into its row and into the tasks it claims."""

    id: str
    name: str
    kind: str = "local"
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    lease_s: float = DEFAULT_LEASE_S
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def heartbeat_s(self) -> float:
        return self.lease_s / 4

    @property
    def family(self) -> str | None:
        """The WebUI family it runs (``info["webui"]``: forge, neo, a1111); None for a worker
        that runs no WebUI's Generate itself (a simulated or standalone one)."""
        value = self.info.get("webui")
        return value if isinstance(value, str) and value else None

    @classmethod
    def local(cls, name: str | None = None, *, kind: str = "local", **values: Any) -> WorkerIdentity:
        """A worker of this process; without a name, one of its own (not stable across restarts)."""
        host = socket.gethostname()
        name = name or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        return cls(id=name, name=name, kind=kind, host=host, **values)


@dataclass(frozen=True)
class WorkerView:
    """A worker as the tab and the API show it."""

    id: str
    name: str
    kind: str
    host: str
    pid: int | None
    state: str
    paused: bool
    checkpoint: str | None
    current_task: str | None
    info: dict[str, Any]
    lease_s: float
    started_at: float
    heartbeat_at: float
    heartbeat_age_s: float
    stopped_at: float | None

    @property
    def live(self) -> bool:
        return self.state not in ("offline", "stopped")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "host": self.host,
            "pid": self.pid,
            "state": self.state,
            "paused": self.paused,
            "checkpoint": self.checkpoint,
            "current_task": self.current_task,
            "info": self.info,
            "lease_s": self.lease_s,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
            "heartbeat_age_s": round(self.heartbeat_age_s, 3),
            "stopped_at": self.stopped_at,
        }


class Workers:
    """The worker rows: register, heartbeat, pause, list. Statuses of tasks are not written here."""

    def __init__(self, store: Store, *, pid_alive: Any = None) -> None:
        self.store = store
        self._pid_alive = pid_alive or _pid_alive

    # -- a worker's own life -----------------------------------------------------------------

    def register(
        self,
        identity: WorkerIdentity,
        *,
        checkpoint: str | None = None,
        available: Collection[str] | None = None,
    ) -> WorkerIdentity:
        """Write the worker's row (taking over its own earlier one) and return who it is.

        A row of the same id whose process is alive and is not this one belongs to another
        worker: this one gets a suffixed id rather than sharing the other's tasks.
        """
        now = self.store.clock()
        with self.store.write() as conn:
            chosen = identity
            for number in range(2, 100):
                row = conn.execute("SELECT * FROM worker WHERE id = ?", (chosen.id,)).fetchone()
                if row is None or not self._held_by_another(row, identity, now):
                    break
                chosen = replace(identity, id=f"{identity.id}#{number}", name=f"{identity.name} #{number}")
            conn.execute(
                "INSERT INTO worker (id, name, kind, host, pid, state, paused, checkpoint, checkpoint_key, "
                "checkpoints, current_task, info, lease_s, started_at, heartbeat_at, stopped_at) "
                "VALUES (?, ?, ?, ?, ?, 'idle', 0, ?, ?, ?, NULL, ?, ?, ?, ?, NULL) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
                "host = excluded.host, pid = excluded.pid, state = 'idle', checkpoint = excluded.checkpoint, "
                "checkpoint_key = excluded.checkpoint_key, checkpoints = excluded.checkpoints, "
                "current_task = NULL, info = excluded.info, "
                "lease_s = excluded.lease_s, started_at = excluded.started_at, "
                "heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
                (
                    chosen.id,
                    chosen.name,
                    chosen.kind,
                    chosen.host,
                    chosen.pid,
                    checkpoint,
                    _key(checkpoint),
                    _keys_json(available),
                    json.dumps(chosen.info, ensure_ascii=False),
                    chosen.lease_s,
                    now,
                    now,
                ),
            )
        return chosen

    def _held_by_another(self, row: Any, me: WorkerIdentity, now: float) -> bool:
        if row["stopped_at"] is not None or now - row["heartbeat_at"] > row["lease_s"]:
            return False  # stopped, or dead long enough: free
        if row["host"] != me.host:
            return True  # alive elsewhere, as far as anyone can tell
        if row["pid"] == me.pid:
            return False  # this process (a reload registers again)
        return bool(row["pid"]) and self._pid_alive(row["pid"])

    def heartbeat(
        self,
        identity: WorkerIdentity,
        *,
        checkpoint: str | None,
        down: bool = False,
        available: Collection[str] | None = None,
        holding: Collection[str] | None = None,
    ) -> list[str]:
        """Say the worker is alive and renew the leases of its tasks; the ids still held.

        ``holding``: the tasks the worker knows it runs (or has an outcome of still to record);
        only their leases are renewed (None: all of its tasks). Why: a claim can commit while
        its answer is lost (the database server went away at that moment); the worker never
        runs that task, and renewing it for ever would leave it ``running`` for ever. Not
        renewed, it lapses and goes back to the queue like a crashed worker's.

        A quiet write: it wakes nobody. Whether the worker runs a task is the claim's and the
        outcome's to write (in their transactions), never a heartbeat's, which could be late;
        ``down``: a remote WebUI that does not answer; ``available``: the checkpoints it has (None:
        not known, it may run any). A task the worker believes it runs but
        that is missing from the answer was taken from it (its lease lapsed and another worker
        requeued it).
        """
        now = self.store.clock()
        with self.store.write(quiet=True) as conn:
            conn.execute(
                "UPDATE worker SET heartbeat_at = ?, checkpoint = ?, checkpoint_key = ?, checkpoints = ?, "
                "stopped_at = NULL, "
                "state = CASE WHEN ? THEN 'down' WHEN current_task IS NULL THEN 'idle' ELSE 'running' END "
                "WHERE id = ?",
                (now, checkpoint, _key(checkpoint), _keys_json(available), bool(down), identity.id),
            )
            renew = "UPDATE task SET lease_expires_at = ? WHERE worker_id = ? AND status = 'running'"
            args: list[Any] = [now + identity.lease_s, identity.id]
            if holding is not None:
                held = sorted(set(holding))
                renew += f" AND id IN ({', '.join('?' for _ in held) or 'NULL'})"
                args.extend(held)
            conn.execute(renew, args)
            return [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM task WHERE worker_id = ? AND status = 'running'", (identity.id,)
                )
            ]

    def set_state(
        self, conn: Any, worker_id: str, *, state: str, current_task: str | None, checkpoint: str | None
    ) -> None:
        """Inside the caller's transaction (a claim, an outcome): what the worker does now."""
        conn.execute(
            "UPDATE worker SET state = ?, current_task = ?, checkpoint = ?, checkpoint_key = ?, "
            "heartbeat_at = ? WHERE id = ?",
            (state, current_task, checkpoint, _key(checkpoint), self.store.clock(), worker_id),
        )

    def stopped(self, identity: WorkerIdentity) -> None:
        """A clean stop: the row stays (its history says where tasks ran) but is not live."""
        with self.store.write() as conn:
            conn.execute(
                "UPDATE worker SET state = 'stopped', current_task = NULL, stopped_at = ? WHERE id = ?",
                (self.store.clock(), identity.id),
            )

    # -- what every worker reads -------------------------------------------------------------

    def list(self) -> list[WorkerView]:
        now = self.store.clock()
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM worker ORDER BY started_at, id").fetchall()
        return [_view(row, now) for row in rows]

    def get(self, worker_id: str) -> WorkerView:
        now = self.store.clock()
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM worker WHERE id = ?", (worker_id,)).fetchone()
        if row is None:
            raise WorkerNotFound(worker_id)
        return _view(row, now)

    @staticmethod
    def require_known(conn: Any, worker_id: str) -> None:
        """A task may only be pinned to a worker the queue has seen (else it would wait forever)."""
        if conn.execute("SELECT 1 FROM worker WHERE id = ?", (worker_id,)).fetchone() is None:
            known = [r[0] for r in conn.execute("SELECT id FROM worker ORDER BY id LIMIT 20")]
            raise InvalidTaskData(
                "worker", f"no worker {worker_id!r}; known: {', '.join(known) or 'none yet'}"
            )

    @staticmethod
    def is_paused(conn: Any, worker_id: str) -> bool:
        row = conn.execute("SELECT paused FROM worker WHERE id = ?", (worker_id,)).fetchone()
        return bool(row and row[0])

    def idle_checkpoints_elsewhere(self, conn: Any, worker_id: str) -> set[str]:
        """Checkpoints loaded on another live, idle, unpaused worker: tasks for them are its.

        A worker leaves such a task to the one that has the model loaded, instead of loading it
        a second time; a busy worker's model does not count (its tasks would wait).
        """
        now = self.store.clock()
        rows = conn.execute(
            "SELECT checkpoint_key FROM worker WHERE id != ? AND state = 'idle' AND paused = 0 "
            "AND stopped_at IS NULL AND checkpoint_key IS NOT NULL AND heartbeat_at >= ? - lease_s",
            (worker_id, now),
        ).fetchall()
        return {r[0] for r in rows}

    def only_elsewhere(self, conn: Any, worker_id: str) -> set[str]:
        """Checkpoints other workers have and this one lacks: their tasks are left to them.

        Counted: every worker whose process lives (a remote WebUI that is down for a moment still
        counts, so its tasks wait for it rather than fail elsewhere). A worker that did not say
        what it has (None) lacks nothing; a task whose model nobody has runs anywhere, and fails
        there with a message naming the models there are.
        """
        mine = conn.execute("SELECT checkpoints FROM worker WHERE id = ?", (worker_id,)).fetchone()
        have = _keys_from(mine[0]) if mine else None
        if have is None:
            return set()
        now = self.store.clock()
        others: set[str] = set()
        for (listed,) in conn.execute(
            "SELECT checkpoints FROM worker WHERE id != ? AND stopped_at IS NULL AND checkpoints IS NOT NULL "
            "AND heartbeat_at >= ? - lease_s",
            (worker_id, now),
        ):
            others |= _keys_from(listed) or set()
        return others - have

    def published_checkpoints(self) -> set[str]:
        """Every spelling of every model a live worker says it has (on a farm, the check at
        queue time knows the other machines' models too, not only this WebUI's)."""
        now = self.store.clock()
        keys: set[str] = set()
        with self.store.read() as conn:
            for (listed,) in conn.execute(
                "SELECT checkpoints FROM worker WHERE stopped_at IS NULL AND checkpoints IS NOT NULL "
                "AND heartbeat_at >= ? - lease_s",
                (now,),
            ):
                keys |= _keys_from(listed) or set()
        return keys

    def set_paused(self, worker_id: str, paused: bool) -> WorkerView:
        with self.store.write() as conn:
            cursor = conn.execute("UPDATE worker SET paused = ? WHERE id = ?", (int(paused), worker_id))
            if cursor.rowcount != 1:
                raise WorkerNotFound(worker_id)
        return self.get(worker_id)

    def forget(self, worker_ids: Iterable[str]) -> int:
        """Remove rows of workers that are not live (the tab's "forget" on an old worker)."""
        removed = 0
        now = self.store.clock()
        with self.store.write() as conn:
            for worker_id in worker_ids:
                row = conn.execute("SELECT * FROM worker WHERE id = ?", (worker_id,)).fetchone()
                if row is not None and not _view(row, now).live:
                    conn.execute("DELETE FROM worker WHERE id = ?", (worker_id,))
                    removed += 1
        return removed


def _time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _view(row: Any, now: float) -> WorkerView:
    """The row as the API shows it. A row whose times are not numbers (a hand edit SQLite kept)
    cannot be judged alive: it is shown offline, with those times as 0, and can be forgotten."""
    times = {name: row[name] for name in ("heartbeat_at", "lease_s", "started_at")}
    sound = all(_time(value) for value in times.values())
    sound = sound and (row["stopped_at"] is None or _time(row["stopped_at"]))
    if not sound:
        times = {name: value if _time(value) else 0.0 for name, value in times.items()}
    age = max(0.0, now - times["heartbeat_at"])
    state = row["state"]
    if not sound:
        state = "offline"
    elif row["stopped_at"] is not None:
        state = "stopped"
    elif age > times["lease_s"]:
        state = "offline"
    try:
        info = json.loads(row["info"])
    except ValueError:
        info = {}
    return WorkerView(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        host=row["host"],
        pid=row["pid"],
        state=state,
        paused=bool(row["paused"]),
        checkpoint=row["checkpoint"],
        current_task=row["current_task"] if state == "running" else None,
        info=info if isinstance(info, dict) else {},
        lease_s=times["lease_s"],
        started_at=times["started_at"],
        heartbeat_at=times["heartbeat_at"],
        heartbeat_age_s=age,
        stopped_at=row["stopped_at"] if sound else None,
    )


def _keys_json(available: Collection[str] | None) -> str | None:
    if available is None:
        return None
    return json.dumps(sorted({key for key in map(_key, available) if key}))


def _keys_from(text: str | None) -> set[str] | None:
    try:
        keys = json.loads(text) if text else None
    except ValueError:
        return None
    return {k for k in keys if isinstance(k, str)} if isinstance(keys, list) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
