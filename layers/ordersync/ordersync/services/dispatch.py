"""Sending queued alerts: read the whole outbox, plan the emails (digests where there are many),
send them, then delete what was sent."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from ordersync.alerts.digest import QueuedAlert, plan_emails
from ordersync.alerts.drift import DriftFindings, findings_emails
from ordersync.observability import logger, metrics
from ordersync.ports import AlertOutbox, EmailSender


@dataclass
class DispatchDependencies:
    outbox: AlertOutbox
    emails: EmailSender
    digest_threshold: int


def dispatch_alerts(deps: DispatchDependencies) -> dict[str, int]:
    queued, handles = deps.outbox.take_all()
    alerts = [a for a in queued if isinstance(a, QueuedAlert)]
    findings = [f for f in queued if isinstance(f, DriftFindings)]  # the drift check's, per connection
    # one drift digest for ops and one per seller of every connection's findings in the window;
    # ops' emails first (a dispatch that fails midway has told ops)
    drift = findings_emails(findings) if findings else []
    planned = (
        [e for e in drift if e.audience == "ops"]
        + plan_emails(alerts, deps.digest_threshold)
        + [e for e in drift if e.audience != "ops"]
    )
    for email in planned:
        deps.emails.send(email)
    deps.outbox.delete(handles)  # after sending: a crash before this re-sends, never loses
    metrics.add_metric(name="AlertEmailsSent", unit=MetricUnit.Count, value=len(planned))
    logger.info("alerts dispatched", extra={"alerts": len(alerts), "emails": len(planned)})
    return {"alerts": len(alerts), "emails": len(planned)}
