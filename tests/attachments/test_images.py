"""Image processing under load: decodes wait without holding threads."""

from __future__ import annotations

import asyncio
import contextlib
import os

import httpx
import pytest

from tests.attachments import files
from tests.attachments.helpers import upload_response
from tests.support.api import PASSWORD
from tidings.attachments import images


@pytest.mark.settings(rate_limit_upload="1000/hour")
async def test_a_login_is_not_stuck_behind_uploads_waiting_to_decode(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    data = files.image("PNG", size=(600, 400))
    gate = images.decode_gate()
    # More uploads than the default thread pool has threads: had they waited for a decode
    # slot in threads, the login's password hashing would find none free.
    count = min(32, (os.cpu_count() or 1) + 4) + 2
    async with contextlib.AsyncExitStack() as held:
        for _ in range(images.CONCURRENT_DECODES):  # every slot busy, as with large images
            await held.enter_async_context(gate.slot())
        uploads = [
            asyncio.create_task(upload_response(alice, data, "image/png")) for _ in range(count)
        ]
        async with asyncio.timeout(30):
            while gate.waiting < count:  # noqa: ASYNC110 (a count with nothing to await)
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=server.url) as anonymous:
                login = await anonymous.post(
                    "/api/auth/login", json={"username": bob.username, "password": PASSWORD}
                )
        assert login.status_code == 200, login.text
        assert not any(task.done() for task in uploads)
        assert gate.waiting == count
    answers = await asyncio.gather(*uploads)
    assert [answer.status_code for answer in answers] == [201] * count
    assert gate.waiting == 0
