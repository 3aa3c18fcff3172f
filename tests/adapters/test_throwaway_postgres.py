"""The throwaway PostgreSQL of the testing kit: it serves, it drops root, it leaves nothing."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from bookshop_adapters.testing.postgres import ThrowawayPostgres, find_postgres_bindir

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        find_postgres_bindir() is None, reason="no PostgreSQL server binaries to start one from"
    ),
]


def _postmaster_pid(server: ThrowawayPostgres) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (an exited daemon can linger as a zombie until init reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_serves_then_leaves_no_process_and_no_files() -> None:
    """A started server answers on its socket; stop() ends the postmaster and deletes its dir."""
    with ThrowawayPostgres.start() as server:
        url = server.create_database("harness_check")
        assert "PostgreSQL" in server.describe()
        assert url.endswith(f"/harness_check?host={server.socket_dir}&port={server.port}")
        root, pid = server.root, _postmaster_pid(server)
    assert not root.exists()
    assert not _running(pid)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root has to drop to the postgres user")
def test_under_root_the_server_runs_as_postgres() -> None:
    """PostgreSQL refuses root: the harness runs it as the postgres user, who owns its files."""
    postgres = pwd.getpwnam("postgres")
    with ThrowawayPostgres.start() as server:
        assert Path(f"/proc/{_postmaster_pid(server)}").stat().st_uid == postgres.pw_uid
        assert server.data_dir.stat().st_uid == postgres.pw_uid
        assert server.socket_dir.stat().st_uid == postgres.pw_uid
