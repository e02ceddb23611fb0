"""`contextiq local --moto-host`: moto binds where asked, so a `sam local` container can reach the tables
and queues (through the host's address, not 127.0.0.1); the default stays loopback only."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from contextiq.local.runtime import LocalStack

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - binding there is what this test is about


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (what a container's gateway would reach)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent, it only picks a route
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("moto_host", [EVERY_INTERFACE, "127.0.0.1"])
def test_moto_binds_where_asked(tmp_path: Path, moto_host: str) -> None:
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    saved = dict(os.environ)
    stack = LocalStack(data_dir=tmp_path, moto_host=moto_host)
    try:
        stack.start()
        assert _reachable("127.0.0.1", stack.moto_port)  # the local server's own clients
        assert _reachable(outside, stack.moto_port) is (moto_host == EVERY_INTERFACE)
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)


def test_the_cli_passes_the_bind_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    from contextiq import cli
    from contextiq.local import runtime

    seen: dict[str, object] = {}
    monkeypatch.setattr(runtime, "serve", lambda host, port, keys, data_dir, **kw: seen.update(host=host, **kw))
    assert cli.main(["local", "--host", EVERY_INTERFACE, "--moto-host", EVERY_INTERFACE, "--no-workers"]) == 0
    assert seen["host"] == EVERY_INTERFACE and seen["moto_host"] == EVERY_INTERFACE
    cli.main(["local", "--no-workers"])
    assert seen["host"] == "127.0.0.1" and seen["moto_host"] == "127.0.0.1"
