"""Cold start benchmark of the template's functions, printed as JSON (run: `python bench/cold_start.py`).

- What is measured: the init phase our code controls, i.e. importing each AWS::Serverless::Function's
  handler module and looking up its handler, in a fresh Python process (nothing cached in memory;
  the bytecode and the OS file cache are warm after one discarded warm-up run of each). The child
  process gets PYTHONPATH = the DomainLayer + the function's CodeUri and an environment like
  Lambda's: the template's variables (placeholders for !Ref/!GetAtt of resources, defaults for
  parameters), a region, fake credentials and no shared config files. Interpreter start-up and the
  harness's own stdlib modules (json, socket, importlib, time) are left out of every measurement.
- No network: the child replaces socket connect/getaddrinfo with a refusal before the timed import,
  so an init that calls AWS fails loudly and shows up under "errors"/"network_calls".
- Baseline: `import boto3` plus one `boto3.client("dynamodb")` in a fresh process, the least any of
  our functions could cost. Machines (laptops, CI runners) are noisy and differ by a factor of
  several, so the target is a ratio to this baseline measured in the same run with the same number
  of processes, rounds interleaved in shuffled order so that drift hits every target alike
  (target: median at most 1.3x the baseline median).
- For each function over target, one extra child run with `-X importtime` lists the 15 modules with
  the largest cumulative import time: the candidates to import lazily.
- A handler module that loads its routes by group (`ROUTE_GROUPS`, decision log 27) is also measured
  once per group as init plus that group's loading: what a cold request to one of its routes pays
  before the route runs (reported apart, under "first_request_by_route_group").
- `--build-dir .aws-sam/build --python python3.12 --runtime-path DIR` measures what `sam build` made
  instead, with the runtime's interpreter and nothing written (PYTHONDONTWRITEBYTECODE, as on Lambda's
  read-only code): as sam build ships it, every module compiles on every cold start; after
  `budget-service compile-build` (part of `make build`) the shipped bytecode is used. DIR holds what
  the Lambda runtime provides (`python3.12 -m pip install --target DIR boto3`).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import random
import statistics
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools")]
REGION = "eu-west-1"
TARGET_RATIO = 1.3
TOP_MODULES = 15
CHILD_TIMEOUT_SECONDS = 120
BASELINE = "baseline"
RESULT_PREFIX = "COLD_START_RESULT "
IMPORTTIME_MARKER = "COLD_START_TIMED_IMPORT_BEGINS"
BENCHMARK = "cold start (handler module import in a fresh process)"

# Placeholders for environment variables whose template value refers to a resource (!Ref/!GetAtt).
PLACEHOLDERS = {
    "TABLE_NAME": "bench-table",
    "EVENT_BUS_NAME": "bench-bus",
    "ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:t",
    "ALERT_DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/q",
    "USAGE_DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/q",
    "USAGE_STREAM_NAME": "s",
}

# Runs in the fresh process: argv = [mode, handler, route group or ""]; prints one result line on stdout.
CHILD_CODE = f"""
import importlib, json, socket, sys, time

network_calls = []

def _refuse(*args, **kwargs):
    network_calls.append(repr(args[1:3] if args and isinstance(args[0], socket.socket) else args[:2]))
    raise OSError("cold start bench: network access during init")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
socket.create_connection = _refuse
mode, handler, route_group = sys.argv[1], sys.argv[2], sys.argv[3]
sys.stderr.write({IMPORTTIME_MARKER!r} + "\\n")
sys.stderr.flush()
error = None
start = time.perf_counter()
try:
    if mode == {BASELINE!r}:
        import boto3
        boto3.client("dynamodb")
    else:
        module, _, attr = handler.rpartition(".")
        loaded = importlib.import_module(module)
        getattr(loaded, attr)
        if route_group:
            loaded.include_route_group(route_group)
except Exception as exc:
    error = f"{{type(exc).__name__}}: {{exc}}"
elapsed = time.perf_counter() - start
sys.stdout.write({RESULT_PREFIX!r} + json.dumps(
    {{"seconds": elapsed, "error": error, "network_calls": network_calls}}) + "\\n")
"""


@dataclass(frozen=True)
class Target:
    name: str
    handler: str
    code_uri: str
    environment: dict[str, str]
    python_path: str
    route_group: str = ""  # measured after the handler module: its first request's imports


@dataclass
class ChildResult:
    seconds: float | None
    error: str | None
    network_calls: list[str]


def _value(variable: str, value: Any, parameters: dict[str, Any]) -> str:
    """A variable as deployed with the parameters' defaults; a placeholder where it names a resource."""
    from budget_service.templates.provision import resolve

    try:
        return str(resolve(value, {}, parameters, REGION))
    except KeyError:
        return PLACEHOLDERS.get(variable, f"bench-{variable.lower().replace('_', '-')}")


