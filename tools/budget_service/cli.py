"""``budget-service``: the project's command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from budget_service.local.tokens import DEFAULT_STATE_DIR
from budget_service.templates.model import TEMPLATE_PATH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="budget-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo", help="start the local stack, run the whole job against it, show it live, and exit"
    )
    local = commands.add_parser("local", help="run the whole service on this machine (no AWS, no Docker)")
    local.add_argument("--api-port", type=int, default=3000)
    local.add_argument("--aws-port", type=int, default=4566)
    local.add_argument(
        "--ready-file", type=Path, help="written (JSON) once everything is up (default: STATE_DIR/ready.json)"
    )
    local.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="holds the token signing key"
    )
    local.add_argument("--template", type=Path, default=TEMPLATE_PATH, help="the SAM template to run")
    local.add_argument("--verbose", action="store_true", help="handler logs, metrics and every API request")
    token = commands.add_parser("token", help="print a bearer token the local API accepts")
    token.add_argument("--tenant", required=True)
    token.add_argument("--roles", default="admin", help="comma-separated: admin, viewer, service")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.add_argument("--subject", default="local-user")
    token.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    simulate = commands.add_parser("simulate", help="stream realistic usage into the local stack")
    simulate.add_argument("--ready-file", type=Path, default=DEFAULT_STATE_DIR / "ready.json")
    simulate.add_argument("--rate", type=float, default=50.0, help="events per second")
    simulate.add_argument("--duration", type=float, default=10.0, help="seconds")
    simulate.add_argument("--seed", type=int, default=7)
    check = commands.add_parser("check-template", help="expand template.yaml with SAM and lint the result")
    check.add_argument("template", nargs="?", help="path of the template (default: template.yaml)")
    expand = commands.add_parser("expand-template", help="print template.yaml after the SAM transform (JSON)")
    expand.add_argument("template", nargs="?", type=Path, default=TEMPLATE_PATH)
    events = commands.add_parser(
        "make-events", help="rebuild events/usage_ingest/kinesis_*.json from the sources"
    )
    events.add_argument(
        "--restamp", action="store_true", help="move the timestamps to now (for sam local invoke)"
    )
    bytecode = commands.add_parser(
        "compile-build", help="add the runtime's bytecode to what `sam build` made (faster cold starts)"
    )
    bytecode.add_argument("--build-dir", type=Path, default=Path(".aws-sam/build"))
    bytecode.add_argument("--python", help="interpreter to compile with (default: the template's runtime)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from budget_service.demo import run_demo

        return run_demo()
    if args.command == "local":
        from budget_service.local.run import run_local
        from budget_service.local.stack import LocalConfig

        return run_local(
            LocalConfig(
                api_port=args.api_port,
                aws_port=args.aws_port,
                ready_file=args.ready_file or args.state_dir / "ready.json",
                state_dir=args.state_dir,
                verbose=args.verbose,
                template_path=args.template,
            )
        )
    if args.command == "token":
        from budget_service.local.run import print_token

        return print_token(args.tenant, args.roles, args.ttl, args.state_dir, args.subject)
    if args.command == "simulate":
        from budget_service.local.simulate import run_simulate

        return run_simulate(args.ready_file, args.rate, args.duration, args.seed)
    if args.command == "make-events":
        from budget_service.emulator.sample_events import write_kinesis_samples

        for path in write_kinesis_samples(restamp=args.restamp):
            print(f"wrote {path}")
        return 0
    if args.command == "expand-template":
        import json

        from budget_service.templates.check import expand as expand_template
        from budget_service.templates.model import load_template

        print(json.dumps(expand_template(load_template(args.template)), indent=1, default=str))
        return 0
    if args.command == "compile-build":
        from budget_service.build.bytecode import (
            BytecodeError,
            built_artifacts,
            compile_artifacts,
            runtime_interpreter,
        )
        from budget_service.templates.model import load_template

        template = load_template()
        try:
            runtime = runtime_interpreter(template)
            interpreter = args.python or runtime
            count = compile_artifacts(built_artifacts(template, args.build_dir), interpreter, runtime)
        except BytecodeError as error:
            print(f"compile-build: {error}", file=sys.stderr)
            return 2
        print(f"compiled {count} modules in {args.build_dir} with {interpreter}")
        return 0
    if args.command == "check-template":
        from budget_service.templates.check import main as check_main

        return check_main([args.template] if args.template else [])
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
