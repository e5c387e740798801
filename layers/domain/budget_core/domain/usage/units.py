"""Every usage key the price catalogue (genai-prices) knows, each with the keys it is part of.

A key is a part of each of its ancestors (``cache_write_1h_tokens`` of ``cache_write_tokens`` and
``input_tokens``), so an event can never report more of a part than of its whole. Copied from the
catalogue (0.2.3) rather than imported: the API validates events without loading the catalogue
(a third of a second of cold start). A unit test holds this table equal to the catalogue's.
"""

from __future__ import annotations

USAGE_KEY_ANCESTORS: dict[str, tuple[str, ...]] = {
    "input_tokens": (),
    "output_tokens": (),
    "cache_read_tokens": ("input_tokens",),
    "cache_write_tokens": ("input_tokens",),
    "cache_write_5m_tokens": ("cache_write_tokens", "input_tokens"),
    "cache_write_1h_tokens": ("cache_write_tokens", "input_tokens"),
    "input_text_tokens": ("input_tokens",),
    "output_text_tokens": ("output_tokens",),
    "cache_text_read_tokens": ("cache_read_tokens", "input_text_tokens", "input_tokens"),
    "cache_text_write_tokens": ("cache_write_tokens", "input_text_tokens", "input_tokens"),
    "cache_text_write_5m_tokens": (
        "cache_text_write_tokens",
        "cache_write_5m_tokens",
        "cache_write_tokens",
        "input_text_tokens",
        "input_tokens",
    ),
    "cache_text_write_1h_tokens": (
        "cache_text_write_tokens",
        "cache_write_1h_tokens",
        "cache_write_tokens",
        "input_text_tokens",
        "input_tokens",
    ),
    "input_audio_tokens": ("input_tokens",),
    "output_audio_tokens": ("output_tokens",),
    "cache_audio_read_tokens": ("cache_read_tokens", "input_audio_tokens", "input_tokens"),
    "cache_audio_write_tokens": ("cache_write_tokens", "input_audio_tokens", "input_tokens"),
    "cache_audio_write_5m_tokens": (
        "cache_audio_write_tokens",
        "cache_write_5m_tokens",
        "cache_write_tokens",
        "input_audio_tokens",
        "input_tokens",
    ),
    "cache_audio_write_1h_tokens": (
        "cache_audio_write_tokens",
        "cache_write_1h_tokens",
        "cache_write_tokens",
        "input_audio_tokens",
        "input_tokens",
    ),
    "input_image_tokens": ("input_tokens",),
    "output_image_tokens": ("output_tokens",),
    "cache_image_read_tokens": ("cache_read_tokens", "input_image_tokens", "input_tokens"),
    "cache_image_write_tokens": ("cache_write_tokens", "input_image_tokens", "input_tokens"),
    "cache_image_write_5m_tokens": (
        "cache_image_write_tokens",
        "cache_write_5m_tokens",
        "cache_write_tokens",
        "input_image_tokens",
        "input_tokens",
    ),
    "cache_image_write_1h_tokens": (
        "cache_image_write_tokens",
        "cache_write_1h_tokens",
        "cache_write_tokens",
        "input_image_tokens",
        "input_tokens",
    ),
    "input_video_tokens": ("input_tokens",),
    "output_video_tokens": ("output_tokens",),
    "cache_video_read_tokens": ("cache_read_tokens", "input_tokens", "input_video_tokens"),
    "cache_video_write_tokens": ("cache_write_tokens", "input_tokens", "input_video_tokens"),
    "cache_video_write_5m_tokens": (
        "cache_video_write_tokens",
        "cache_write_5m_tokens",
        "cache_write_tokens",
        "input_tokens",
        "input_video_tokens",
    ),
    "cache_video_write_1h_tokens": (
        "cache_video_write_tokens",
        "cache_write_1h_tokens",
        "cache_write_tokens",
        "input_tokens",
        "input_video_tokens",
    ),
    "input_tool_tokens": ("input_tokens",),
    "input_text_tool_tokens": ("input_text_tokens", "input_tokens", "input_tool_tokens"),
    "input_audio_tool_tokens": ("input_audio_tokens", "input_tokens", "input_tool_tokens"),
    "input_image_tool_tokens": ("input_image_tokens", "input_tokens", "input_tool_tokens"),
    "input_video_tool_tokens": ("input_tokens", "input_tool_tokens", "input_video_tokens"),
    "output_reasoning_tokens": ("output_tokens",),
    "output_text_reasoning_tokens": ("output_reasoning_tokens", "output_text_tokens", "output_tokens"),
    "output_audio_reasoning_tokens": ("output_audio_tokens", "output_reasoning_tokens", "output_tokens"),
    "output_image_reasoning_tokens": ("output_image_tokens", "output_reasoning_tokens", "output_tokens"),
    "output_video_reasoning_tokens": ("output_reasoning_tokens", "output_tokens", "output_video_tokens"),
    "output_citation_tokens": ("output_tokens",),
    "output_text_citation_tokens": ("output_citation_tokens", "output_text_tokens", "output_tokens"),
    "output_audio_citation_tokens": ("output_audio_tokens", "output_citation_tokens", "output_tokens"),
    "output_image_citation_tokens": ("output_citation_tokens", "output_image_tokens", "output_tokens"),
    "output_video_citation_tokens": ("output_citation_tokens", "output_tokens", "output_video_tokens"),
    "input_characters": (),
    "input_text_messages": (),
    "audio_seconds": (),
    "input_audio_seconds": ("audio_seconds",),
    "output_audio_seconds": ("audio_seconds",),
    "input_pixels": (),
    "input_document_pages": (),
    "input_annotated_document_pages": ("input_document_pages",),
    "rerank_searches": (),
    "web_searches": (),
    "social_searches": (),
    "storage_searches": (),
    "code_executions": (),
}

# Durations may be fractional; every other unit is a whole count.
FRACTIONAL_KEYS: frozenset[str] = frozenset({"audio_seconds", "input_audio_seconds", "output_audio_seconds"})

# The catalogue's price keys and the usage key each prices: what a tenant's own rates for a private
# model are written in (``input_mtok`` per million input tokens, ``audio_hours`` per hour of
# ``audio_seconds``, ``input_mchars`` per million characters...). Held equal to the catalogue by
# the same test.
PRICE_KEY_UNITS: dict[str, str] = {
    **{f"{key.removesuffix('_tokens')}_mtok": key for key in USAGE_KEY_ANCESTORS if key.endswith("_tokens")},
    "audio_hours": "audio_seconds",
    "input_audio_hours": "input_audio_seconds",
    "output_audio_hours": "output_audio_seconds",
    "input_mchars": "input_characters",
    "input_text_messages_kcount": "input_text_messages",
    "input_gpixels": "input_pixels",
    "input_document_kpages": "input_document_pages",
    "input_annotated_document_kpages": "input_annotated_document_pages",
    "rerank_searches_kcount": "rerank_searches",
    "web_searches_kcount": "web_searches",
    "social_searches_kcount": "social_searches",
    "storage_searches_kcount": "storage_searches",
    "code_executions_kcount": "code_executions",
}
