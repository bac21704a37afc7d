"""Uploading and fetching as a signed-in user, and sending an upload with a message."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tidings.attachments import links
from tidings.attachments.models import AttachmentBlob, AttachmentBlobChunk
from tidings.attachments.schemas import AttachmentView
from tidings.attachments.storage.directory import DirectoryStore
from tidings.realtime.transaction import Transaction


async def upload_response(
    user: ApiUser, data: Any, content_type: str | None = None, filename: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    params = {"filename": filename} if filename is not None else {}
    return await user.client.post("/api/attachments", content=data, headers=headers, params=params)


async def upload(
    user: ApiUser, data: bytes, content_type: str | None = None, filename: str | None = None
) -> dict[str, Any]:
    response = await upload_response(user, data, content_type, filename)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def claim(
    server: LiveServer, sender: ApiUser, conversation_id: int, message_id: int, ids: list[int]
) -> list[AttachmentView]:
    """What the send does with ``attachment_ids``, in a write of its own."""

    def run(tx: Transaction) -> list[AttachmentView]:
        return links.claim(tx.session, sender.id, conversation_id, message_id, ids)

    return await server.ctx.writer.run(run)


async def send_with(
    server: LiveServer, sender: ApiUser, conversation_id: int, ids: list[int]
) -> int:
    """Send a message and claim the uploads for it; the message's id."""
    message = await sender.send(conversation_id, "with files")
    await claim(server, sender, conversation_id, message["id"], ids)
    return int(message["id"])


async def stored_blobs(server: LiveServer) -> set[str]:
    """The blobs registered, each checked to have its bytes in the store."""
    async with server.ctx.db.query_session() as session:
        registered = set(await session.scalars(select(AttachmentBlob.sha256)))
        chunked = set(
            await session.scalars(
                select(AttachmentBlobChunk.sha256).group_by(AttachmentBlobChunk.sha256)
            )
        )
    store = server.ctx.attachment_store
    if isinstance(store, DirectoryStore):
        on_disk = {path.name for path in store.root.glob("??/??/*")}
        assert on_disk == registered
        assert chunked == set()
    else:
        assert chunked == registered
    return registered


async def count(server: LiveServer, column: Any) -> int:
    async with server.ctx.db.query_session() as session:
        return int(await session.scalar(select(func.count(column))) or 0)
