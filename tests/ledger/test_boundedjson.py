"""ledger.boundedjson: size and depth are checked before the recursive C parser runs."""

from __future__ import annotations

import sys

import pytest

from ledger.boundedjson import JsonLimitError, check_depth, loads


def test_deep_nesting_is_refused_without_reaching_the_parser():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(JsonLimitError, match="deeper than 64 levels"):
        loads(deep, max_bytes=1 << 20)


def test_refused_even_with_a_raised_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what py_ecc does on import
    try:
        with pytest.raises(JsonLimitError):
            loads(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, max_bytes=1 << 20)
    finally:
        sys.setrecursionlimit(old)


@pytest.mark.parametrize(
    "doc",
    [b'["[[[[[[[[[["]', b'{"k": "\\"[[[[[[[["}', b'["\\\\", [["["]]]', b'"{{{{{{{{"'],
)
def test_brackets_inside_strings_do_not_count(doc):
    check_depth(doc, max_depth=3)
    loads(doc, max_bytes=100, max_depth=3)


def test_depth_at_the_limit_is_accepted_and_one_more_refused():
    assert loads(b"[" * 5 + b"]" * 5, max_bytes=100, max_depth=5) == [[[[[]]]]]
    with pytest.raises(JsonLimitError, match="deeper than 5"):
        loads(b"[" * 6 + b"]" * 6, max_bytes=100, max_depth=5)


def test_size_limit_names_both_sizes():
    with pytest.raises(JsonLimitError, match="11 bytes, limit 10"):
        loads(b'"123456789"', max_bytes=10)


@pytest.mark.parametrize("doc", [b"{", b"\xff\xfe", b"nope", b'{"a":1,}'])
def test_malformed_json_is_a_limit_error(doc):
    with pytest.raises(JsonLimitError, match="not valid json"):
        loads(doc, max_bytes=100)
