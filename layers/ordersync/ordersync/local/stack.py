"""The local stack: moto server + template.yaml's resources + the in-process runner.

with LocalStack.start() as stack:
    stack.runner.run_hour()
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from ordersync.local import short_polls
from ordersync.local.moto_server import MotoServer, only_these_managed_policies, point_boto3_at, restore_environment
from ordersync.local.provision import Deployment, Provisioner
from ordersync.local.runner import Runner
from ordersync.local.template import ACCOUNT_ID, Resolver, code_locations, load_sam_template, translate

REGION = "us-east-1"
# The local stack takes Shopify's order webhooks as a deployment with the fast path does: the fake
# shops' events come through this partner event source (Shopify makes it for the app, per account).
SHOPIFY_EVENT_SOURCE = "aws.partner/shopify.com/4242424242/ordersync"
STACK_NAME = "ordersync-local"


def project_root() -> Path:
    """The checkout holding template.yaml (the package lives in layers/ordersync/ordersync)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "template.yaml").is_file():
            return parent
    raise FileNotFoundError("template.yaml not found above the ordersync package")


# Local runs: the handlers' logs stay quiet, and there's no X-Ray daemon or CloudWatch to write to.
LOCAL_OVERRIDES = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "ORDERSYNC_HTTP_BACKOFF": "0.01",
    "ORDERSYNC_HTTP_READ_TIMEOUT": "2",
    # Short polls, which the local SQS answers empty now and then as AWS may (local/short_polls.py):
    # the code meets that here, and drained reads cost no long-poll wait.
    "ORDERSYNC_SQS_WAIT_SECONDS": "0",
}


@dataclass
class LocalStack:
    moto: MotoServer
    deployment: Deployment
    runner: Runner
    _previous_env: dict[str, str | None]

    @classmethod
    @contextlib.contextmanager
    def start(cls, parameters: dict[str, str] | None = None, root: Path | None = None) -> Iterator[LocalStack]:
        stack = cls.boot(parameters, root)
        try:
            yield stack
        finally:
            stack.stop()

    @classmethod
    def boot(cls, parameters: dict[str, str] | None = None, root: Path | None = None) -> LocalStack:
        import os

        root = root or project_root()
        sam = load_sam_template(root / "template.yaml")
        values = {
            "LogLevel": "WARNING",
            "ShopifyEventSourceName": SHOPIFY_EVENT_SOURCE,
            "ParcelWaitRecheckSeconds": "1",  # a held parcel looked at again at once here, not in 15 minutes
            **(parameters or {}),
        }
        _parameter_values(sam, values)  # bad parameters are refused before anything starts
        moto = MotoServer.serving()
        previous = point_boto3_at(moto.endpoint, REGION)
        template = translate(sam, values, root)
        only_these_managed_policies(_managed_policy_names(template))  # before the first AWS call makes IAM's
        short_polls.install()  # an empty answer now and then, as real SQS gives a short poll
        for name, value in LOCAL_OVERRIDES.items():
            previous.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        if values["ShopifyEventSourceName"]:  # what Shopify does when the app's EventBridge destination is set up
            boto3.client("events", region_name=REGION).create_partner_event_source(
                Name=values["ShopifyEventSourceName"], Account=ACCOUNT_ID
            )
        resolver = Resolver(REGION, STACK_NAME, _parameter_values(template, values))
        deployment = Provisioner(REGION, code_locations(sam, root)).deploy(template, resolver)
        reset_cached_clients()
        runner = Runner(deployment, REGION)
        for spec in deployment.functions.values():
            for name in spec.environment:
                previous.setdefault(name, None)
        return cls(moto, deployment, runner, previous)

    def stop(self) -> None:
        for server in self.deployment.function_urls.values():
            server.stop()
        reset_cached_clients()
        restore_environment(self._previous_env)
        self.moto.stop()

    def output(self, name: str) -> str:
        return self.deployment.outputs[name]


def _parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """The values, refused as CloudFormation refuses them (its words), before anything is created."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = given.get(name, spec.get("Default"))
        if value is None:
            raise ValueError(f"template parameter {name} has no default; pass it")
        problem = parameter_problem(name, spec, value)
        if problem:
            raise ValueError(problem)
        values[name] = value
    return values


def parameter_problem(name: str, spec: dict[str, Any], value: Any) -> str | None:
    """CloudFormation's check of a parameter against its MinValue / MaxValue / AllowedValues."""
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"Parameter '{name}' must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"Parameter '{name}' must be a number not less than {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}"
    allowed = spec.get("AllowedValues")
    if allowed is not None and str(value) not in [str(a) for a in allowed]:
        return f"Parameter '{name}' must be one of AllowedValues"
    return None


def reset_cached_clients() -> None:
    """Clients and settings are cached per container; a new local stack is a new "container", and so
    is a process whose boto3 session has new hooks (a client copies its session's hooks when made)."""
    from aws_lambda_powertools.utilities import parameters

    from ordersync import settings, wiring
    from ordersync.aws import clients, secrets

    for module in (wiring, settings, secrets):  # every cached builder: a new one can't be forgotten here
        for cached in vars(module).values():
            if callable(getattr(cached, "cache_clear", None)):
                cached.cache_clear()
    parameters.clear_caches()
    clients.forget()


def _managed_policy_names(template: dict[str, Any]) -> set[str]:
    """The AWS managed policies the translated template attaches (arn:...:iam::aws:policy/[path/]NAME)."""
    names: set[str] = set()
    for resource in template["Resources"].values():
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            text = arn if isinstance(arn, str) else json.dumps(arn)
            if ":iam::aws:policy/" in text:
                names.add(text.rsplit("/", 1)[-1].strip('"}'))
    return names
