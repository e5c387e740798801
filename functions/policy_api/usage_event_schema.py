"""The usage event's JSON schema for the OpenAPI document, made only when the document is.

Routes that take usage events read them as plain objects (``POST /v1/usage`` validates each event
on its own, so one bad event does not refuse the batch; a settle adds the tenant and reservation
before validating), and document them with the usage event's own schema, self-contained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def documented_usage_event(optional: tuple[str, ...], description: str) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` that documents a body as the usage event, with ``optional`` fields
    not required (the service sets them) and its definitions inlined."""

    def document(schema: dict[str, Any]) -> None:
        from budget_core.domain.usage.event import UsageEvent

        event_schema = UsageEvent.model_json_schema()
        definitions = event_schema.pop("$defs", {})

        def inline(node: Any) -> Any:
            if isinstance(node, dict):
                if "$ref" in node:
                    return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
                return {key: inline(value) for key, value in node.items()}
            if isinstance(node, list):
                return [inline(item) for item in node]
            return node

        documented: dict[str, Any] = inline(event_schema)
        documented["required"] = [name for name in documented.get("required", []) if name not in optional]
        documented["description"] = description
        schema.clear()
        schema.update(documented)

    return document
