"""`make mutate`: mutation testing of the decisive code, driven by the fast unit tests (and, for
the orders table adapter, its tests on moto).

mutmut derives a mutant's module from its path and only knows the `src/` layout, while the package
lives in layers/ordersync/; so the run happens in a staging copy (build/mutate) where the package is
src/ordersync and the tests are the project's own. Prints the score per package, every surviving
mutant not listed as equivalent in tools/equivalent_mutants.txt (with why), and, last, one JSON
line to compare runs by.

Usage: python tools/mutate.py [--max-children N] [--only PACKAGE ...] [--report-only]"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutate"
PACKAGES = ("domain", "normalize", "services", "alerts")
# The adapters' conditional writes and paging: the orders table (claim, save, release, queries
# past a page) and the DynamoDB paging they share, run against the table the template declares on
# moto (tests/integration/test_orders_table.py, one stack per module).
ADAPTERS = (
    "aws/orders.py",
    "aws/errors.py",
    "platforms/woocommerce.py",
    "platforms/bigcommerce.py",
    "platforms/shopify.py",
)
ADAPTER_TESTS = (
    "tests/integration/test_orders_table.py",
    "tests/integration/test_store_paging.py",
    "tests/integration/test_store_writes.py",
)
# Of the store clients, what a slip in would reach a user unseen: their paging (every page of a
# pull, of an order's lines, of a catalog), their writes into a seller's store (the create's whole
# body, the cancel) and the exact-key look-up that keeps a retry from posting twice — driven over
# the fake stores' HTTP by test_store_paging.py and test_store_writes.py. The rest of each client
# is checked by the integration tests, too slow to run per mutant.
WRITES = ("create_order", "find_posted_order", "order_state", "cancel_order")
CLIENT_METHODS = {
    "platforms.woocommerce": (
        "WooCommerceStore",
        ("orders_updated_since", "_pages", "catalog", "catalog_pages", "_variants_of", *WRITES),
    ),
    "platforms.bigcommerce": (
        "BigCommerceStore",
        ("orders_updated_since", "_every", "_list", "catalog", "catalog_pages", *WRITES),
    ),
    "platforms.shopify": (
        "ShopifyStore",
        ("orders_updated_since", "_with_every_line", "catalog", "catalog_pages", *WRITES),
    ),
}
# The module functions that build what is written, and the look-up's key test.
CLIENT_FUNCTIONS = {
    "platforms.woocommerce": ("_line_item", "_carries_key"),
    "platforms.bigcommerce": ("order_body",),
    "platforms.shopify": ("order_create_variables", "country_code"),
}


def in_scope() -> list[str]:
    """mutmut's name patterns for the mutants this run tries (every other mutant is left alone)."""
    whole = [f"ordersync.{package}.*" for package in PACKAGES] + ["ordersync.aws.*"]
    sep = "\u01c1"  # how mutmut 3 joins a class and its method in a mutant's name
    methods = [
        f"ordersync.{module}.x{sep}{cls}{sep}{method}__mutmut_*"
        for module, (cls, names) in CLIENT_METHODS.items()
        for method in names
    ]
    functions = [
        f"ordersync.{module}.x_{function}__mutmut_*" for module, names in CLIENT_FUNCTIONS.items() for function in names
    ]
    return whole + methods + functions


TARGETS = {"domain": 0.90, "normalize": 0.90}  # and 0.80 overall
OVERALL_TARGET = 0.80
EQUIVALENT = ROOT / "tools" / "equivalent_mutants.txt"

CONFIG = """
[tool.mutmut]
source_paths = ["src/ordersync"]
only_mutate = [{only}]
# A log call's words are for people reading CloudWatch, not behaviour: pinning each in a test would
# test wording. Equivalent by construction, so never mutated (metric names are: dashboards use them).
do_not_mutate_patterns = ['^\\s*logger\\.(debug|info|warning|error|exception)\\(']
# mutmut runs the tests from its mutants/ copy; what they read beside the package comes along
also_copy = ["layers", "functions", "statemachines", "events", "template.yaml"]
pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-x"]
pytest_add_cli_args_test_selection = ["tests/unit", {adapter_tests}]
timeout_multiplier = 10.0

[tool.pytest.ini_options]
testpaths = ["tests/unit"]
"""

