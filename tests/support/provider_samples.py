"""The recorded provider responses of events/usage_ingest/provider_usage and their golden figures."""

from __future__ import annotations

from budget_service.emulator.sample_events import EVENTS_DIR

SAMPLES = EVENTS_DIR / "usage_ingest" / "provider_usage"

# golden figure, and where its list prices come from (each read 2026-12-03)
GOLDEN: dict[str, tuple[str, str]] = {
    # 176 new input at $2.50, 1,024 cached at $1.25, 300 output at $10 per MTok
    "openai_chat.json": ("0.00472", "openai.com/api/pricing, gpt-4o"),
    # 904 new at $1.25, 4,096 cached at $0.125, 800 output (512 of it reasoning) at $10 per MTok
    "openai_responses.json": ("0.009642", "openai.com/api/pricing, gpt-5"),
    "openai_embeddings.json": ("0.00016", "openai.com/api/pricing, text-embedding-3-small $0.02/MTok"),
    # 50 text input at $5, 4,160 image output tokens at $40 per MTok
    "openai_images.json": ("0.16665", "openai.com/api/pricing, gpt-image-1"),
    # Anthropic's input_tokens excludes the 50k cache reads and the 10k cache writes (4k 5-minute
    # at $3.75, 6k 1-hour at $6); $3 in, $0.30 cache read, $15 out per MTok
    "anthropic_messages.json": ("0.099", "anthropic.com/pricing, Claude Sonnet 4.5"),
    # thoughts are output: 2,300 output at $10, 12,000 input at $1.25 per MTok
    "gemini_generate_content.json": ("0.038", "ai.google.dev/gemini-api/docs/pricing, Gemini 2.5 Pro"),
    # Bedrock's in-region Sonnet 4.5 rates (10 % over Anthropic's): $3.30 in, $0.33 cache read,
    # $4.125 5-minute and $6.60 1-hour writes, $16.50 out per MTok
    "bedrock_converse.json": ("0.1089", "aws.amazon.com/bedrock/pricing, Claude Sonnet 4.5 in region"),
}
