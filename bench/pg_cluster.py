"""A throwaway PostgreSQL server in a temporary folder, for the tests and the benches.

Why not a mock: the store's claims, locks and notifications are PostgreSQL's own behaviour.
Debian's ``postgresql`` package provides ``initdb`` and ``pg_ctl`` (under
``/usr/lib/postgresql/<version>/bin``, not on PATH). PostgreSQL refuses to run as root, so
under root the server runs as ``nobody`` in a folder that user owns. It listens on a free
loopback port with ``trust`` authentication and is gone when :meth:`stop` runs.

    python bench/pg_cluster.py      # start one and print its URL until Ctrl+C or SIGTERM
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from _common import process_cpu_s

SERVER_USER_WHEN_ROOT = "nobody"


def find_bin(name: str) -> str | None:
    """``initdb`` / ``pg_ctl`` on PATH, else the newest Debian install's."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]), reverse=True
    )
    return candidates[0] if candidates else None


def available() -> str | None:
    """None when a cluster can be made here, else why not."""
    missing = [name for name in ("initdb", "pg_ctl") if find_bin(name) is None]
    if missing:
        return f"PostgreSQL server programs not found ({', '.join(missing)}); apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="task-scheduler-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None
        self._started = False

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            user=self.user,
            check=check,
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=120,
        )

    def start(self) -> PgCluster:
        if self.user is not None:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self.user)
        if not self.data.exists():
            initdb = find_bin("initdb")
            assert initdb, available()
            self._run(
                initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync",
            )  # fmt: skip
        self.pg_ctl("start", "-w", "-t", "60", "-l", str(self.root / "server.log"), "-o",
                    f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c max_connections=200 -c full_page_writes=off")  # fmt: skip
        self._started = True
        return self

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        pg_ctl = find_bin("pg_ctl")
        assert pg_ctl, available()
        result = self._run(pg_ctl, "-D", str(self.data), *args, check=False)
        if result.returncode != 0 and args[0] != "stop":
            raise RuntimeError(f"pg_ctl {args[0]} failed: {result.stdout}{result.stderr}{self.log()}")
        return result

    def stop(self, mode: str = "fast") -> None:
        """``mode="immediate"`` is a crash as far as clients see (no goodbye, no checkpoint)."""
        if self._started:
            self.pg_ctl("stop", "-w", "-m", mode)
            self._started = mode == "keep"

    def restart(self) -> None:
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def cpu_s(self) -> float:
        """CPU seconds the server used so far: the postmaster, its live processes and those it
        reaped (Linux ``/proc``; 0.0 elsewhere). Why: on a shared machine, throughput says more
        about the neighbours than about the queue; CPU per task does not."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            total = process_cpu_s(pid, reaped=True)
            for stat in glob.glob("/proc/[0-9]*/stat"):
                try:
                    if int(Path(stat).read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        total += process_cpu_s(int(Path(stat).parent.name))  # a backend
                except (OSError, ValueError):
                    continue  # ended meanwhile (its time is in the postmaster's reaped total)
            return total
        except (OSError, ValueError, IndexError):
            return 0.0

    def url(self, database: str = "postgres", *, schema: str | None = None) -> str:
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        return f"{url}?schema={schema}" if schema else url

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    reason = available()
    if reason:
        raise SystemExit(reason)
    cluster = PgCluster().start()
    print(cluster.url(), flush=True)
    # ``kill PID`` (and Ctrl+C, which a shell's background job ignores) removes the server too
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
