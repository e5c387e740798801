"""What a provider call may cost at most, read from the request alone, before it is made.

A hard budget must never be passed, so every figure here is an upper bound, never a guess: a
token covers at least one byte of UTF-8 text with the tokenizers in use, so a prompt's bytes bound
its tokens; each message adds a few tokens of framing; an image counts as many tokens as the
dearest image the provider bills; the output is the request's own cap (``max_tokens``,
``max_completion_tokens``, ``max_output_tokens``) times ``n``, or ``DEFAULT_MAX_OUTPUT_TOKENS`` when
it sets none. The hold is settled to the real cost as soon as the call returns, so the bound only
has to be safe, not close.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_MAX_OUTPUT_TOKENS = 32_768  # a request with no output cap: long enough for today's models
MESSAGE_FRAMING_TOKENS = 16  # role and separators of one message, generously
# The dearest single image a provider bills as input: OpenAI's small models count an image 33x
# (gpt-4o-mini, 2,833 + 5,667 per tile); the others stay under ~1,600 tokens per image.
IMAGE_TOKENS = 2_000
SMALL_MODEL_IMAGE_TOKENS = 50_000
DOCUMENT_TOKENS = 200_000  # a PDF given whole: up to 100 pages of text and page images


def text_tokens(value: Any) -> int:
    """An upper bound on the tokens of a value's text (strings as UTF-8 bytes, the rest as JSON)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, default=str).encode())


def image_tokens(model: str | None) -> int:
    small = model is not None and any(part in model for part in ("mini", "nano"))
    return SMALL_MODEL_IMAGE_TOKENS if small else IMAGE_TOKENS


def content_tokens(content: Any, model: str | None) -> int:
    """A message's content: a string, or a list of parts (text, images, audio, documents, tools)."""
    if content is None or isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, Mapping):
        content = [content]
    total = 0
    for part in content if isinstance(content, Iterable) else [content]:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("image", "image_url", "input_image"):
            total += image_tokens(model)
        elif kind in ("document", "file", "input_file"):
            total += DOCUMENT_TOKENS
        elif kind in ("text", "input_text", "output_text"):
            total += text_tokens(part.get("text"))
        else:  # audio, tool calls and results, anything else: its whole JSON
            total += text_tokens(part)
    return total


def messages_tokens(messages: Any, model: str | None) -> int:
    if not messages:
        return 0
    if isinstance(messages, str):
        return text_tokens(messages) + MESSAGE_FRAMING_TOKENS
    total = 0
    for message in messages:
        if isinstance(message, Mapping):
            total += MESSAGE_FRAMING_TOKENS + content_tokens(message.get("content"), model)
            rest = {k: v for k, v in message.items() if k not in ("content", "role")}
            total += text_tokens(rest) if rest else 0
        else:
            total += MESSAGE_FRAMING_TOKENS + text_tokens(message)
    return total


def output_cap(request: Mapping[str, Any], *names: str) -> int:
    for name in names:
        value = request.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_OUTPUT_TOKENS


def choices(request: Mapping[str, Any]) -> int:
    n = request.get("n")
    return n if isinstance(n, int) and n > 0 else 1
