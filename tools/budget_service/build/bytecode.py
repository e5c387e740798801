"""Bytecode for the artifacts `sam build` made, so Lambda does not compile our code on every cold start.

`sam build` ships sources only (its pip builder unpacks wheels, it does not compile them), and a
function's code and layers are read-only on Lambda: each new instance compiles every module it
imports (pydantic, Powertools, the domain layer), ~700 files, and throws the result away. Measured
with python3.12 on the built artifacts: 1.9-2.1x `import boto3` + a client as shipped, 1.1-1.4x
with bytecode (README "Cold start", decision log 28).

The `.pyc` files are made by the runtime's own interpreter (bytecode is per Python version), as
checked-hash files (PEP 552): valid whatever mtimes the deployment zip gives the sources, and still
recompiled if a source is edited in place. (The import system points loaded code at the file it
was found in, so tracebacks name /var/task and /opt whatever directory the build was compiled in.)
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from budget_service.local.functions import function_specs
from budget_service.templates.model import resources


@dataclass(frozen=True)
class BuiltArtifact:
    logical_id: str
    directory: Path


class BytecodeError(Exception):
    """The build cannot be compiled as Lambda will run it (no build, no interpreter, bad source)."""


def runtime_interpreter(template: Mapping[str, Any]) -> str:
    """The interpreter named by the functions' runtime (``python3.12`` for Runtime: python3.12)."""
    runtimes = {spec.runtime for spec in function_specs(template).values()}
    if len(runtimes) != 1:
        raise BytecodeError(f"expected one Python runtime for every function, found {sorted(runtimes)}")
    return runtimes.pop()


def built_artifacts(template: Mapping[str, Any], build_dir: Path) -> list[BuiltArtifact]:
    """Each function and layer of the template, as `sam build` laid them out in ``build_dir``."""
    artifacts = [
        BuiltArtifact(r.logical_id, build_dir / r.logical_id)
        for kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")
        for r in resources(dict(template), kind)
    ]
    missing = [a.logical_id for a in artifacts if not a.directory.is_dir()]
    if missing:
        raise BytecodeError(f"not built: {', '.join(missing)} (run sam build first) in {build_dir}")
    return artifacts


def compile_artifacts(artifacts: list[BuiltArtifact], interpreter: str, runtime: str) -> int:
    """Compiles every module of every artifact with ``interpreter``, which must be the ``runtime``'s
    Python (``python3.12``); returns how many .py files the artifacts hold."""
    executable = shutil.which(interpreter) or (interpreter if Path(interpreter).is_file() else None)
    if executable is None:
        raise BytecodeError(f"{interpreter} is not on PATH: bytecode must come from the runtime's version")
    version = _version_of(executable)
    if version != runtime:
        raise BytecodeError(
            f"{interpreter} is {version}, the functions run {runtime}: Lambda would ignore its bytecode"
        )
    for artifact in artifacts:
        command = [executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "checked-hash"]
        command.append(str(artifact.directory))
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode != 0:
            detail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
            raise BytecodeError(f"{artifact.logical_id} did not compile: " + " | ".join(detail))
    return sum(1 for artifact in artifacts for _ in artifact.directory.rglob("*.py"))


def _version_of(executable: str) -> str:
    probe = "import sys; print(f'python{sys.version_info[0]}.{sys.version_info[1]}')"
    completed = subprocess.run([executable, "-c", probe], capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        detail = (completed.stderr.strip().splitlines() or [f"exit code {completed.returncode}"])[0]
        raise BytecodeError(f"{executable} does not run: {detail}")
    return completed.stdout.strip()
