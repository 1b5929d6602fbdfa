"""The unused-grant check of a whole integration run: every grant the template gives was needed by
some call (least privilege). Loaded by tests/integration/conftest.py (one process) and by
tests/conftest.py (the controller of a run across workers), which loads it by its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ordersync.local import iam

# Statements the suite's calls can't use: the platform's own calls made with the role (Lambda's
# logs and the event source mapping, SNS's use of the topic key, X-Ray when on) and ops' actions
# outside the local stack (finding a deployed stack; the console procedures of docs/runbook.md).
NOT_CALLED_BY_OUR_CODE = ("Logs", "Tracing", "EventSourceMapping", "AlertsKey", "FindTheStack", "Console")
HERE = Path(__file__).parent


def judge(session: Any, workers: list[dict[str, Any]], exitstatus: int) -> None:
    """Says why the check did not run, or fails the session with every grant no call needed."""
    why = not_judged(workers, exitstatus)
    if why:  # said, never silently skipped
        print(f"\n(the unused-grant check did not run: {why})")
        return
    problems = unused_grants(workers, exitstatus)
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
    by_principal: dict[str, list[iam.AwsCall]] = {}
    for seen in workers:
        for call in seen["calls"]:
            principal = iam.Principal(call["principal"], tuple(call["statements"]))
            context = tuple((key, tuple(values)) for key, values in call["context"])
            by_principal.setdefault(principal.name, []).append(
                iam.AwsCall(principal, call["action"], tuple(call["resources"]), context)
            )
    return [
        f"{name}: {line}"
        for name, calls in sorted(by_principal.items())
        for line in iam.unused(
            tuple(s for s in calls[-1].principal.statements if not s.get("Sid", "").startswith(NOT_CALLED_BY_OUR_CODE)),
            calls,
        )
    ]


def as_json(call: iam.AwsCall) -> dict[str, Any]:
    return {
        "principal": call.principal.name,
        "statements": list(call.principal.statements),
        "action": call.action,
        "resources": list(call.resources),
        "context": [[key, list(values)] for key, values in call.context],
    }
