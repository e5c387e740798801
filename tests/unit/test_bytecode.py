"""`budget-service compile-build`: the artifacts of `sam build` get bytecode Lambda can use."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.util import cache_from_source
from pathlib import Path

import pytest

from budget_service.build.bytecode import (
    BytecodeError,
    built_artifacts,
    compile_artifacts,
    runtime_interpreter,
)
from budget_service.cli import main
from budget_service.local.functions import function_specs
from budget_service.templates.model import PROJECT_ROOT, load_template

CHECKED_HASH_FLAGS = 0b11  # PEP 552: hash-based, checked against the source on import
SOURCES_ONLY = shutil.ignore_patterns("__pycache__")  # what sam build copies: no bytecode
THIS_PYTHON = f"python{sys.version_info[0]}.{sys.version_info[1]}"  # the runtime, in these tests


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    """The layout `sam build` makes: one directory per function (its CodeUri) and per layer."""
    build = tmp_path / "build"
    for spec in function_specs(load_template()).values():
        shutil.copytree(PROJECT_ROOT / spec.code_uri, build / spec.logical_id, ignore=SOURCES_ONLY)
    shutil.copytree(PROJECT_ROOT / "layers" / "domain", build / "DomainLayer" / "python", ignore=SOURCES_ONLY)
    return build


def test_every_module_of_every_function_and_layer_gets_bytecode(build_dir: Path) -> None:
    # Given a build as sam build leaves it: sources only
    assert not list(build_dir.rglob("*.pyc"))
    # When it is compiled with the interpreter of the runtime (this one, in the test)
    count = compile_artifacts(built_artifacts(load_template(), build_dir), sys.executable, THIS_PYTHON)
    # Then every source has its bytecode, checked by hash (zip extraction changes mtimes)
    sources = list(build_dir.rglob("*.py"))
    assert count == len(sources) > 50
    for source in sources:
        pyc = Path(cache_from_source(str(source)))
        assert pyc.is_file(), source
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == CHECKED_HASH_FLAGS, source


def test_the_bytecode_is_used_where_nothing_can_be_written(build_dir: Path) -> None:
    # Given a compiled build
    compile_artifacts(built_artifacts(load_template(), build_dir), sys.executable, THIS_PYTHON)
    # When a handler is imported from it with writes off, as on Lambda's read-only file system
    environment = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(build_dir / "DomainLayer" / "python"), str(build_dir / "AlertFunction")]
        ),
    }
    completed = subprocess.run(
        [sys.executable, "-P", "-v", "-c", "import alerts_app"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    # Then the handler and the domain layer load from the shipped bytecode, not from compiling sources
    loaded = {line.split("'")[1] for line in completed.stderr.splitlines() if "code object from" in line}
    for source in (
        build_dir / "AlertFunction" / "alerts_app.py",
        build_dir / "DomainLayer" / "python" / "budget_core" / "domain" / "alerts" / "rules.py",
    ):
        assert cache_from_source(str(source)) in loaded


def test_a_build_that_was_not_made_is_named(tmp_path: Path) -> None:
    # Given no sam build output / When compile-build runs / Then it stops, naming what is missing
    with pytest.raises(BytecodeError, match="PolicyApiFunction"):
        built_artifacts(load_template(), tmp_path / "nothing")
    assert main(["compile-build", "--build-dir", str(tmp_path / "nothing")]) == 2


def test_bytecode_comes_only_from_the_runtimes_own_python(build_dir: Path) -> None:
    # Given the template's runtime / Then that is the interpreter asked for, and a missing one stops the build
    assert runtime_interpreter(load_template()) == "python3.12"
    with pytest.raises(BytecodeError, match=r"python9\.9 is not on PATH"):
        compile_artifacts(built_artifacts(load_template(), build_dir), "python9.9", "python9.9")
    # And an interpreter of another version is refused: Lambda would ignore its bytecode
    with pytest.raises(BytecodeError, match=rf"is {THIS_PYTHON}, the functions run python3\.12"):
        compile_artifacts(built_artifacts(load_template(), build_dir), sys.executable, "python3.12")
    assert not list(build_dir.rglob("*.pyc"))
