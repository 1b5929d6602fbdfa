"""Shopify's query cost, by its published rules (shopify.dev, "GraphQL Admin API rate limits"):
scalars and enums cost 0, an object 1, a connection 2 plus `first`/`last` times the cost of one
node, a mutation 10. The requested cost bounds a query before it runs (over 1,000 it is refused);
the actual cost counts the nodes that came back, and is what the bucket is charged."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

MUTATION_COST = 10
MAX_QUERY_COST = 1000


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None) -> None:
        self.schema = schema
        coerced = get_variable_values(schema, _operation(document).variable_definitions or (), variables or {})
        if isinstance(coerced, list):  # a variable of the wrong type: refused as Shopify does
            raise coerced[0]
        self.variables = coerced
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def selection(self, parent: GraphQLNamedType, selections: SelectionSetNode | None, data: Any = None) -> int:
        if selections is None or not hasattr(parent, "fields"):
            return 0
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node, data)
            elif isinstance(node, InlineFragmentNode):
                target = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                total += self.selection(target or parent, node.selection_set, data)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection(target or parent, fragment.selection_set, data)
        return total

    def field(self, parent: GraphQLNamedType, node: FieldNode, data: Any) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition = parent.fields[name]  # type: ignore[attr-defined]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        value = data.get(node.alias.value if node.alias else name) if isinstance(data, dict) else None
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType) and "nodes" in named.fields:
            return self.connection(named, node, definition, value, data is not None)
        arguments = get_argument_values(definition, node, self.variables)
        if _is_list(definition.type):
            items = value if isinstance(value, list) else None
            count = len(items) if items is not None else len(arguments.get("ids") or []) or 1
            per_item = [self.selection(named, node.selection_set, item) for item in (items or [None] * count)]
            return sum(1 + cost for cost in per_item)
        if data is not None and value is None:
            return 0
        return 1 + self.selection(named, node.selection_set, value)

    def connection(self, named: GraphQLObjectType, node: FieldNode, definition: Any, value: Any, actual: bool) -> int:
        arguments = get_argument_values(definition, node, self.variables)
        requested = int(arguments.get("first") or arguments.get("last") or 0)
        node_type = get_named_type(named.fields["nodes"].type)
        per_node = 0
        for child in node.selection_set.selections if node.selection_set else ():
            if not isinstance(child, FieldNode):
                continue
            if child.name.value == "nodes":
                per_node = max(per_node, self._per_node(node_type, child.selection_set, value, "nodes", actual))
            elif child.name.value == "edges":
                for edge_field in child.selection_set.selections if child.selection_set else ():
                    if isinstance(edge_field, FieldNode) and edge_field.name.value == "node":
                        per_node = max(
                            per_node, self._per_node(node_type, edge_field.selection_set, value, "edges", actual)
                        )
        if actual:
            return 2 + per_node
        return 2 + requested * per_node

    def _per_node(
        self, node_type: GraphQLNamedType, selections: SelectionSetNode | None, value: Any, key: str, actual: bool
    ) -> int:
        if not actual:
            return 1 + self.selection(node_type, selections)
        items = (value or {}).get(key) or []
        nodes = [item.get("node") if key == "edges" else item for item in items]
        return sum(1 + self.selection(node_type, selections, n) for n in nodes)


def _is_list(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList)


def _operation(document: DocumentNode) -> OperationDefinitionNode:
    return next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def requested_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None) -> int:
    operation = _operation(document)
    if operation.operation is OperationType.MUTATION:
        return MUTATION_COST
    assert schema.query_type is not None
    return _Walker(schema, document, variables).selection(schema.query_type, operation.selection_set)


def actual_cost(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None, data: dict[str, Any] | None
) -> int:
    operation = _operation(document)
    if operation.operation is OperationType.MUTATION:
        return MUTATION_COST
    assert schema.query_type is not None
    return _Walker(schema, document, variables).selection(schema.query_type, operation.selection_set, data or {})
