"""Properties of the LiteLLM callback's figures: a hold never under-counts a call's prompt, whatever
tokenizer the model uses, and the usage it settles with always passes the service's rules."""

from __future__ import annotations

from typing import Any

import litellm
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm.types.utils import (
    CacheCreationTokenDetails,
    CompletionTokensDetailsWrapper,
    ModelResponse,
    PromptTokensDetailsWrapper,
    Usage,
)

from budget_sdk.litellm import spec_of, usage_of_response
from budget_sdk.validation import validate_usage

MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "user", "assistant"]),
        "content": st.text(max_size=1_500),  # any Unicode: CJK, emoji, combining marks
    }
)
# One model per tokenizer LiteLLM ships: o200k (gpt-4o), cl100k (gpt-4), Anthropic's own
MODELS = ["openai/gpt-4o", "openai/gpt-4", "anthropic/claude-3-5-sonnet-20240620"]


@settings(max_examples=60, deadline=None)
@given(messages=st.lists(MESSAGE, min_size=1, max_size=6), model=st.sampled_from(MODELS))
def test_a_hold_never_counts_fewer_prompt_tokens_than_the_models_tokenizer(
    messages: list[dict[str, str]], model: str
) -> None:
    # Given any chat request
    request: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": 50}
    # When the callback bounds it, and the model's own tokenizer counts it (framing included)
    spec = spec_of("completion", request)
    counted = litellm.token_counter(model=model, messages=messages)
    # Then the bound is at least the count, and the output is held at the request's cap
    assert spec is not None
    assert spec.estimate["input_tokens"] >= counted
    assert spec.estimate["output_tokens"] == 50


COUNT = st.integers(min_value=0, max_value=2_000_000)


@settings(max_examples=200, deadline=None)
@given(
    text=COUNT,
    cached=COUNT,
    five_minutes=COUNT,
    one_hour=COUNT,
    audio_in=COUNT,
    output=COUNT,
    audio_out=COUNT,
    reasoning=COUNT,
    provider=st.sampled_from(["anthropic", "openai"]),
)
def test_the_usage_settled_is_always_one_the_service_accepts(
    text: int,
    cached: int,
    five_minutes: int,
    one_hour: int,
    audio_in: int,
    output: int,
    audio_out: int,
    reasoning: int,
    provider: str,
) -> None:
    # Given a response in LiteLLM's shape: prompt tokens include cache reads and writes and audio
    writes = five_minutes + one_hour
    prompt = text + cached + writes + audio_in
    completion = output + audio_out + reasoning
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetailsWrapper(
            cached_tokens=cached,
            audio_tokens=audio_in,
            cache_creation_tokens=writes,
            cache_creation_token_details=CacheCreationTokenDetails(
                ephemeral_5m_input_tokens=five_minutes, ephemeral_1h_input_tokens=one_hour
            ),
        ),
        completion_tokens_details=CompletionTokensDetailsWrapper(
            audio_tokens=audio_out, reasoning_tokens=reasoning
        ),
    )
    response = ModelResponse(model="m", usage=usage)
    spec = spec_of("completion", {"model": f"{provider}/some-model", "messages": []})
    # When the callback reads it
    settled = usage_of_response(response, spec)
    # Then the service's rules accept it, and nothing is lost or counted twice
    assert settled is not None
    validate_usage(settled)
    assert settled["input_tokens"] == prompt
    assert settled["output_tokens"] == completion
    assert settled.get("cache_read_tokens", 0) == cached
    assert settled.get("cache_write_tokens", 0) == writes
    assert settled.get("cache_write_1h_tokens", 0) == one_hour
    assert settled.get("input_audio_tokens", 0) == audio_in
    assert settled.get("output_audio_tokens", 0) == audio_out
