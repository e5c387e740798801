"""Server-made identifiers: a prefix, the creation time, and 64 random bits.

Time first so that identifiers sort by creation, which keeps policy listings in creation order.
"""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"
