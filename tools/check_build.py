"""After `sam build`: import every built handler the way Lambda does, and check the layer.

Each function runs in a fresh Python 3.12 environment holding only boto3 (what Lambda's runtime
provides), with its code directory and the built layer first on sys.path (/var/task, /opt/python)
and the environment variables the template gives it; the handler is imported and the function's
dependencies are built from that environment (settings parsed, clients made, no AWS call). The
layer must not carry the local stack or the CLI, and its boto3 must accept its botocore.

Usage: python tools/check_build.py PYTHON312 [BUILD_DIR]"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ordersync.local.template import load_sam_template, translate

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_BOTO3 = "boto3~=1.34.0"  # about what Lambda's python3.12 runtime carries: older than the layer's

# Run inside the 3.12 environment, one function at a time.
PROBE = r"""
import importlib, importlib.metadata as md, json, sys
code_dir, layer = sys.argv[1], sys.argv[2]
sys.path[:0] = [code_dir, layer]
app = importlib.import_module("app")
assert callable(app.handler), "no handler"
built = [name for name, value in vars(app).items() if name.endswith("_dependencies") and callable(value)]
for name in built:
    getattr(app, name)()
leaks = [m for m in ("ordersync.local", "ordersync.cli", "ordersync.ops", "moto") if importlib.util.find_spec(m)]
import boto3, botocore, operator, re
def version(text): return tuple(int(part) for part in re.findall(r"\d+", text))
wanted = [r for r in md.requires("boto3") if r.startswith("botocore")][0]  # "botocore<1.36,>=1.35.9"
compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
fits = all(
    compare[op](version(botocore.__version__), version(bound))
    for op, bound in re.findall(r"(<=|>=|==|<|>)\s*([\d.]+)", wanted)
)
print(json.dumps({
    "dependencies_built": built,
    "leaks": leaks,
    "boto3_from_layer": boto3.__file__.startswith(layer),
    "botocore_from_layer": botocore.__file__.startswith(layer),
    "botocore_fits_boto3": fits,
    "versions": [boto3.__version__, botocore.__version__],
}))
"""


def placeholders(value: Any, defaults: dict[str, Any]) -> Any:
    """The template's values with each resource reference as a readable stand-in and each
    parameter at its default: enough to parse settings, never enough to reach AWS."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return str(defaults.get(arg, f"arn:aws:local:us-east-1:123456789012:{arg}"))
        if key == "Fn::GetAtt":
            return f"arn:aws:local:us-east-1:123456789012:{'.'.join(arg)}"
        if key == "Fn::If":
            return placeholders(arg[2], defaults)  # the default condition (tracing off)
    if isinstance(value, dict):
        return {k: placeholders(v, defaults) for k, v in value.items()}
    return value


def fresh_runtime(python312: str, where: Path) -> Path:
    python = where / "bin" / "python"
    if not python.exists():
        subprocess.run([python312, "-m", "venv", str(where)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", RUNTIME_BOTO3],
            check=True,
        )
    return python


def main(python312: str, build_dir: Path) -> int:
    template = translate(load_sam_template(ROOT / "template.yaml"), {}, ROOT)
    defaults = {
        name: spec.get("Default") for name, spec in load_sam_template(ROOT / "template.yaml")["Parameters"].items()
    }
    runtime = fresh_runtime(python312, build_dir.parent / "lambda-runtime-python3.12")
    layer = build_dir / "OrdersyncLayer" / "python"
    failures = []
    functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    for logical_id, resource in sorted(functions.items()):
        props = resource["Properties"]
        variables = placeholders(props.get("Environment", {}).get("Variables", {}), defaults)
        environment = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "LAMBDA_TASK_ROOT": str(build_dir / logical_id),
            **{k: str(v) for k, v in variables.items()},
        }
        result = subprocess.run(
            [str(runtime), "-s", "-c", PROBE, str(build_dir / logical_id), str(layer)],
            env=environment,
            capture_output=True,
            text=True,
            cwd=build_dir / logical_id,
        )
        if result.returncode != 0:
            failures.append(f"{logical_id}: {result.stderr.strip().splitlines()[-1]}")
            continue
        report = json.loads(result.stdout.strip().splitlines()[-1])
        problems = [
            problem
            for problem, bad in (
                ("built no dependencies", not report["dependencies_built"]),
                (f"layer carries {report['leaks']}", report["leaks"]),
                ("boto3 is not the layer's", not report["boto3_from_layer"]),
                ("botocore is not the layer's", not report["botocore_from_layer"]),
                (f"boto3/botocore {report['versions']} don't fit", not report["botocore_fits_boto3"]),
            )
            if bad
        ]
        print(f"{logical_id}: {'OK' if not problems else '; '.join(problems)} {report}")
        failures += [f"{logical_id}: {p}" for p in problems]
    if failures:
        print("\n".join(["built handlers that would fail on Lambda:", *failures]), file=sys.stderr)
        return 1
    print(f"{len(functions)} built handlers import and wire up on python3.12 with the layer alone")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else ".aws-sam/build").resolve()))
