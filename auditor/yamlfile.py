"""Read YAML input files and point at the line of a bad value.

PyYAML's composed node tree keeps the position of every node; validation errors
(pydantic ``loc`` tuples) are mapped back to ``FILE:LINE`` through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import ConfigError

_Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[int | str]) -> int:
        """1-based line of the value at ``loc``; the nearest known ancestor when ``loc`` is not in the file."""
        node, line = self.root, 1
        for key in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            node = _child(node, key)
        if node is not None:
            line = node.start_mark.line + 1
        return line

    def where(self, loc: Sequence[int | str]) -> str:
        return f"{self.path}:{self.line_of(loc)}"


def _child(node: yaml.Node, key: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]  # type: ignore[no-any-return]
    return None


def load_yaml(path: Path, error: type[ConfigError] = ConfigError) -> YamlDocument:
    """Parse ``path``; a missing file or broken YAML raises ``error`` naming ``FILE:LINE``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from exc
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise error(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from exc
    return YamlDocument(path=path, data=data, root=root)
