"""Load a CloudFormation YAML template (short-form `!Ref`, `!Sub`, ... tags) into plain JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    pass


def _construct(tag: str):
    name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: _Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in (
    "Ref", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
    "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr", "Condition",
):  # fmt: skip
    _Loader.add_constructor(f"!{_tag}", _construct(_tag))


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)