def _base_environment(sources: Sources) -> dict[str, str]:
    """What every child gets, the baseline included: a region, fake credentials, no config files."""
    read_only = {"PYTHONDONTWRITEBYTECODE": "1"} if sources.build_dir else {}
    return read_only | {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_METRICS_NAMESPACE": "BudgetService",
        "PYTHONIOENCODING": "utf-8",
    }


@dataclass(frozen=True)
class Sources:
    """Where the children import from: this checkout, or the artifacts of `sam build`."""

    python: str = sys.executable
    build_dir: Path | None = None
    runtime_path: str | None = None

    def code(self, logical_id: str, code_uri: str) -> str:
        return str(self.build_dir / logical_id if self.build_dir else ROOT / code_uri)

    def layer(self) -> str:
        built = self.build_dir / "DomainLayer" / "python" if self.build_dir else None
        return str(built or ROOT / "layers" / "domain")

    def path(self, *entries: str) -> str:
        return os.pathsep.join([*entries, *([self.runtime_path] if self.runtime_path else [])])


def _targets(sources: Sources) -> list[Target]:
    from budget_service.local.functions import function_specs
    from budget_service.templates.model import load_template
    from budget_service.templates.provision import parameter_values

    template = load_template()
    parameters = parameter_values(template)
    layer = sources.layer()
    targets = [Target(BASELINE, "boto3.client", "", _base_environment(sources), sources.path(layer))]
    for spec in function_specs(template).values():
        environment = _base_environment(sources)
        environment.update(
            {name: _value(name, value, parameters) for name, value in spec.environment.items()}
        )
        environment["AWS_LAMBDA_FUNCTION_NAME"] = spec.logical_id
        environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(spec.memory_mb)
        python_path = sources.path(layer, sources.code(spec.logical_id, spec.code_uri))
        target = Target(spec.logical_id, spec.handler, spec.code_uri, environment, python_path)
        targets.append(target)
        module_file = ROOT / spec.code_uri / (spec.handler.rpartition(".")[0] + ".py")
        for group in _route_groups(module_file):
            targets.append(replace(target, name=f"{spec.logical_id} + {group}", route_group=group))
    return targets


def _route_groups(module_file: Path) -> list[str]:
    """The distinct values of a module-level ``ROUTE_GROUPS`` dict literal, if the module has one."""
    for node in ast.parse(module_file.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            names = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(n, ast.Name) and n.id == "ROUTE_GROUPS" for n in names) and node.value:
                return sorted(set(ast.literal_eval(node.value).values()))
    return []


def _run_child(target: Target, python: str, importtime: bool = False) -> tuple[ChildResult, str]:
    """One fresh interpreter; returns its result and its stderr."""
    command = [python, "-P", *(["-X", "importtime"] if importtime else [])]
    mode = "baseline" if target.name == BASELINE else "function"
    command += ["-c", CHILD_CODE, mode, target.handler, target.route_group]
    environment = {**target.environment, "PYTHONPATH": target.python_path}
    try:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and code
            command,
            env=environment,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ChildResult(None, f"timed out after {CHILD_TIMEOUT_SECONDS} s", []), ""
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            answer = json.loads(line[len(RESULT_PREFIX) :])
            seconds = None if answer["error"] else float(answer["seconds"])
            return ChildResult(seconds, answer["error"], list(answer["network_calls"])), completed.stderr
    tail = completed.stderr.strip().splitlines()[-1:] or [f"exit code {completed.returncode}"]
    return ChildResult(None, f"no result from the child: {tail[0]}", []), completed.stderr


def _top_imports(stderr: str, count: int = TOP_MODULES) -> list[dict[str, Any]]:
    """The modules with the largest cumulative time in `-X importtime` output after the marker."""
    _, found, timed = stderr.partition(IMPORTTIME_MARKER)
    if not found:
        return []
    rows: list[dict[str, Any]] = []
    for line in timed.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
            self_time, cumulative = int(self_us), int(cumulative_us)
        except ValueError:
            continue
        name = name[1:] if name.startswith(" ") else name
        rows.append(
            {
                "module": name.strip(),
                "depth": (len(name) - len(name.lstrip(" "))) // 2,
                "cumulative_ms": round(cumulative / 1000, 1),
                "self_ms": round(self_time / 1000, 1),
            }
        )
    rows.sort(key=lambda row: float(row["cumulative_ms"]), reverse=True)
    return rows[:count]


