"""Guarded streams: the provider's stream, chunk for chunk, settled once when it ends.

A stream that ends normally settles with the usage its provider reported in it. One that fails, is
closed early or is abandoned (garbage-collected unfinished) settles what it streamed: the call's
input bound and the output seen so far; a stream that yielded nothing releases its hold.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from budget_sdk.estimates import text_tokens
from budget_sdk.guard import Guarded


@dataclass
class StreamUsage:
    """What a stream told of its usage so far (``observe`` is the provider's own reading)."""

    observe: Callable[[Any, StreamUsage], None]
    provider_usage: dict[str, Any] | None = None
    model: str | None = None
    service_tier: str | None = None
    streamed_tokens: int = 0
    chunks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def saw_text(self, text: str | None) -> None:
        self.streamed_tokens += text_tokens(text)


def _finish(call: Guarded, usage: StreamUsage, complete: bool) -> None:
    if usage.provider_usage is not None and complete:
        call.settle(usage.provider_usage, usage.model, service_tier=usage.service_tier)
    elif usage.chunks == 0:
        call.release()
    else:  # cut short: the prompt was read whole (its bound), the output as far as it went
        partial = {
            "input_tokens": call.spec.estimate.get("input_tokens", 0),
            "output_tokens": usage.streamed_tokens,
        }
        call.settle(None, usage.model, usage=partial, service_tier=usage.service_tier)


class GuardedStream:
    def __init__(self, stream: Any, call: Guarded, usage: StreamUsage) -> None:
        self._stream, self._call, self._usage = stream, call, usage
        self._iterator = iter(stream)

    def __iter__(self) -> GuardedStream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._iterator)
        except StopIteration:
            _finish(self._call, self._usage, complete=True)
            raise
        except BaseException:
            _finish(self._call, self._usage, complete=False)
            raise
        self._usage.chunks += 1
        self._usage.observe(chunk, self._usage)
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        finally:
            _finish(self._call, self._usage, complete=False)

    def __enter__(self) -> GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._call.done:
            _finish(self._call, self._usage, complete=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class AsyncGuardedStream:
    def __init__(self, stream: Any, call: Guarded, usage: StreamUsage) -> None:
        self._stream, self._call, self._usage = stream, call, usage
        self._iterator = stream.__aiter__()

    def __aiter__(self) -> AsyncGuardedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._iterator.__anext__()
        except StopAsyncIteration:
            await asyncio.to_thread(_finish, self._call, self._usage, True)
            raise
        except BaseException:  # cancellation included: settle, then let it through
            await asyncio.shield(asyncio.to_thread(_finish, self._call, self._usage, False))
            raise
        self._usage.chunks += 1
        self._usage.observe(chunk, self._usage)
        return chunk

    async def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                await close()
        finally:
            await asyncio.to_thread(_finish, self._call, self._usage, False)

    aclose = close

    async def __aenter__(self) -> AsyncGuardedStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __del__(self) -> None:
        if self._call.done:
            return
        # no loop to await on in a finalizer: settle from a thread of its own
        threading.Thread(target=_finish, args=(self._call, self._usage, False), daemon=True).start()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
