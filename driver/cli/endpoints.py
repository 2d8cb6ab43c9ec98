"""`jira-driver endpoints [--json]`: the custom API endpoints the driver has ([endpoint.NAME]),
with the variables a call gives. 0 listed, 1 refused, 3 unreachable."""

from __future__ import annotations

import argparse
import json

from driver.cli.exit_codes import ExitCode
from driver.cli.output import ask_driver, say
from driver.config import Config


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver endpoints`."""
    listed = ask_driver("endpoints", config, lambda client: client.endpoints())
    if isinstance(listed, ExitCode):
        return listed
    if args.json:
        for endpoint in listed.endpoints:
            print(json.dumps(endpoint.model_dump(mode="json"), ensure_ascii=False))
        return ExitCode.OK
    if not listed.endpoints:
        say("jira-driver endpoints: none configured (add an [endpoint.NAME] section: docs/endpoints.md)")
        return ExitCode.OK
    for endpoint in listed.endpoints:
        variables = " ".join(f"{name}=..." for name in endpoint.variables) or "(no variables)"
        flags = ", idempotent" if endpoint.idempotent else ""
        expect = ", ".join(str(code) for code in endpoint.expect)
        print(f"{endpoint.name}: {endpoint.method} {endpoint.path} {variables} (expects {expect}{flags})")
    return ExitCode.OK
