"""The literal prefilter never turns away a message its expression would match."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconductor.agents.packs import builtin_packs
from opsconductor.agents.prefilter import may_match, required_literals
from opsconductor.agents.rules import compile_regex


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"bad password attempt for .* from (?P<src>[0-9a-f.:]+)", {"bad password attempt for "}),
        (r"foo|barx", {"foo", "barx"}),
        (r"colou?r change", {"r change"}),
        (r"a{2,3}bcd", {"bcd"}),
        (r"deauth(enticated)? due", {"deauth"}),
        (r"ab+cdef", {"cdef"}),
        (r"(?=.*(?:segfault at|SIGSEGV to))(?P<p>\S+)", {"segfault at", "sigsegv to"}),
        (r"(?P<what>kernel panic|\bBUG: )", {"kernel panic", "bug: "}),
        (r"x\.y\.z", {"x.y.z"}),
    ],
)
def test_required_literals(pattern: str, literals: set[str]) -> None:
    assert required_literals(pattern) == literals


@pytest.mark.parametrize(
    "pattern",
    [r"(?i)abc", r"x\x41yz", r"(a)\1bc", r"(?P<a>x)(?P=a)yz", r"ab", r"\d+ \w+", r"(?!abc)d"],
)
def test_no_literals_when_unsure(pattern: str) -> None:
    assert required_literals(pattern) is None


def test_non_ascii_messages_are_never_turned_away() -> None:
    # U+212A KELVIN SIGN matches "k" case-insensitively in Python; str.lower() keeps it.
    message = "\u212aernel panic"
    assert compile_regex("kernel panic").search(message)
    assert may_match({"kernel panic"}, message)


def _corpus(shared_data: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted((shared_data / "openwrt").rglob("*")):
        if path.is_file() and path.suffix in (".log", ""):
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    for path in sorted((shared_data / "loghub").rglob("*.log")):
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _pack_patterns() -> list[str]:
    patterns = []
    for rules in builtin_packs().values():
        for rule in rules:
            for conditions in rule.roles().values():
                if conditions.message is not None:
                    patterns.append(conditions.message)
    return patterns


def test_sound_for_every_built_in_rule_on_the_real_logs(shared_data: Path) -> None:
    lines = _corpus(shared_data)
    assert len(lines) > 5000
    for pattern in _pack_patterns():
        literals = required_literals(pattern)
        if literals is None:
            continue
        regex = compile_regex(pattern)
        for line in lines:
            if regex.search(line):
                assert may_match(literals, line), (pattern, line)


_WORDS = st.sampled_from(
    ["ab", "cde", "fgh", "x", "ijkl", ".", ".*", "\\d", "?", "+", "|", "(", ")", "(?:", "(?=",
     "(?P<g>", "{2}", "{0,3}", "[a-c]", "\\.", "{", "}", "(?#", "{,2}"]
)  # fmt: skip


@settings(max_examples=2000)
@given(st.lists(_WORDS, min_size=1, max_size=10), st.text(alphabet="abcdefghijklx0 .", max_size=40))
def test_sound_on_generated_patterns(words: list[str], text: str) -> None:
    pattern = "".join(words)
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return
    literals = required_literals(pattern)
    if literals is not None and regex.search(text):
        assert may_match(literals, text)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("xyz(?#()abc|defgh", "defgh"), ("q{(}abcd)?", "q{"), ("x{[}abcdef]", "x{a")],
)
def test_comments_and_literal_braces_give_no_literals(pattern: str, message: str) -> None:
    assert compile_regex(pattern).search(message)
    assert required_literals(pattern) is None
