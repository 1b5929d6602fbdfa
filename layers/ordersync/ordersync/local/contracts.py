"""Where the platforms' published contracts live in the project (tests/contracts/, with their
sources): the fake stores are built from them, and the contract tests check our clients against them."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, build_client_schema

CONTRACTS = Path(__file__).resolve().parents[4] / "tests" / "contracts"


def contract_path(*parts: str) -> Path:
    path = CONTRACTS.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"platform contract {path} is missing (the local stack runs from a checkout)")
    return path


@functools.cache
def shopify_admin_schema() -> GraphQLSchema:
    """Shopify's Admin GraphQL API 2025-10, from its introspection result."""
    with gzip.open(contract_path("shopify", "admin_2025-10.json.gz"), "rt", encoding="utf-8") as handle:
        schema = build_client_schema(json.load(handle)["data"])
    # graphql-core rejects a few deprecation mismatches that Shopify's own schema carries; the types
    # are what matter here, so the schema counts as valid as published.
    schema._validation_errors = []
    return schema


@functools.cache
def json_contract(*parts: str) -> dict[str, Any]:
    return dict(json.loads(contract_path(*parts).read_text(encoding="utf-8")))
