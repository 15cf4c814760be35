"""Literal text a rule's message expression cannot match without: the cheap test first.

An agent sees every event of its domains, and for most of them none of its rules match.
Running each rule's regular expression costs microseconds; a substring test on the
lower-cased message costs a fraction of one. So each ``message`` expression is examined once
for the literal text every match must contain (the longest run of plain characters at its
top level, or one such run per top-level alternative), and an event whose message holds none
of them is turned away before the expression runs. The examination is conservative: whatever
it is not sure of (character classes, escapes other than escaped punctuation, groups,
repeated or optional characters, non-ASCII text under case folding) ends a run, and an
expression with no usable run gets no literal test at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_LITERAL = 3
"""Shorter runs are not worth a test of their own."""
_SPECIAL = frozenset(".^$*+?{}[]\\|()")
_OPTIONAL = frozenset("*?{")
_KNOWN_OPENINGS = ("(?:", "(?P<", "(?=", "(?!", "(?<=", "(?<!")
_UNSURE = re.compile(r"\\[xuUN0-9]|\(\?P=|\(\?#|(?<!\\)\{(?!\d+(?:,\d*)?\}|,\d+\})")
"""Numeric escapes and back-references (the text they stand for is not what is written),
comments (brackets in them are not brackets), and a ``{`` that is not a quantifier."""


def _skip_class(text: str, index: int) -> int:
    """The index after the character class that starts at ``text[index] == '['``."""
    index += 1
    if index < len(text) and text[index] == "^":
        index += 1
    if index < len(text) and text[index] == "]":
        index += 1
    while index < len(text) and text[index] != "]":
        index += 2 if text[index] == "\\" else 1
    return index + 1


def _skip_group(text: str, index: int) -> int:
    """The index after the group that starts at ``text[index] == '('``."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _skip_class(text, index)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return index


def _top_level_branches(text: str) -> list[str]:
    """``text`` split at its top-level ``|``."""
    branches, start, index = [], 0, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
        elif char == "[":
            index = _skip_class(text, index)
        elif char == "(":
            index = _skip_group(text, index)
        elif char == "|":
            branches.append(text[start:index])
            start = index = index + 1
        else:
            index += 1
    branches.append(text[start:])
    return branches


_GROUP_PREFIXES = (("?:", True), ("?P<", True), ("?=", True), ("?<=", True), ("?!", False),
                   ("?<!", False), ("?", False))  # fmt: skip
"""Group openings: whether every match of the pattern also matches the group's content."""


def _group_content(group: str) -> str | None:
    """The content of ``(…)`` when a match of it is required, else ``None``."""
    inner = group[1:-1]
    for prefix, required in _GROUP_PREFIXES:
        if inner.startswith(prefix):
            if not required:
                return None
            if prefix == "?P<":
                return inner[inner.index(">") + 1 :]
            return inner[len(prefix) :]
    return inner


def _group_set(branch: str, index: int) -> tuple[frozenset[str] | None, int]:
    """The required set of the group at ``branch[index]`` (``None`` if it may be skipped),
    and the index after the group."""
    end = _skip_group(branch, index)
    if end < len(branch) and branch[end] in _OPTIONAL:
        return None, end
    content = _group_content(branch[index:end])
    return (None if content is None else _alternatives(content)), end


def _after_quantifier(branch: str, index: int) -> int:
    """The index after the ``?``, ``*`` or ``{m,n}`` at ``branch[index]``."""
    if branch[index] != "{":
        return index + 1
    end = branch.find("}", index)
    return len(branch) if end < 0 else end + 1


def _required_sets(branch: str) -> Iterable[frozenset[str]]:
    """Sets of texts each of which is required: a match of ``branch`` holds one of each."""
    run: list[str] = []
    index = 0
    while index < len(branch):
        char = branch[index]
        if char == "\\" and index + 1 < len(branch):
            escaped, index = branch[index + 1], index + 2
            if not escaped.isalnum() and escaped.isascii():
                run.append(escaped)
                continue
        elif char in _OPTIONAL:
            if run:
                run.pop()  # the character before a quantifier may be absent or repeated
            index = _after_quantifier(branch, index)
        elif char == "[":
            index = _skip_class(branch, index)
        elif char == "(":
            found, index = _group_set(branch, index)
            if found is not None:
                yield found
        elif char in _SPECIAL or not char.isascii():
            index += 1
        else:
            run.append(char)
            index += 1
            continue
        if len(run) >= MIN_LITERAL:
            yield frozenset({"".join(run).lower()})
        run = []
    if len(run) >= MIN_LITERAL:
        yield frozenset({"".join(run).lower()})


def _best(branch: str) -> frozenset[str] | None:
    """The most selective required set of ``branch``: its shortest text the longest."""
    return max(_required_sets(branch), key=lambda found: min(map(len, found)), default=None)


def _alternatives(text: str) -> frozenset[str] | None:
    """A set of texts of which every match of ``text`` holds one, or ``None``."""
    union: set[str] = set()
    for branch in _top_level_branches(text):
        found = _best(branch)
        if found is None:
            return None
        union |= found
    return frozenset(union)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Lower-case texts of which every match of ``pattern`` contains at least one.

    ``None`` when no such set can be told (then every event runs the expression).
    """
    if pattern.startswith("(?") and not pattern.startswith(_KNOWN_OPENINGS):
        return None  # inline flags or other constructs: stay out
    if _UNSURE.search(pattern):
        return None
    return _alternatives(pattern)


def any_literal(literals: Iterable[frozenset[str] | None]) -> tuple[str, ...] | None:
    """The union of several expressions' literal sets; ``None`` if one of them has none."""
    union: set[str] = set()
    for found in literals:
        if found is None:
            return None
        union |= found
    return tuple(sorted(union)) if union else None


def may_match(literals: Iterable[str], message: str) -> bool:
    """False only when ``message`` holds none of ``literals`` (sure for ASCII messages;
    others are never turned away, since case folding goes beyond ``str.lower`` there)."""
    if not message.isascii():
        return True
    lowered = message.lower()
    return any(literal in lowered for literal in literals)
