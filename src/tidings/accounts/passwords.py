"""Password hashing with argon2id, off the event loop (a hash costs ~100 ms by default)."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tidings.config import Settings


def make_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )


async def hash_password(hasher: PasswordHasher, password: str) -> str:
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash("tidings-timing-equalizer")


async def verify_unknown_user(hasher: PasswordHasher, password: str) -> None:
    """Spend what checking a real password costs, so an unknown username answers no faster."""
    dummy = await asyncio.to_thread(
        _dummy_hash, hasher.time_cost, hasher.memory_cost, hasher.parallelism
    )
    await verify_password(hasher, dummy, password)
