"""The minimal GRIP origin behind Pushpin: every ``GET /s/<uid>`` becomes a held stream.

It answers at once with ``Grip-Hold: stream``, the channels the stream joins (``all``, plus
``g<size>`` for every fan-out group the user is in), a 30 s keep-alive like Tidings' heartbeat,
and the same first bytes Tidings sends (``retry`` and a ``connected`` event). Pushpin then holds
the connection; the origin keeps nothing.
"""

from __future__ import annotations

import asyncio
import sys

BODY = b'retry: 2000\n\nevent: connected\ndata: {"user_id": 0}\n\n'


def response(uid: int, sizes: list[int]) -> bytes:
    channels = ",".join(["all", *(f"g{n}" for n in sizes if uid <= n)])
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Grip-Hold: stream\r\nGrip-Channel: " + channels.encode() + b"\r\n"
        b"Grip-Keep-Alive: :heartbeat\\n\\n; format=cstring; timeout=30\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
    )


async def main(port: int, sizes: list[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                uid = int(path.rsplit(b"/", 1)[1]) if path.startswith(b"/s/") else 0
                writer.write(response(uid, sizes))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), [int(x) for x in sys.argv[2:]]))
