"""Creates the translated template's resources in moto with boto3, in dependency order.

moto's CloudFormation skips SNS subscriptions, ignores DefinitionSubstitutions and hides
Lambda functions without Docker; creating each resource directly avoids all of that. Functions,
layers and event sources are not created in moto: they are recorded, and the runner invokes the
handlers in-process with the environment the template gives them."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from ordersync.local.function_url import FunctionUrlServer
from ordersync.local.iam import Principal, acting_as
from ordersync.local.moto_server import MAIL_SINK_PREFIX
from ordersync.local.template import ACCOUNT_ID, Resolver, creation_order


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_mb: int
    role: str  # logical id of its execution role
    architecture: str  # x86_64 or arm64: what a GB-second costs


@dataclass
class QueueSource:
    function: str  # logical id
    queue_url: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class Schedule:
    function: str  # logical id
    rule_name: str
    expression: str


@dataclass
class EmailSubscription:
    topic_arn: str
    address: str
    filter_policy: dict[str, Any] | None
    sink_queue_url: str


@dataclass(frozen=True)
class AsyncConfig:
    retries: int  # MaximumRetryAttempts
    on_failure_queue_url: str | None  # where Lambda sends the record of a run that failed its last try


@dataclass
class Deployment:
    """What the stack is once provisioned: physical ids, outputs, and what the runner needs."""

    resolver: Resolver
    resource_types: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    queue_sources: list[QueueSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    email_subscriptions: list[EmailSubscription] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    function_urls: dict[str, FunctionUrlServer] = field(default_factory=dict)  # by the function's logical id
    # The statements of each role and managed policy (by logical id), as the template resolves them.
    policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # A function's asynchronous invocation settings (schedules): its retries and on-failure queue.
    invoke_configs: dict[str, AsyncConfig] = field(default_factory=dict)

    def ref(self, logical_id: str) -> Any:
        return self.resolver.refs[logical_id]

    def attribute(self, logical_id: str, name: str) -> Any:
        return self.resolver.attributes[(logical_id, name)]

    def principal(self, name: str) -> Principal:
        """Who makes AWS calls, with the statements they are judged by: a function (its execution
        role) or a managed policy (OpsPolicy: what ops' CLI runs under)."""
        role = self.functions[name].role if name in self.functions else name
        return Principal(name, tuple(self.policies[role]))


class Provisioner:
    def __init__(self, region: str, code_dirs: dict[str, Path]) -> None:
        self.region = region
        self._code_dirs = code_dirs
        self._clients: dict[str, Any] = {}
        self._creators: dict[str, Callable[[Deployment, str, dict[str, Any]], None]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::IAM::Role": self._role,
            "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::KMS::Key": self._key,
            "AWS::KMS::Alias": self._alias,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Permission": self._record_only,
            "AWS::Lambda::Url": self._function_url,
            "AWS::Lambda::EventSourceMapping": self._event_source,
            "AWS::Lambda::EventInvokeConfig": self._invoke_config,
            "AWS::Events::Rule": self._rule,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::CloudWatch::Dashboard": self._dashboard,
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = _client(service, self.region, os.environ.get("AWS_ENDPOINT_URL", ""))
        return self._clients[service]

    def deploy(self, template: dict[str, Any], resolver: Resolver) -> Deployment:
        resolver.evaluate_conditions(template.get("Conditions", {}))
        deployment = Deployment(resolver)
        resources = {
            logical_id: resource
            for logical_id, resource in template["Resources"].items()
            if resolver.conditions.get(resource.get("Condition", ""), True)
        }
        for logical_id in creation_order(resources):
            resource = resources[logical_id]
            creator = self._creators.get(resource["Type"])
            if creator is None:
                raise NotImplementedError(f"the local stack can't create {resource['Type']} ({logical_id})")
            deployment.resource_types[logical_id] = resource["Type"]
            creator(deployment, logical_id, resolver.resolve(resource.get("Properties", {})))
        for name, output in template.get("Outputs", {}).items():
            if resolver.conditions.get(output.get("Condition", ""), True):
                deployment.outputs[name] = str(resolver.resolve(output["Value"]))
        return deployment

    def _name(self, deployment: Deployment, logical_id: str) -> str:
        return f"{deployment.resolver.stack_name}-{logical_id}"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    # --- creators ------------------------------------------------------------------------------
    def _table(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TableName") or self._name(deployment, logical_id)
        kwargs: dict[str, Any] = {
            key: props[key]
            for key in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
            if key in props
        }
        if props.get("SSESpecification", {}).get("SSEEnabled"):
            kwargs["SSESpecification"] = {"Enabled": True}
        dynamodb = self.client("dynamodb")
        arn = dynamodb.create_table(TableName=name, **kwargs)["TableDescription"]["TableArn"]
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        deployment.resolver.refs[logical_id] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = arn

    def _queue(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or self._name(deployment, logical_id)
        attributes = {
            key: json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for key, value in props.items()
            if key not in ("QueueName", "Tags")
        }
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        deployment.resolver.refs[logical_id] = url
        deployment.resolver.attributes[(logical_id, "Arn")] = self._arn("sqs", name)
        deployment.resolver.attributes[(logical_id, "QueueName")] = name
        deployment.resolver.attributes[(logical_id, "QueueUrl")] = url

    def _topic(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TopicName") or self._name(deployment, logical_id)
        attributes = {k: str(props[k]) for k in ("DisplayName", "KmsMasterKeyId") if k in props}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        deployment.resolver.refs[logical_id] = arn
        deployment.resolver.attributes[(logical_id, "TopicName")] = name
        deployment.resolver.attributes[(logical_id, "TopicArn")] = arn

    def _subscription(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        subscription = subscribe_with_sink(
            self.client("sns"),
            self.client("sqs"),
            props["TopicArn"],
            props["Protocol"],
            props["Endpoint"],
            props.get("FilterPolicy"),
            raw_message_delivery=bool(props.get("RawMessageDelivery", False)),
        )
        if subscription:
            deployment.email_subscriptions.append(subscription)
        deployment.resolver.refs[logical_id] = f"{props['TopicArn']}:{logical_id}"

    def _queue_policy(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
        deployment.resolver.refs[logical_id] = logical_id

    def _role(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        iam = self.client("iam")
        name = props.get("RoleName") or self._name(deployment, logical_id)[:64]
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))[
            "Role"
        ]["Arn"]
        statements = deployment.policies.setdefault(logical_id, [])
        for policy in props.get("Policies", []):
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}  # SAM's policy templates omit it
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))
            statements.extend(document["Statement"])
        for managed in props.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=managed)
        deployment.resolver.refs[logical_id] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = arn

    def _managed_policy(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("ManagedPolicyName") or self._name(deployment, logical_id)[:128]
        document = props["PolicyDocument"]
        arn = self.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        deployment.policies[logical_id] = list(document["Statement"])
        deployment.resolver.refs[logical_id] = arn

    def _key(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        key = self.client("kms").create_key(
            Description=props.get("Description", ""), Policy=json.dumps(props["KeyPolicy"])
        )["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            self.client("kms").enable_key_rotation(KeyId=key["KeyId"])
        deployment.resolver.refs[logical_id] = key["KeyId"]
        deployment.resolver.attributes[(logical_id, "Arn")] = key["Arn"]
        deployment.resolver.attributes[(logical_id, "KeyId")] = key["KeyId"]

    def _alias(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        deployment.resolver.refs[logical_id] = props["AliasName"]

    def _log_group(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("LogGroupName") or f"/aws/ordersync/{self._name(deployment, logical_id)}"
        logs = self.client("logs")
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        deployment.resolver.refs[logical_id] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = self._arn("logs", f"log-group:{name}:*")

    def _layer(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("LayerName") or logical_id
        deployment.resolver.refs[logical_id] = self._arn("lambda", f"layer:{name}:1")

    def _function(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("FunctionName") or self._name(deployment, logical_id)
        deployment.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            code_dir=self._code_dirs[logical_id],
            handler=props["Handler"],
            environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            timeout=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            role=_role_of(deployment, props["Role"]),
            architecture=props.get("Architectures", ["x86_64"])[0],
        )
        deployment.resolver.refs[logical_id] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = self._arn("lambda", f"function:{name}")

    def _function_url(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        """Served on 127.0.0.1 as Lambda would serve it; the runner invokes the function per request."""
        server = FunctionUrlServer()
        deployment.function_urls[_logical_id_of(deployment, props["TargetFunctionArn"])] = server
        deployment.resolver.refs[logical_id] = logical_id
        deployment.resolver.attributes[(logical_id, "FunctionUrl")] = server.url

    def _record_only(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        deployment.resolver.refs[logical_id] = logical_id

    def _invoke_config(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        function = _logical_id_of(deployment, props["FunctionName"])
        destination = (props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        url = None
        if destination:
            url = self.client("sqs").get_queue_url(QueueName=str(destination).rsplit(":", 1)[-1])["QueueUrl"]
        deployment.invoke_configs[function] = AsyncConfig(int(props.get("MaximumRetryAttempts", 2)), url)
        deployment.resolver.refs[logical_id] = logical_id

    def _event_source(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        function = _logical_id_of(deployment, props["FunctionName"])
        queue_name = str(props["EventSourceArn"]).rsplit(":", 1)[-1]
        url = self.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
        deployment.queue_sources.append(
            QueueSource(
                function=function,
                queue_url=url,
                batch_size=int(props.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            )
        )
        deployment.resolver.refs[logical_id] = logical_id

    def _event_bus(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        """A partner event bus: refused, as by AWS, unless its partner created the event source.
        moto finds a bus by its name's last segment (PutRule, PutEvents), so the bus is also made
        under that name: the rules on it and the events put on it by name meet there."""
        events = self.client("events")
        created = events.create_event_bus(Name=props["Name"], EventSourceName=props["EventSourceName"])
        events.create_event_bus(Name=props["Name"].rsplit("/", 1)[-1])
        deployment.resolver.refs[logical_id] = props["Name"]
        deployment.resolver.attributes[(logical_id, "Arn")] = created["EventBusArn"]

    def _rule(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        if "EventPattern" in props:
            return self._pattern_rule(deployment, logical_id, props)
        name = props.get("Name") or self._name(deployment, logical_id)[:64]
        events = self.client("events")
        arn = events.put_rule(
            Name=name, ScheduleExpression=props["ScheduleExpression"], State=props.get("State", "ENABLED")
        )["RuleArn"]
        for target in props.get("Targets", []):
            events.put_targets(Rule=name, Targets=[{"Id": target["Id"], "Arn": target["Arn"]}])
            deployment.schedules.append(
                Schedule(_logical_id_of(deployment, target["Arn"]), name, props["ScheduleExpression"])
            )
        deployment.resolver.refs[logical_id] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = arn

    def _pattern_rule(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        """A rule on a bus's events (moto reads the bus's name by its last segment: see _event_bus)."""
        name = props.get("Name") or self._name(deployment, logical_id)[:64]
        bus = props.get("EventBusName")
        on = {"EventBusName": bus} if bus else {}
        events = self.client("events")
        arn = events.put_rule(
            Name=name, EventPattern=json.dumps(props["EventPattern"]), State=props.get("State", "ENABLED"), **on
        )["RuleArn"]
        kept = ("Id", "Arn", "DeadLetterConfig", "RetryPolicy")  # where undeliverable events go, and how long tried
        targets = [{key: target[key] for key in kept if key in target} for target in props.get("Targets", [])]
        events.put_targets(Rule=name, Targets=targets, **on)
        deployment.resolver.refs[logical_id] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = arn

    def _state_machine(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("StateMachineName") or self._name(deployment, logical_id)
        definition = props.get("Definition") or json.loads(props["DefinitionString"])
        substitutions = props.get("DefinitionSubstitutions", {})
        text = json.dumps(definition)
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", str(value))
        logging = props.get("LoggingConfiguration")
        logs = {"loggingConfiguration": _lower_keys(logging)} if logging else {}
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=props["RoleArn"], **logs
        )["stateMachineArn"]
        deployment.resolver.refs[logical_id] = arn
        deployment.resolver.attributes[(logical_id, "Name")] = name
        deployment.resolver.attributes[(logical_id, "Arn")] = arn

    def _alarm(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("AlarmName") or self._name(deployment, logical_id)
        self.client("cloudwatch").put_metric_alarm(
            AlarmName=name, **{k: v for k, v in props.items() if k != "AlarmName"}
        )
        deployment.resolver.refs[logical_id] = name

    def _dashboard(self, deployment: Deployment, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("DashboardName") or self._name(deployment, logical_id)
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
        deployment.resolver.refs[logical_id] = name


def _lower_keys(value: Any) -> Any:
    """CloudFormation's PascalCase property names as the Step Functions API's camelCase ones."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _lower_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


def subscribe_with_sink(
    sns: Any,
    sqs: Any,
    topic_arn: str,
    protocol: str,
    endpoint: str,
    filter_policy: dict[str, Any] | None,
    raw_message_delivery: bool = False,
) -> EmailSubscription | None:
    """Subscribes; an email subscription (which moto never delivers) also gets a "mail sink": an
    SQS queue subscribed with the same filter policy, so the local stack shows who got what."""
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    raw = {"RawMessageDelivery": "true"} if raw_message_delivery else {}
    sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes={**attributes, **raw})
    if protocol != "email":
        return None
    safe = "".join(c if c.isalnum() else "-" for c in f"{topic_arn.rsplit(':', 1)[-1]}-{endpoint}")[:70]
    wanted = ((filter_policy or {}).get("seller_id") or [""])[0]
    seller_id = wanted if isinstance(wanted, str) else json.dumps(wanted)  # a tag is a string
    tags = {"ordersync:mail-sink": endpoint, "ordersync:topic": topic_arn, "ordersync:seller-id": seller_id}
    with acting_as(None):  # the sink is the local stack's plumbing, not something ops do
        url = sqs.create_queue(QueueName=f"{MAIL_SINK_PREFIX}{safe}", tags=tags)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={**attributes, "RawMessageDelivery": "false"},
        )
    return EmailSubscription(topic_arn, endpoint, filter_policy, url)


def _logical_id_of(deployment: Deployment, function_ref: str) -> str:
    for logical_id, spec in deployment.functions.items():
        if function_ref in (spec.name, deployment.resolver.attributes[(logical_id, "Arn")]):
            return logical_id
    raise KeyError(f"no function {function_ref!r} in the template")


def _role_of(deployment: Deployment, role_arn: str) -> str:
    for (logical_id, attribute), value in deployment.resolver.attributes.items():
        if attribute == "Arn" and value == role_arn and deployment.resource_types.get(logical_id) == "AWS::IAM::Role":
            return logical_id
    raise KeyError(f"no role {role_arn!r} in the template")


@functools.lru_cache(maxsize=32)
def _client(service: str, region: str, endpoint: str) -> Any:
    """The deploying clients, made once a process for the same moto server (each takes ~13 ms to
    make, and a suite deploys the template once a test)."""
    return boto3.client(service, region_name=region, endpoint_url=endpoint or None)
