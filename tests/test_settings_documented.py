"""Every setting is documented in the README's settings table."""

from __future__ import annotations

from tests.conftest import ROOT

from opsconductor.config import Settings


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        f"OPSC_{name.upper()}" for name in Settings.model_fields
        if f"OPSC_{name.upper()}" not in readme
    ]  # fmt: skip
    assert not missing, f"undocumented settings: {missing}"
