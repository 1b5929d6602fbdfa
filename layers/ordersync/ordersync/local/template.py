"""template.yaml, translated offline with samtranslator, and a resolver for its intrinsic functions.
The local stack and the tests read every resource from here: there is no second list of them."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
NO_VALUE = object()


class _BundledManagedPolicies:
    """samtranslator's own copy of the AWS managed policy ARNs: no IAM call needed offline."""

    def load(self) -> dict[str, str]:
        data = resources.files("samtranslator").joinpath("internal/data/aws_managed_policies.json").read_text()
        return dict(json.loads(data)["aws"])


def load_sam_template(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return dict(json.loads(_template_text(str(path), stat.st_mtime_ns, stat.st_size)))


@functools.lru_cache(maxsize=8)
def _template_text(path: str, mtime_ns: int, size: int) -> str:
    """The template as JSON text, parsed once a process while the file is unchanged (a seventh of
    a second each time; a suite starts a stack per test). JSON also drops cfn-lint's line marks."""
    from cfnlint.decode import cfn_yaml

    return json.dumps(cfn_yaml.load(path))


def code_locations(sam: dict[str, Any], root: Path) -> dict[str, Path]:
    """Logical id -> local folder of each function's CodeUri / layer's ContentUri."""
    found = {}
    for logical_id, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        uri = props.get("CodeUri") or props.get("ContentUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            found[logical_id] = root / uri
    return found


def translate(sam: dict[str, Any], parameters: dict[str, str], root: Path) -> dict[str, Any]:
    """SAM -> CloudFormation, offline. samtranslator refuses local code paths, so they are pointed
    at a placeholder S3 URI first (the local stack runs the code from the folders instead), and a
    state machine's local DefinitionUri is inlined as its Definition (what `sam deploy` uploads)."""
    return json.loads(_translated(json.dumps(sam, sort_keys=True), json.dumps(parameters, sort_keys=True), str(root)))


@functools.lru_cache(maxsize=8)
def _translated(sam_text: str, parameters_text: str, root_text: str) -> str:
    """The translation as JSON text, kept for the process's next stack of the same template and
    values (a tenth of a second each; a test suite starts a stack per test)."""
    from samtranslator.translator.transform import transform

    sam, parameters, root = json.loads(sam_text), json.loads(parameters_text), Path(root_text)
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        uri = props.get("DefinitionUri")
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(uri, str) and not uri.startswith("s3://"):
            props["Definition"] = json.loads((root / props.pop("DefinitionUri")).read_text())
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://ordersync-local-placeholder/code.zip"
    return json.dumps(transform(sam, parameters, _BundledManagedPolicies()))


def references(value: Any) -> set[str]:
    """Logical ids a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def creation_order(resources_: dict[str, Any]) -> list[str]:
    """Resources in an order where everything a resource refers to comes before it."""
    pending = {
        logical_id: (references(resource) | set(_depends_on(resource))) & resources_.keys()
        for logical_id, resource in resources_.items()
    }
    ordered: list[str] = []
    while pending:
        ready = sorted(name for name, needs in pending.items() if needs <= set(ordered))
        if not ready:
            raise ValueError(f"circular references among {sorted(pending)}")
        ordered.extend(ready)
        for name in ready:
            del pending[name]
    return ordered


def _depends_on(resource: dict[str, Any]) -> list[str]:
    value = resource.get("DependsOn", [])
    return [value] if isinstance(value, str) else list(value)


@dataclass
class Resolver:
    """Resolves Ref / GetAtt / Sub / Join / If / Select / Split against what has been created."""

    region: str
    stack_name: str
    parameters: dict[str, Any]
    conditions: dict[str, bool] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def evaluate_conditions(self, conditions: dict[str, Any]) -> None:
        for name, expression in conditions.items():
            self.conditions[name] = bool(self.resolve(expression))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        for table in (self.pseudo(), self.parameters, self.refs):
            if name in table:
                return table[name]
        raise KeyError(f"Ref to unknown {name!r}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler:
                return handler(self, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
        key = (logical_id, self.resolve(attribute))
        if key not in self.attributes:
            raise KeyError(f"GetAtt {logical_id}.{attribute} is not known locally")
        return self.attributes[key]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(name))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


_INTRINSICS: dict[str, Any] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": lambda r, a: r._get_att(a),
    "Fn::Sub": lambda r, a: r._sub(a),
    "Fn::Join": lambda r, a: str(r.resolve(a[0])).join(str(x) for x in r.resolve(a[1])),
    "Fn::Select": lambda r, a: r.resolve(a[1])[int(r.resolve(a[0]))],
    "Fn::Split": lambda r, a: str(r.resolve(a[1])).split(r.resolve(a[0])),
    "Fn::If": lambda r, a: r.resolve(a[1] if r.conditions[a[0]] else a[2]),
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(x) for x in a),
    "Fn::Or": lambda r, a: any(r.resolve(x) for x in a),
    "Condition": lambda r, a: r.conditions[a],
}
