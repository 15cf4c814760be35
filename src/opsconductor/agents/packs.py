"""Rule packs: YAML files of rules, shipped in ``agents/packs/*.yaml`` or loaded by operators.

A pack is ``{pack: <name>, rules: [<rule>, ...]}``. A rules file given to
``opsconductor rules load`` may also be one rule or a list of rules (YAML or JSON).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from opsconductor.agents.rules import Rule, parse_rule
from opsconductor.errors import RuleError

_PACK_KEYS = frozenset({"pack", "rules", "description"})


def load_pack(path: str | Path | Traversable) -> list[Rule]:
    """The rules of a pack file; RuleError names the file and the rule at fault."""
    name, rules = _pack(_read(path), str(path))
    del name
    return rules


def builtin_packs() -> dict[str, list[Rule]]:
    """Every pack shipped with the product, by pack name."""
    folder = resources.files("opsconductor.agents").joinpath("packs")
    packs: dict[str, list[Rule]] = {}
    seen: set[str] = set()
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    for file in files:
        name, rules = _pack(_read(file), file.name)
        if name in packs:
            raise RuleError(f"{file.name}: pack {name!r} is defined twice")
        _refuse_duplicates(rules, seen, file.name)
        packs[name] = rules
    return packs


def load_rules_file(path: str | Path) -> list[Rule]:
    """The rules of a file holding a pack, one rule, or a list of rules."""
    document = _read(path)
    origin = str(path)
    if isinstance(document, dict) and "rules" in document:
        return _pack(document, origin)[1]
    if isinstance(document, dict):
        return _rules([document], origin)
    if isinstance(document, list):
        return _rules(document, origin)
    raise RuleError(f"{origin}: expected a pack, a rule or a list of rules")


def _read(path: str | Path | Traversable) -> Any:
    file = Path(path) if isinstance(path, str) else path
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc


def _pack(document: Any, origin: str) -> tuple[str, list[Rule]]:
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{origin}: expected a mapping with 'pack' and a list under 'rules'")
    name = document.get("pack")
    if not isinstance(name, str) or not name:
        raise RuleError(f"{origin}: 'pack' must name the pack")
    unknown = sorted(set(document) - _PACK_KEYS)
    if unknown:
        raise RuleError(f"{origin}: unknown keys {unknown}; allowed: pack, rules, description")
    return name, _rules(document["rules"], origin)


def _rules(documents: Iterable[Any], origin: str) -> list[Rule]:
    rules: list[Rule] = []
    for index, document in enumerate(documents, 1):
        if not isinstance(document, dict):
            raise RuleError(f"{origin}: rule {index} is not a mapping")
        try:
            rules.append(parse_rule(document))
        except RuleError as exc:
            raise RuleError(f"{origin}: {exc}") from exc
    _refuse_duplicates(rules, set(), origin)
    return rules


def _refuse_duplicates(rules: Iterable[Rule], seen: set[str], origin: str) -> None:
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{origin}: rule id {rule.id!r} is defined twice")
        seen.add(rule.id)
