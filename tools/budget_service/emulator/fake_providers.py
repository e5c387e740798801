"""A fake OpenAI and Anthropic on loopback, answering with the providers' recorded response shapes
(JSON and SSE streams), so the real ``openai`` and ``anthropic`` packages can be driven end to end.

Each answer's usage is fixed, so each call has a golden cost (list prices in the tests). A model
name can ask for a failure: ``fail-*`` answers 500; ``cut-*`` streams two chunks and drops the
connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
RESPONSES_USAGE = {
    "input_tokens": 2000,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 500,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 2500,
}
EMBEDDING_USAGE = {"prompt_tokens": 8000, "total_tokens": 8000}
ANTHROPIC_USAGE = {
    "input_tokens": 1000,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 50_000,
    "output_tokens": 2000,
}


def _chat(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1764756000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the fake provider.", "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": CHAT_USAGE,
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def _chat_chunks(model: str, with_usage: bool) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1764756000, "model": model}
    for word in ("Hello", " from", " the", " fake", " provider."):
        yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    if with_usage:
        yield {**base, "choices": [], "usage": CHAT_USAGE}


def _response(model: str) -> dict[str, Any]:
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1764756000,
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello.", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSES_USAGE,
    }


def _response_events(model: str) -> Iterator[dict[str, Any]]:
    done = _response(model)
    yield {
        "type": "response.created",
        "sequence_number": 0,
        "response": {**done, "status": "in_progress", "usage": None, "output": []},
    }
    for index, word in enumerate(("Hel", "lo.")):
        yield {
            "type": "response.output_text.delta",
            "sequence_number": index + 1,
            "item_id": "msg_fake",
            "output_index": 0,
            "content_index": 0,
            "delta": word,
            "logprobs": [],
        }
    yield {"type": "response.completed", "sequence_number": 3, "response": done}


def _message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello from the fake provider."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }


def _message_events(model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    start = {
        **_message(model),
        "content": [],
        "stop_reason": None,
        "usage": {**ANTHROPIC_USAGE, "output_tokens": 1},
    }
    yield "message_start", {"type": "message_start", "message": start}
    yield (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    for word in ("Hello", " there."):
        yield (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}},
        )
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": ANTHROPIC_USAGE["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}


class FakeProviders:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []  # every request the "provider" saw
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as separate writes: with Nagle on, each keep-alive answer
            # waited ~40 ms for the client's delayed ACK
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                fake.calls.append({"path": self.path, "body": body})
                model = str(body.get("model", ""))
                if model.startswith("fail-"):
                    self._json(
                        500, {"error": {"message": "the fake provider failed", "type": "server_error"}}
                    )
                    return
                path = self.path.split("?")[0]
                if path.endswith("/chat/completions"):
                    if body.get("stream"):
                        usage = bool((body.get("stream_options") or {}).get("include_usage"))
                        self._sse(((None, c) for c in _chat_chunks(model, usage)), model, done_marker=True)
                    else:
                        self._json(200, _chat(model))
                elif path.endswith("/responses"):
                    if body.get("stream"):
                        self._sse(((e["type"], e) for e in _response_events(model)), model)
                    else:
                        self._json(200, _response(model))
                elif path.endswith("/embeddings"):
                    data = [{"object": "embedding", "index": 0, "embedding": [0.0, 0.1]}]
                    self._json(
                        200, {"object": "list", "data": data, "model": model, "usage": EMBEDDING_USAGE}
                    )
                elif path.endswith("/images/generations"):
                    images = [
                        {"url": "https://example.com/image.png"} for _ in range(int(body.get("n") or 1))
                    ]
                    self._json(200, {"created": 1764756000, "data": images})
                elif path.endswith("/messages"):
                    if body.get("stream"):
                        self._sse(_message_events(model), model)
                    else:
                        self._json(200, _message(model))
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, events: Any, model: str, done_marker: bool = False) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                for index, (name, payload) in enumerate(events):
                    if model.startswith("cut-") and index == 2:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # the connection drops mid-stream
                        return
                    prefix = f"event: {name}\n" if name else ""
                    self.wfile.write(f"{prefix}data: {json.dumps(payload)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.001)
                if done_marker:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