def _median_ms(samples: list[float]) -> float | None:
    return round(statistics.median(samples) * 1000, 1) if samples else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per function and baseline")
    parser.add_argument("--seed", type=int, default=None, help="seed of the shuffled order of each round")
    parser.add_argument("--build-dir", type=Path, help="measure these sam build artifacts instead")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the children")
    parser.add_argument("--runtime-path", help="what the Lambda runtime provides (boto3), for --build-dir")
    args = parser.parse_args(argv)
    sources = Sources(args.python, args.build_dir, args.runtime_path)
    try:
        report = _measure(max(1, args.runs), args.seed, sources)
    except Exception as error:  # a benchmark reports, it does not fail the build
        report = {"benchmark": BENCHMARK, "error": f"{type(error).__name__}: {error}"}
    print(json.dumps(report, indent=2))
    return 0


def _measure(runs: int, seed: int | None, sources: Sources) -> dict[str, Any]:
    targets = _targets(sources)
    samples: dict[str, list[float]] = {target.name: [] for target in targets}
    errors: dict[str, list[str]] = {}
    network_calls: dict[str, list[str]] = {}

    def record(target: Target, result: ChildResult) -> None:
        if result.error and result.error not in errors.get(target.name, []):
            errors.setdefault(target.name, []).append(result.error)
        for call in result.network_calls:
            if call not in network_calls.get(target.name, []):
                network_calls.setdefault(target.name, []).append(call)

    for target in targets:  # warm-up: bytecode compiled, files in the OS cache; not counted
        record(target, _run_child(target, sources.python)[0])
    order = random.Random(seed)
    for _ in range(runs):
        round_targets = list(targets)
        order.shuffle(round_targets)
        for target in round_targets:
            result, _ = _run_child(target, sources.python)
            record(target, result)
            if result.seconds is not None:
                samples[target.name].append(result.seconds)

    baseline_ms = _median_ms(samples[BASELINE])
    functions: dict[str, dict[str, Any]] = {}
    first_requests: dict[str, dict[str, Any]] = {}
    for target in targets[1:]:
        median_ms = _median_ms(samples[target.name])
        ratio = round(median_ms / baseline_ms, 2) if median_ms is not None and baseline_ms else None
        figures = {
            "samples": len(samples[target.name]),
            "median_ms": median_ms,
            "min_ms": round(min(samples[target.name]) * 1000, 1) if samples[target.name] else None,
            "ratio_to_baseline": ratio,
        }
        if target.route_group:
            function = target.name.split(" + ")[0]
            first_requests.setdefault(function, {})[target.route_group] = figures
        else:
            functions[target.name] = {"handler": target.handler, "code_uri": target.code_uri, **figures}
    within = {
        name: result["ratio_to_baseline"] is not None and result["ratio_to_baseline"] <= TARGET_RATIO
        for name, result in functions.items()
    }
    by_name = {target.name: target for target in targets}
    top_imports = {
        name: _top_imports(_run_child(by_name[name], sources.python, importtime=True)[1])
        for name, ok in within.items()
        if not ok and samples[name]
    }
    report: dict[str, Any] = {
        "benchmark": BENCHMARK,
        "python": platform.python_version() if sources.python == sys.executable else sources.python,
        "measured": str(sources.build_dir) if sources.build_dir else "this checkout (bytecode warm)",
        "runs": runs,
        "baseline": {
            "what": 'import boto3; boto3.client("dynamodb")',
            "samples": len(samples[BASELINE]),
            "median_ms": baseline_ms,
            "min_ms": round(min(samples[BASELINE]) * 1000, 1) if samples[BASELINE] else None,
        },
        "functions": functions,
        "targets": {"ratio_to_baseline": TARGET_RATIO},
        "within_targets": within,
        # Init plus the loading of one route group: the imports a cold request to that group waits for.
        "first_request_by_route_group": first_requests,
        # One -X importtime run each. Cumulative includes the module's own imports; depth 0 is a module
        # the handler module imports itself (which -X importtime leaves out: importlib loads it).
        "top_imports_by_cumulative_ms": top_imports,
        "errors": errors,
        "network_calls": network_calls,
    }
    return report


if __name__ == "__main__":
    raise SystemExit(main())
