"""A provider client (or one of its resources) with some methods guarded and the rest its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from budget_sdk.guard import CallSpec, Guard, Guarded, split_options
from budget_sdk.streams import AsyncGuardedStream, GuardedStream, StreamUsage

SpecOf = Callable[[dict[str, Any]], CallSpec]
SettleOf = Callable[[Guarded, Any, dict[str, Any]], None]
Observer = Callable[[Any, StreamUsage], None]
PrepareStream = Callable[[dict[str, Any]], None]


class Proxy:
    """``target`` with the attributes of ``overrides`` replaced; everything else passes through."""

    def __init__(self, target: Any, overrides: Mapping[str, Any]) -> None:
        self._target = target
        self._overrides = dict(overrides)

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._target, name)


def guarded_method(
    method: Callable[..., Any],
    guard: Guard,
    spec_of: SpecOf,
    settle_of: SettleOf,
    observer: Observer | None = None,
    prepare_stream: PrepareStream | None = None,
    is_async: bool = False,
) -> Callable[..., Any]:
    """``method`` held against the budget: reserve before, settle (or release) after."""

    def start(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
        kwargs, options = split_options(kwargs)
        streaming = bool(kwargs.get("stream")) and observer is not None
        if streaming and prepare_stream is not None:
            prepare_stream(kwargs)
        return kwargs, options, streaming

    def call_sync(*args: Any, **kwargs: Any) -> Any:
        kwargs, options, streaming = start(kwargs)
        call = guard.begin(spec_of(kwargs), options)
        try:
            response = method(*args, **kwargs)
        except BaseException:
            call.release()
            raise
        if streaming:
            assert observer is not None
            return GuardedStream(response, call, StreamUsage(observer))
        settle_of(call, response, kwargs)
        return response

    async def call_async(*args: Any, **kwargs: Any) -> Any:
        kwargs, options, streaming = start(kwargs)
        call = await guard.begin_async(spec_of(kwargs), options)
        try:
            response = await method(*args, **kwargs)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(call.release))
            raise
        if streaming:
            assert observer is not None
            return AsyncGuardedStream(response, call, StreamUsage(observer))
        await asyncio.to_thread(settle_of, call, response, kwargs)
        return response

    return call_async if is_async else call_sync


def is_async_client(client: Any) -> bool:
    return type(client).__name__.startswith("Async")
