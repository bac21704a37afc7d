"""SIGTERM with open streams: every stream ends cleanly and the process exits promptly."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import ApiUser
from tests.support.server import ServerProcess
from tests.support.settings import child_server_env, reset_postgres
from tests.support.sse import open_stream


def server_env(tmp_path: Path) -> dict[str, str]:
    return child_server_env(tmp_path, "info")


async def test_sigterm_ends_open_streams_and_exits(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    if env["DATABASE_URL"].startswith("postgresql"):
        await reset_postgres(env["DATABASE_URL"])
    log = tmp_path / "server.log"
    process = ServerProcess(env, log=log)
    await process.start()
    users = [await ApiUser(process.url, name).register() for name in ("alice", "bob")]
    try:
        streams = [await open_stream(user.client) for user in users for _ in range(2)]
        for stream in streams:
            assert (await stream.next()).event == "connected"
        process.terminate()
        for stream in streams:
            await stream.wait_ended(timeout=10)
            # A clean end of body, not an error: a browser would reconnect and replay.
            assert stream.frames.empty() or not isinstance(stream.frames.get_nowait(), Exception)
        code = await process.wait(exit_timeout=15)
    finally:
        await process.kill()
        for user in users:
            await user.aclose()
    assert code in (0, -15), code
    output = log.read_text()
    assert "Waiting for connections to close" not in output
    assert "graceful shutdown exceeded" not in output
    assert "Finished server process" in output
