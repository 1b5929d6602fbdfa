"""Hand-written semantic mutants: one-line slips a refactor makes, each with what a user would see
and the test that must catch it, for the bugs mutmut's operators can't make. Each is applied to a
staging copy of the checkout (never to the working tree), the named tests run there, and the mutant
must be killed by a failing test. `make mutate` runs these after mutmut; alone:

    python tools/semantic_mutants.py [--only NAME ...]

Prints one line per mutant and, last, a JSON line {"killed", "survived", "survivors"}; exits 1 if
any survived.

Not here: the webhook size limit counted in characters instead of bytes. It is no longer a one-line
slip: the door measures the body's bytes and then its JSON as an envelope carries it, and either
check alone refuses a multibyte body past the limit (tests/unit/test_webhooks.py,
test_bad_input_at_the_door_gets_its_named_4xx_never_a_500, sends both kinds)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "semantic-mutants"
PACKAGE = "layers/ordersync/ordersync"


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # under the package
    old: str  # the line as it is (must occur exactly once)
    new: str
    user_sees: str
    tests: tuple[str, ...]


MUTANTS = (
    Mutant(
        "woo-state-dropped",
        "platforms/woocommerce.py",
        '"state": ship.province_code or "",',
        '"state": "",',
        "an order posted to a WooCommerce seller loses its state / province",
        (
            "tests/integration/test_store_writes.py::test_a_woocommerce_create_carries_the_whole_address_every_line_and_the_key",
        ),
    ),
    Mutant(
        "woo-lookup-first-page",
        "platforms/woocommerce.py",
        'for number, orders in enumerate(self._pages(f"{self._api}/orders", params)):',
        'for number, orders in enumerate([next(self._pages(f"{self._api}/orders", params))]):',
        "a retry after a lost response posts a duplicate once the seller has a page of orders since",
        (
            "tests/integration/test_store_writes.py::test_woocommerce_finds_its_copy_on_a_later_page_by_the_exact_key_only",
        ),
    ),
    Mutant(
        "woo-lookup-prefix",
        "platforms/woocommerce.py",
        'm.get("key") == SOURCE_META_KEY and m.get("value") == source_key',
        'm.get("key") == SOURCE_META_KEY and str(m.get("value")).startswith(source_key)',
        "order ...-1 is recorded as synced against the copy of ...-10 and never posted",
        (
            "tests/integration/test_store_writes.py::test_woocommerce_finds_its_copy_on_a_later_page_by_the_exact_key_only",
        ),
    ),
    Mutant(
        "seller-filter-prefix",
        "aws/messaging.py",
        'return {"seller_id": [seller_id]}',
        'return {"seller_id": [{"prefix": seller_id}]}',
        "a seller whose id is a prefix of another's receives the other's alert emails",
        (
            "tests/integration/test_alerts.py::"
            "test_a_seller_whose_id_is_a_prefix_or_substring_of_another_s_never_gets_the_other_s_alerts",
        ),
    ),
    Mutant(
        "manual-flow-twice",
        "services/process.py",
        "if record.status is not OrderStatus.MANUAL_POSTING_PENDING:",
        "if record.execution_arn is None:",
        "an order delivered again before its flow recorded itself starts a second flow: two tasks, two emails",
        (
            "tests/integration/test_manual_posting.py::"
            "test_an_order_delivered_again_before_its_flow_recorded_itself_starts_one_flow_only",
        ),
    ),
    Mutant(
        "fake-bigcommerce-skips-its-contract",
        "local/fakes/bigcommerce.py",
        'problem = contract_problem("order_post", body)',
        "problem = None",
        "a client posting orders BigCommerce refuses passes every test",
        (
            "tests/integration/test_fake_contracts.py::test_the_fake_bigcommerce_refuses_an_order_body_that_breaks_order_post",
        ),
    ),
)


def _stage() -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    ignore = shutil.ignore_patterns(".venv*", ".git", "build", ".aws-sam", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, STAGE, ignore=ignore)


def _killed(mutant: Mutant) -> bool:
    target = STAGE / PACKAGE / mutant.path
    original = target.read_text()
    if original.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: the line to mutate is not in {mutant.path} exactly once; update the mutant")
    target.write_text(original.replace(mutant.old, mutant.new))
    try:
        env = {**_environ(), "PYTHONPATH": str(STAGE / "layers" / "ordersync")}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutant.tests],
            cwd=STAGE,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        # killed: the tests ran and failed on an assertion (a crash elsewhere, or a collection error, is not a kill)
        return result.returncode == 1 and ("AssertionError" in result.stdout or "E       assert" in result.stdout)
    finally:
        target.write_text(original)


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    _stage()
    survivors = []
    for mutant in chosen:
        killed = _killed(mutant)
        print(f"{'killed  ' if killed else 'SURVIVED'} {mutant.name}: {mutant.user_sees}", flush=True)
        if not killed:
            survivors.append(mutant.name)
    print(json.dumps({"killed": len(chosen) - len(survivors), "survived": len(survivors), "survivors": survivors}))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
