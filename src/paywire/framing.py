"""Frames on the TCP stream: a 2-byte big-endian length, then that many bytes of message."""

from __future__ import annotations

import asyncio

MIN_MESSAGE = 20
"""The shortest possible message: a 4-byte MTI and a 16-character primary bitmap."""
MAX_MESSAGE = 0xFFFF


class FramingError(Exception):
    """The stream is out of step: the length prefix cannot start a message."""


def frame(message: bytes) -> bytes:
    if not MIN_MESSAGE <= len(message) <= MAX_MESSAGE:
        raise FramingError(f"a message of {len(message)} bytes cannot be framed")
    return len(message).to_bytes(2, "big") + message


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """The next message; raises ``asyncio.IncompleteReadError`` at the end of the stream."""
    length = int.from_bytes(await reader.readexactly(2), "big")
    if length < MIN_MESSAGE:
        raise FramingError(f"length prefix {length} is shorter than any message")
    return await reader.readexactly(length)
