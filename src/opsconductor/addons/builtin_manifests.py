"""Manifest files: the built-in manifests shipped in ``addons/builtin/*.yaml``, and a file an
operator installs (YAML or JSON; JSON is YAML too, but its own parser gives better errors)."""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from opsconductor.addons.manifest import Manifest, parse_manifest
from opsconductor.errors import AddonError, Problem


def builtin_manifests() -> dict[str, Manifest]:
    """Every manifest shipped with the product, by id."""
    folder = resources.files("opsconductor.addons").joinpath("builtin")
    found: dict[str, Manifest] = {}
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if file.name.endswith(".yaml"):
            manifest = load_manifest_file(file)
            if manifest.id in found:
                raise AddonError(manifest.id, [Problem(("id",), f"{file.name}: defined twice")])
            found[manifest.id] = manifest
    return found


def load_manifest_file(path: str | Path | Traversable) -> Manifest:
    """The manifest in a YAML or JSON file; AddonError names the file and each problem."""
    file = Path(path) if isinstance(path, str) else path
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AddonError(str(path), [Problem((), f"cannot read: {exc}")]) from exc
    try:
        return parse_manifest(read_document(text))
    except AddonError as exc:
        raise AddonError(f"{exc.addon} ({file.name})", exc.problems) from exc


def read_document(text: str) -> Any:
    """A manifest document from YAML or JSON text; AddonError when it is neither."""
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AddonError("(file)", [Problem((), f"not valid YAML or JSON: {reason}")]) from exc
