"""Domain classification: the data table against the labelled OpenWrt lines, and extras."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from parse_helpers import raw_event

from opsconductor.errors import ConfigError
from opsconductor.messages import Event
from opsconductor.parse.classify import Classifier
from opsconductor.parse.service import Parser

LABEL_TO_DOMAINS = {"other": {"system", "generic"}}


def test_precision_and_recall_against_labels(shared_data: Path, parser: Parser) -> None:
    folder = shared_data / "openwrt"
    lines = (folder / "openwrt_lines.log").read_bytes().split(b"\n")
    with (folder / "openwrt_lines_labels.csv").open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    true_pos: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for label in labels:
        event = parser.parse_one(raw_event(lines[int(label["line_number"]) - 1]))
        assert isinstance(event, Event)
        want = label["domain"]
        got = "other" if event.domain in LABEL_TO_DOMAINS["other"] else event.domain
        actual[want] += 1
        predicted[got] += 1
        true_pos[want] += want == got
    print(f"\n{'domain':10} {'precision':>9} {'recall':>7} {'n':>5}")
    for domain in sorted(actual):
        precision = true_pos[domain] / predicted[domain] if predicted[domain] else 0.0
        recall = true_pos[domain] / actual[domain]
        print(f"{domain:10} {precision:9.3f} {recall:7.3f} {actual[domain]:5}")
        assert recall >= 0.8 and precision >= 0.8, domain
    accuracy = sum(true_pos.values()) / len(labels)
    print(f"accuracy {accuracy:.3f} over {len(labels)} lines")
    assert accuracy >= 0.9


def test_extra_rules_come_first(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "rules:\n"
        "  - domain: health\n    program: 'hostapd'\n    message: ['nl80211: failed']\n"
        "  - domain: system\n    program: 're:my-.*'\n",
        encoding="utf-8",
    )
    classifier = Classifier(extra)
    assert classifier.classify("hostapd", "nl80211: Failed to add interface") == "health"
    assert classifier.classify("hostapd", "wlan0: AP-ENABLED") == "wifi"
    assert classifier.classify("my-daemon", "anything") == "system"
    assert classifier.classify("unknown", "nothing to see") == "generic"


@pytest.mark.parametrize(
    "text",
    [
        "rules: 3\n",
        "rules:\n  - domain: nowhere\n",
        "rules:\n  - domain: wifi\n    colour: red\n",
        "rules:\n  - domain: wifi\n    message: '('\n",
        "rules: [\n",
    ],
)
def test_bad_tables_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        Classifier(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Classifier(tmp_path / "absent.yaml")
