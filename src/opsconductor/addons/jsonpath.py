"""The JSON paths of addon manifests: a small, safe subset, compiled once and resolved often.

A path is dotted keys with list steps: ``labels.instance``, ``alerts[*]``,
``evalMatches[0].metric``. Inside a record, ``$`` names the whole body: ``$.commonLabels.team``.
``[*]`` (every item of a list) is allowed only where a manifest asks for a list of records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"([^.\[\]\s]+)((?:\[(?:\*|\d{1,6})\])*)")
_INDEX = re.compile(r"\[(\*|\d+)\]")
EVERY = -1
"""The index step ``[*]``."""


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path: whether it starts at the body (``$``) and its steps (keys, indexes)."""

    text: str
    from_root: bool
    steps: tuple[str | int, ...]

    @property
    def fans_out(self) -> bool:
        """Whether the path has a ``[*]`` step."""
        return EVERY in self.steps


def compile_path(text: str) -> JsonPath:
    """``text`` as a :class:`JsonPath`; ``ValueError`` saying where it breaks."""
    rest, from_root = text, False
    if rest == "$":
        return JsonPath(text, True, ())
    if rest.startswith("$."):
        rest, from_root = rest[2:], True
    if not rest:
        raise ValueError("an empty path")
    steps: list[str | int] = []
    position = len(text) - len(rest)
    for part in rest.split("."):
        match = _STEP.fullmatch(part)
        if match is None:
            raise ValueError(
                f"bad path {text!r} at position {position}: expected a key, optionally "
                "followed by [n] or [*]"
            )
        steps.append(match.group(1))
        steps.extend(
            EVERY if index == "*" else int(index) for index in _INDEX.findall(match.group(2))
        )
        position += len(part) + 1
    return JsonPath(text, from_root, tuple(steps))


def resolve(path: JsonPath, record: Any, body: Any = None) -> list[Any]:
    """The values ``path`` reaches in ``record`` (``body`` for a ``$`` path); empty when none.

    A path without ``[*]`` reaches at most one value.
    """
    found = [body if path.from_root else record]
    for step in path.steps:
        following: list[Any] = []
        for value in found:
            if isinstance(step, str):
                if isinstance(value, dict) and step in value:
                    following.append(value[step])
            elif isinstance(value, list):
                if step == EVERY:
                    following.extend(value)
                elif step < len(value):
                    following.append(value[step])
        found = following
    return found
