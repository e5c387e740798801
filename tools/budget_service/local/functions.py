"""The template's functions, loaded from their ``CodeUri`` and ``Handler`` with the environment
the template gives them, and invoked one event at a time (as one Lambda instance would)."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.templates.model import PROJECT_ROOT, resources
from budget_service.templates.provision import CreatedResource, resolve


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str  # module.function
    environment: dict[str, Any]
    events: dict[str, dict[str, Any]]
    timeout_seconds: int
    memory_mb: int
    runtime: str = ""  # the template's Runtime, e.g. python3.12


def function_specs(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function with the template's Globals applied."""
    globals_ = template.get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    specs = {}
    for function in resources(dict(template), "AWS::Serverless::Function"):
        props = function.properties
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        specs[function.logical_id] = FunctionSpec(
            logical_id=function.logical_id,
            code_uri=str(props["CodeUri"]),
            handler=str(props["Handler"]),
            environment=env,
            events={name: dict(e) for name, e in props.get("Events", {}).items()},
            timeout_seconds=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            runtime=str(props.get("Runtime", globals_.get("Runtime", ""))),
        )
    return specs


def layer_paths(template: Mapping[str, Any], base: Path = PROJECT_ROOT) -> list[str]:
    return [
        str(base / str(layer.properties["ContentUri"]))
        for layer in resources(dict(template), "AWS::Serverless::LayerVersion")
    ]


def function_environment(
    spec: FunctionSpec, created: Mapping[str, CreatedResource], params: Mapping[str, Any], region: str
) -> dict[str, str]:
    return {name: str(resolve(value, created, params, region)) for name, value in spec.environment.items()}


# Lambda runs each function in its own process; here they share one, and with it Powertools'
# module-level logger and metrics. One invocation at a time keeps that shared state consistent.
ONE_INVOCATION_AT_A_TIME = threading.Lock()


class FunctionError(Exception):
    """The handler raised: Lambda reports a function error, the runner keeps serving."""


@dataclass
class LocalFunction:
    spec: FunctionSpec
    handler: Any

    def invoke(self, event: dict[str, Any]) -> Any:
        with ONE_INVOCATION_AT_A_TIME:
            context = LocalLambdaContext(
                function_name=self.spec.logical_id,
                memory_limit_in_mb=self.spec.memory_mb,
                timeout_seconds=self.spec.timeout_seconds,
            )
            try:
                return self.handler(event, context)
            except Exception as error:
                raise FunctionError(f"{self.spec.logical_id}: {type(error).__name__}: {error}") from error


def load_functions(
    template: Mapping[str, Any],
    specs: Mapping[str, FunctionSpec],
    environment: Mapping[str, str],
    base: Path = PROJECT_ROOT,
) -> dict[str, LocalFunction]:
    """Import every function's handler (``specs``, read from ``template``) with the layer and its code
    on the path. The environments of all functions are merged into this process's (their names do not
    clash, except the service name used in logs), since the handlers read them at import and at first
    use."""
    os.environ.update(environment)
    for path in [*layer_paths(template, base), *(str(base / s.code_uri) for s in specs.values())]:
        if path not in sys.path:
            sys.path.insert(0, path)
    loaded = {}
    for logical_id, spec in specs.items():
        module_name, _, attribute = spec.handler.rpartition(".")
        module = importlib.import_module(module_name)
        loaded[logical_id] = LocalFunction(spec, getattr(module, attribute))
    return loaded
