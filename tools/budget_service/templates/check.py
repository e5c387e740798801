"""Template check: expand the SAM template with aws-sam-translator, then lint the result.

cfn-lint alone does not see mistakes inside SAM event sources (``FunctionResponseTypes:
[ReportBatchItemFailure]``, a ``BatchSize`` out of range), because those only become real
CloudFormation properties after the SAM transform. Linting the expanded template catches them.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from budget_service.templates.model import TEMPLATE_PATH, load_template

LINT_REGION = "eu-west-1"
_PLACEHOLDER_ARTIFACT = "s3://budget-service-artifacts/placeholder.zip"


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    message: str
    path: str

    def __str__(self) -> str:
        return f"[{self.level} {self.rule}] {self.path}: {self.message}"


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; offline, there are none to resolve."""

    def load(self) -> dict[str, str]:
        return {}


def _with_placeholder_artifacts(template: dict[str, Any]) -> dict[str, Any]:
    """``sam build`` turns local CodeUri paths into S3 URIs; the translator wants the latter."""
    template = copy.deepcopy(template)
    for body in template.get("Resources", {}).values():
        props = body.get("Properties", {})
        if body.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = _PLACEHOLDER_ARTIFACT
        if body.get("Type") == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = _PLACEHOLDER_ARTIFACT
    return template


def expand(template: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", LINT_REGION)
    expanded: dict[str, Any] = transform(_with_placeholder_artifacts(template), {}, _NoManagedPolicies())
    return expanded


def check(template: dict[str, Any]) -> list[Finding]:
    """Errors and warnings of the expanded template (an invalid SAM document is one finding)."""
    from cfnlint.api import ManualArgs, lint
    from samtranslator.model.exceptions import InvalidDocumentException

    try:
        expanded = expand(template)
    except InvalidDocumentException as error:
        return [Finding("SAM", "error", str(cause), "") for cause in error.causes]
    matches = lint(json.dumps(expanded), config=ManualArgs(regions=[LINT_REGION]))
    return [
        Finding(
            rule=match.rule.id,
            level="error" if match.rule.id.startswith("E") else "warning",
            message=match.message,
            path="/".join(str(p) for p in match.path),
        )
        for match in matches
        if not match.rule.id.startswith("I")
    ]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0]) if args else TEMPLATE_PATH
    findings = check(load_template(path))
    for finding in findings:
        print(finding)
    print(f"{path.name}: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