# mutmut's exit codes (mutmut.stats.status_by_exit_code): what a mutant's run ended as.
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # a failing test, a timeout, a type error: detected


def stage(only: tuple[str, ...]) -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "layers" / "ordersync" / "ordersync", STAGE / "src" / "ordersync", ignore=ignore)
    # the source as the tests that read it (the dependency rule) find it; never imported here
    shutil.copytree(
        ROOT / "layers" / "ordersync" / "ordersync", STAGE / "layers" / "ordersync" / "ordersync", ignore=ignore
    )
    shutil.copytree(ROOT / "tests", STAGE / "tests", ignore=ignore)
    for extra in ("functions", "statemachines", "events"):
        shutil.copytree(ROOT / extra, STAGE / extra, ignore=ignore)
    shutil.copy2(ROOT / "template.yaml", STAGE / "template.yaml")
    globs = [f"src/ordersync/{package}/*" for package in PACKAGES] + [f"src/ordersync/{a}" for a in ADAPTERS]
    chosen = ", ".join(f'"{glob}"' for glob in globs if not only or glob.split("/")[2] in only)
    adapter_tests = ", ".join(f'"{path}"' for path in ADAPTER_TESTS)
    (STAGE / "pyproject.toml").write_text(CONFIG.format(only=chosen, adapter_tests=adapter_tests))


def equivalents() -> dict[str, str]:
    listed = {}
    for line in EQUIVALENT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.partition(" ")
            listed[name] = why.strip()
    return listed


def results() -> dict[str, int]:
    codes: dict[str, int] = {}
    for meta in (STAGE / "mutants" / "src").rglob("*.meta"):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    patterns = in_scope()
    return {name: code for name, code in codes.items() if any(fnmatch(name, p) for p in patterns)}


def package_of(mutant: str) -> str:
    return mutant.split(".")[1]  # ordersync.<package>.module.x_function__mutmut_N (platforms: paging)


def report(codes: dict[str, int], listed: dict[str, str]) -> dict[str, object]:
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    surviving: list[str] = []
    for mutant, code in sorted(codes.items()):
        package = package_of(mutant)
        if code in KILLED:
            outcome = "killed"
        elif mutant in listed:
            outcome = "equivalent"  # can't be killed: it behaves as the original
        else:  # survived, no test ran it, or not run at all: not detected
            outcome = "survived"
            surviving.append(mutant)
        tally[package][outcome] += 1

    def score(counts: Counter[str]) -> float:
        counted = counts["killed"] + counts["survived"]
        return round(counts["killed"] / counted, 4) if counted else 1.0

    total: Counter[str] = sum(tally.values(), Counter())
    by_package = {package: {**tally[package], "score": score(tally[package])} for package in sorted(tally)}
    for package, counts in by_package.items():
        target = TARGETS.get(package, OVERALL_TARGET)
        print(f"  {package:<10} {counts['score']:.1%} killed  (target >= {target:.0%})  {dict(tally[package])}")
    print(f"  {'overall':<10} {score(total):.1%} killed  (target >= {OVERALL_TARGET:.0%})")
    if surviving:
        print(
            f"\nsurviving mutants ({len(surviving)}; `cd build/mutate && ../../.venv/bin/mutmut show NAME` shows one):"
        )
        for mutant in surviving:
            print(f"  {mutant}")
    return {
        "killed": total["killed"],
        "survived": total["survived"],
        "equivalent": total["equivalent"],
        "score": score(total),
        "by_package": by_package,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=(), help="packages to mutate (default: all), e.g. aws")
    parser.add_argument("--report-only", action="store_true", help="report the last run in build/mutate")
    args = parser.parse_args()
    if not args.report_only:
        stage(tuple(args.only))
        mutmut = Path(sys.executable).parent / "mutmut"
        run = [str(mutmut), "run", "--max-children", str(args.max_children), *in_scope()]
        subprocess.run(run, cwd=STAGE, check=False)
    summary = report(results(), equivalents())
    passed = summary["score"] >= OVERALL_TARGET and all(  # type: ignore[operator]
        summary["by_package"][p]["score"] >= t  # type: ignore[index]
        for p, t in TARGETS.items()
        if p in summary["by_package"]  # type: ignore[operator]
    )
    print(json.dumps(summary))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
