"""The spaCy pipeline's attribute rules (tag -> part of speech, word exceptions), matched fast.

``en_core_web_sm``'s ``attribute_ruler`` maps fine-grained tags to parts of speech and fixes a few
words with about 180 one- and two-token patterns, run through spaCy's general ``Matcher``: a sixth
of the pipeline's time. The patterns only test token attributes for equality, membership or a
regex, so ``RuleMatcher`` finds the same matches with hash lookups, and the ruler's own
``set_annotations`` applies them: the annotations are identical. A ruler with other kinds of
pattern (or followed by a component that reads what it sets) is left in the pipeline as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

ATTRS = ("TAG", "LOWER", "DEP", "IS_SPACE")
"""Token attributes the patterns may test, in the column order of ``RuleMatcher``'s arrays."""
LEXICAL_FEATURES = frozenset({"ORTH", "LOWER", "NORM", "PREFIX", "SUFFIX", "SHAPE", "SPACY", "IS_SPACE"})
"""Features a later component may read for the rules to run after it: none the rules set."""

Predicate = Callable[[int], bool]
"""A test on one attribute's value: a string hash, or 0/1 for IS_SPACE."""
TokenTest = tuple[tuple[int, Predicate], ...]
"""(column in ATTRS, test) pairs: all must hold."""
Rule = tuple[int, int, tuple[TokenTest, ...]]
"""(rule number, match id, one test per token of the pattern)."""


class UnsupportedPattern(ValueError):
    """A ruler pattern that RuleMatcher does not handle: the ruler runs as it is."""


def _regex(pattern: str, text: Callable[[int], str]) -> Predicate:
    rx = re.compile(pattern)
    seen: dict[int, bool] = {}

    def test(value: int) -> bool:
        if value not in seen:
            seen[value] = rx.search(text(value)) is not None
        return seen[value]

    return test


def _predicate(attr: str, value: Any, strings: Any) -> Predicate:
    if attr == "IS_SPACE":
        if not isinstance(value, bool):
            raise UnsupportedPattern(f"IS_SPACE: {value!r}")
        want = int(value)
        return lambda v: v == want
    if isinstance(value, str):
        key = strings.add(value)
        return lambda v: v == key
    if isinstance(value, dict) and len(value) == 1:
        ((op, arg),) = value.items()
        if op in ("IN", "NOT_IN") and isinstance(arg, list) and all(isinstance(a, str) for a in arg):
            keys = frozenset(strings.add(a) for a in arg)
            return (lambda v: v in keys) if op == "IN" else (lambda v: v not in keys)
        if op == "REGEX" and isinstance(arg, str):
            return _regex(arg, lambda v: strings[v])
    raise UnsupportedPattern(f"{attr}: {value!r}")


def _token_test(token: Any, strings: Any) -> TokenTest:
    if not isinstance(token, dict) or not token or not set(token) <= set(ATTRS):
        raise UnsupportedPattern(repr(token))
    return tuple((ATTRS.index(attr), _predicate(attr, value, strings)) for attr, value in token.items())


def _bucket_keys(token: dict[str, Any], strings: Any) -> tuple[int, list[int]] | None:
    """(column, values) such that the first token can only match where that column holds one of
    the values: an equality or IN test on TAG, LOWER, DEP, or an IS_SPACE test; None if none."""
    for column, attr in enumerate(ATTRS):
        value = token.get(attr)
        if isinstance(value, bool):
            return column, [int(value)]
        if isinstance(value, str):
            return column, [strings.add(value)]
        if isinstance(value, dict) and isinstance(value.get("IN"), list):
            return column, [strings.add(v) for v in value["IN"]]
    return None


class RuleMatcher:
    """The matches ``ruler.match(doc)`` finds, found by looking rules up by a value their first
    token must have (rules with no such value are tried at every token)."""

    def __init__(self, ruler: Any) -> None:
        strings = ruler.vocab.strings
        self.ruler = ruler
        self._buckets: list[dict[int, list[Rule]]] = [{} for _ in ATTRS]
        self._other: list[Rule] = []
        for number, entry in enumerate(ruler.patterns):
            for pattern in entry["patterns"]:
                if not isinstance(pattern, list) or not pattern:
                    raise UnsupportedPattern(repr(pattern))
                rule = (number, strings.add(str(number)), tuple(_token_test(t, strings) for t in pattern))
                keys = _bucket_keys(pattern[0], strings)
                if keys is None:
                    self._other.append(rule)
                    continue
                for value in keys[1]:
                    self._buckets[keys[0]].setdefault(value, []).append(rule)
        from spacy.attrs import IDS

        self._columns = [IDS[a] for a in ATTRS]

    def match(self, doc: Any) -> list[tuple[int, int, int, int]]:
        """(rule number, match id, start, end) of every match, sorted: what the ruler applies."""
        n = len(doc)
        if not n:
            return []
        values = doc.to_array(self._columns).T.tolist()
        found: set[tuple[int, int, int, int]] = set()
        for column, bucket in enumerate(self._buckets):
            for i, value in enumerate(values[column]):
                for number, match_id, tests in bucket.get(value, ()):
                    if _matches(tests, values, i, n):
                        found.add((number, match_id, i, i + len(tests)))
        for number, match_id, tests in self._other:
            for i in range(n):
                if _matches(tests, values, i, n):
                    found.add((number, match_id, i, i + len(tests)))
        return sorted(found)

    def __call__(self, doc: Any) -> Any:
        self.ruler.set_annotations(doc, self.match(doc))
        return doc


def _matches(tests: Sequence[TokenTest], values: list[list[int]], start: int, n: int) -> bool:
    if start + len(tests) > n:
        return False
    for offset, test in enumerate(tests):
        for column, predicate in test:
            if not predicate(values[column][start + offset]):
                return False
    return True


def reads_only_lexical(nlp: Any, after: str) -> bool:
    """Whether every component after ``after`` reads only lexical features (so attribute rules may
    run after them): true of en_core_web_sm's NER, whose own tok2vec embeds NORM, PREFIX, SUFFIX, SHAPE."""
    names = list(nlp.pipe_names)
    for name in names[names.index(after) + 1 :]:
        embed = nlp.config["components"][name].get("model", {}).get("tok2vec", {}).get("embed", {})
        attrs = embed.get("attrs") if isinstance(embed, dict) else None
        if not attrs or not set(attrs) <= LEXICAL_FEATURES:
            return False
    return True


def fast_attribute_rules(nlp: Any, name: str = "attribute_ruler") -> RuleMatcher | None:
    """Take the attribute ruler out of ``nlp`` and return a RuleMatcher to apply to each parsed doc,
    or None (and ``nlp`` unchanged) where that would not give the same annotations."""
    if name not in nlp.pipe_names or not reads_only_lexical(nlp, name):
        return None
    try:
        rules = RuleMatcher(nlp.get_pipe(name))
    except UnsupportedPattern:
        return None
    nlp.disable_pipe(name)
    return rules
