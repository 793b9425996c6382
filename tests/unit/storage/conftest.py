"""Fixtures for the journal stores: every store test runs against SQLite and PostgreSQL.

The PostgreSQL server is a throwaway cluster the test session makes itself: `initdb` in a
temporary directory, listening only on a unix socket in that directory, run as the
unprivileged user `nobody` when the tests run as root (PostgreSQL refuses to run as root).
Each test gets a database of its own. Where PostgreSQL or psycopg is absent the PostgreSQL
variants are skipped locally; with `CI=true` they fail instead, so CI can never pass
without having run them.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason} (.ci/run installs it)", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="solvent-pg-"))
        self.data = self.root / "data"
        self.port = 54329
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self.bin = bin_dir
        self._ids = itertools.count()

    def _run(self, *args: str) -> None:
        result = subprocess.run(self.prefix + list(args), capture_output=True, text=True, cwd=self.root, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "solvent", "--auth=trust", "--no-locale",
                  "-E", "UTF8", "--no-sync")
        options = (f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off -c full_page_writes=off "
                   "-c max_connections=40")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
                  "-o", options, "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.root} port={self.port} user=solvent dbname={dbname}"

    def new_database(self) -> str:
        import psycopg

        name = f"journal_{os.getpid()}_{next(self._ids)}"
        with psycopg.connect(self.conninfo(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.conninfo(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[test]')")
    bin_dir = _bin_dir()
    if bin_dir is None:
        _missing("no initdb found (apt-get install postgresql)")
    assert bin_dir is not None
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired, KeyError) as error:
        shutil.rmtree(server.root, ignore_errors=True)
        _missing(f"cannot start a throwaway cluster: {error}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty journal target of the parametrized backend: a path or a conninfo."""
    if backend == "sqlite":
        return str(tmp_path / "journal.db")
    server = request.getfixturevalue("postgres_server")
    return server.new_database()
