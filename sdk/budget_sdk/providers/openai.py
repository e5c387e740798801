"""OpenAI: chat completions, responses, embeddings and image generation, sync, async and streamed."""

from __future__ import annotations

from typing import Any

from budget_sdk.estimates import choices, messages_tokens, output_cap, text_tokens
from budget_sdk.guard import SERVICE_TIERS, CallSpec, Guard, Guarded, usage_of
from budget_sdk.providers.proxy import Proxy, guarded_method, is_async_client
from budget_sdk.streams import StreamUsage


def _tier(kwargs: dict[str, Any]) -> str | None:
    tier = kwargs.get("service_tier")
    return tier if tier in SERVICE_TIERS else None


def _settle_with_usage(call: Guarded, response: Any, kwargs: dict[str, Any]) -> None:
    call.settle(
        usage_of(response),
        getattr(response, "model", None),
        service_tier=getattr(response, "service_tier", None),
    )


# -- chat completions ---------------------------------------------------------------------------


def chat_spec(kwargs: dict[str, Any]) -> CallSpec:
    model = kwargs.get("model")
    prompt = messages_tokens(kwargs.get("messages"), model)
    prompt += sum(
        text_tokens(kwargs.get(name)) for name in ("tools", "functions", "response_format", "prediction")
    )
    output = output_cap(kwargs, "max_completion_tokens", "max_tokens") * choices(kwargs)
    estimate: dict[str, Any] = {"input_tokens": prompt, "output_tokens": output}
    if "audio" in (kwargs.get("modalities") or ()):
        estimate["output_audio_tokens"] = output  # audio out is the dearest output
    return CallSpec("openai", "llm", "chat.completions", model, "chat", estimate, _tier(kwargs))


def ask_for_stream_usage(kwargs: dict[str, Any]) -> None:
    kwargs["stream_options"] = {**(kwargs.get("stream_options") or {}), "include_usage": True}


def observe_chat_chunk(chunk: Any, usage: StreamUsage) -> None:
    usage.model = getattr(chunk, "model", None) or usage.model
    usage.service_tier = getattr(chunk, "service_tier", None) or usage.service_tier
    for choice in getattr(chunk, "choices", None) or ():
        delta = getattr(choice, "delta", None)
        usage.saw_text(getattr(delta, "content", None))
    if getattr(chunk, "usage", None) is not None:
        usage.provider_usage = usage_of(chunk)


# -- responses ------------------------------------------------------------------------------------


def responses_spec(kwargs: dict[str, Any]) -> CallSpec:
    model = kwargs.get("model")
    prompt = messages_tokens(kwargs.get("input"), model) + text_tokens(kwargs.get("instructions"))
    prompt += text_tokens(kwargs.get("tools")) + text_tokens(kwargs.get("text"))
    estimate = {"input_tokens": prompt, "output_tokens": output_cap(kwargs, "max_output_tokens")}
    return CallSpec("openai", "llm", "responses", model, "responses", estimate, _tier(kwargs))


def observe_response_event(event: Any, usage: StreamUsage) -> None:
    kind = getattr(event, "type", "")
    if kind == "response.output_text.delta":
        usage.saw_text(getattr(event, "delta", None))
    elif kind in ("response.completed", "response.incomplete"):
        response = getattr(event, "response", None)
        usage.model = getattr(response, "model", None) or usage.model
        usage.service_tier = getattr(response, "service_tier", None)
        usage.provider_usage = usage_of(response)


# -- embeddings and images ---------------------------------------------------------------------------


def embeddings_spec(kwargs: dict[str, Any]) -> CallSpec:
    given = kwargs.get("input")
    if isinstance(given, list) and given and isinstance(given[0], int):
        tokens = len(given)  # already tokens
    elif isinstance(given, list) and given and isinstance(given[0], list):
        tokens = sum(len(part) for part in given)
    elif isinstance(given, list):
        tokens = sum(text_tokens(part) for part in given)
    else:
        tokens = text_tokens(given)
    return CallSpec(
        "openai", "llm", "embeddings", kwargs.get("model"), "embeddings", {"input_tokens": tokens}
    )


def images_spec(kwargs: dict[str, Any]) -> CallSpec:
    estimate = {
        "images": choices(kwargs),
        "image_size": kwargs.get("size"),
        "image_quality": kwargs.get("quality"),
    }
    estimate = {k: v for k, v in estimate.items() if v is not None}
    model = kwargs.get("model") or "dall-e-2"
    if model.startswith("gpt-image") and kwargs.get("prompt"):  # the GPT image models bill the prompt too
        estimate["input_tokens"] = text_tokens(kwargs["prompt"])
    return CallSpec("openai", "image", "images.generate", model, "images", estimate)


def settle_images(call: Guarded, response: Any, kwargs: dict[str, Any]) -> None:
    reported = usage_of(response)
    if reported:  # gpt-image-1 reports its tokens, which price the call
        call.settle(reported, kwargs.get("model"))
        return
    made = len(getattr(response, "data", None) or ()) or choices(kwargs)
    usage = {k: v for k, v in call.spec.estimate.items() if k != "input_tokens"}
    call.settle(None, kwargs.get("model"), usage={**usage, "images": made})


def guard_openai(client: Any, guard: Guard) -> GuardedOpenAI:
    return GuardedOpenAI(client, guard)


class GuardedOpenAI(Proxy):
    def __init__(self, client: Any, guard: Guard) -> None:
        is_async = is_async_client(client)

        def wrap(method: Any, spec: Any, settle: Any, observer: Any = None, prepare: Any = None) -> Any:
            return guarded_method(method, guard, spec, settle, observer, prepare, is_async)

        chat_create = wrap(
            client.chat.completions.create,
            chat_spec,
            _settle_with_usage,
            observe_chat_chunk,
            ask_for_stream_usage,
        )
        super().__init__(
            client,
            {
                "chat": Proxy(
                    client.chat, {"completions": Proxy(client.chat.completions, {"create": chat_create})}
                ),
                "responses": Proxy(
                    client.responses,
                    {
                        "create": wrap(
                            client.responses.create,
                            responses_spec,
                            _settle_with_usage,
                            observe_response_event,
                        )
                    },
                ),
                "embeddings": Proxy(
                    client.embeddings,
                    {"create": wrap(client.embeddings.create, embeddings_spec, _settle_with_usage)},
                ),
                "images": Proxy(
                    client.images, {"generate": wrap(client.images.generate, images_spec, settle_images)}
                ),
            },
        )
        self.budget_guard = guard

    def with_budget_scope(self, **scope: str) -> GuardedOpenAI:
        """The same client with another scope (user_id, team_id, api_key_id, project_id)."""
        return GuardedOpenAI(self._target, self.budget_guard.with_scope(**scope))
