"""The unused-grant check of a whole integration run: every grant the template gives was needed by
some call (least privilege). Loaded by tests/integration/conftest.py (one process) and by
tests/conftest.py (the controller of a run across workers), which loads it by its path."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ordersync.local import iam

# Statements the suite's calls can't use: the platform's own calls made with the role (Lambda's
# logs, the event source mapping and a failed run's on-failure record, SNS's use of the topic key,
# X-Ray when on) and ops' actions outside the local stack (finding a deployed stack; the console
# procedures of docs/runbook.md).
NOT_CALLED_BY_OUR_CODE = ("Logs", "Tracing", "EventSourceMapping", "OnFailure", "AlertsKey", "FindTheStack", "Console")
HERE = Path(__file__).parent
# The grants a whole run proved needed, per principal ("Sid: action"): what the unused-grant test of
# test_permissions.py judges the template by, whatever part of the suite runs. A whole run that
# proves another set says so; ORDERSYNC_RECORD_GRANTS=1 (make grants) writes it anew.
PROVEN = HERE / "proven_grants.json"
RECORD_ENV = "ORDERSYNC_RECORD_GRANTS"


def judge(session: Any, workers: list[dict[str, Any]], exitstatus: int) -> None:
    """Says why the check did not run, or fails the session with every grant no call needed."""
    why = not_judged(workers, exitstatus)
    if why:  # said, never silently skipped
        print(f"\n(the unused-grant check did not run: {why})")
        return
    problems = unused_grants(workers, exitstatus) or stale_record(proven_grants(workers))
    if problems:
        print(
            "\ngrants no call of the integration suite needed (remove them, or exercise them):\n" + "\n".join(problems)
        )
        session.exitstatus = 1  # pytest.ExitCode.TESTS_FAILED


def not_judged(workers: list[dict[str, Any]], exitstatus: int) -> str | None:
    """Why this run can't tell an unused grant from an unexercised one, or None when it can."""
    everything = sorted(path.name for path in HERE.glob("test_*.py"))
    ran = sorted({module for seen in workers for module in seen["modules"]})
    if exitstatus != 0:
        return "the run failed"
    if ran != everything or any(seen["deselected"] for seen in workers):
        return f"a part of the integration suite ran ({len(ran)} of {len(everything)} modules, some tests deselected?)"
    return None


def unused_grants(workers: list[dict[str, Any]], exitstatus: int) -> list[str]:
    """The grants no call needed, from every worker's calls; none when the run can't tell (a part of
    the suite, a deselection, a failure: an unused grant and an unexercised one look alike)."""
    if not_judged(workers, exitstatus):
        return []
    return [
        f"{name}: {line}"
        for name, calls in sorted(_calls_by_principal(workers).items())
        for line in iam.unused(tuple(judged_statements(calls[-1].principal.statements)), calls)
    ]


def _calls_by_principal(workers: list[dict[str, Any]]) -> dict[str, list[iam.AwsCall]]:
    by_principal: dict[str, list[iam.AwsCall]] = {}
    for seen in workers:
        for call in seen["calls"]:
            principal = iam.Principal(call["principal"], tuple(call["statements"]))
            context = tuple((key, tuple(values)) for key, values in call["context"])
            by_principal.setdefault(principal.name, []).append(
                iam.AwsCall(principal, call["action"], tuple(call["resources"]), context)
            )
    return by_principal


def judged_statements(statements: Any) -> list[dict[str, Any]]:
    return [s for s in statements if not s.get("Sid", "").startswith(NOT_CALLED_BY_OUR_CODE)]


def grant_names(statements: Any) -> list[str]:
    """Each (statement, action) of these as "Sid: action"."""
    return sorted(
        {f"{s.get('Sid', '?')}: {a}" for s in judged_statements(statements) for a in iam.as_list(s["Action"])}
    )


def proven_grants(workers: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per principal, the grants some call of this run needed."""
    proven = {}
    for name, calls in sorted(_calls_by_principal(workers).items()):
        unused = set(iam.unused(tuple(judged_statements(calls[-1].principal.statements)), calls))
        everything = judged_statements(calls[-1].principal.statements)
        proven[name] = [g for g in grant_names(everything) if not any(u.startswith(g + " on ") for u in unused)]
    return proven


def stale_record(proven: dict[str, list[str]]) -> list[str]:
    """Empty when the record says what this whole run proved (or was just written with it)."""
    if os.environ.get(RECORD_ENV):
        PROVEN.write_text(json.dumps(proven, indent=1, sort_keys=True) + "\n")
        return []
    recorded = json.loads(PROVEN.read_text()) if PROVEN.exists() else {}
    if recorded == proven:
        return []
    return [f"{PROVEN.name} is not what this run proved needed: `make grants` writes it anew (and review the diff)"]


def as_json(call: iam.AwsCall) -> dict[str, Any]:
    return {
        "principal": call.principal.name,
        "statements": list(call.principal.statements),
        "action": call.action,
        "resources": list(call.resources),
        "context": [[key, list(values)] for key, values in call.context],
    }
