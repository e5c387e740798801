"""``budget-service``: the project's command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="budget-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the policy API end to end on an embedded AWS (moto) and exit")
    check = commands.add_parser("check-template", help="expand template.yaml with SAM and lint the result")
    check.add_argument("template", nargs="?", help="path of the template (default: template.yaml)")
    events = commands.add_parser(
        "make-events", help="rebuild events/usage_ingest/kinesis_*.json from the sources"
    )
    events.add_argument(
        "--restamp", action="store_true", help="move the timestamps to now (for sam local invoke)"
    )
    args = parser.parse_args(argv)

    if args.command == "demo":
        from budget_service.demo import run_demo

        return run_demo()
    if args.command == "make-events":
        from budget_service.sample_events import write_kinesis_samples

        for path in write_kinesis_samples(restamp=args.restamp):
            print(f"wrote {path}")
        return 0
    if args.command == "check-template":
        from budget_service.template_check import main as check_main

        return check_main([args.template] if args.template else [])
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
