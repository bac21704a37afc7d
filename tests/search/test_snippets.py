"""Snippets from marked text, and the words of a typed query (no database)."""

from __future__ import annotations

import pytest

from tidings.search import terms
from tidings.search.snippets import CLOSE, ELLIPSIS, OPEN, WINDOW, marked_spans, snippet


def _mark(text: str) -> str:
    return text.replace("[", OPEN).replace("]", CLOSE)


def _segments(content: str, marked: str) -> list[tuple[str, bool]]:
    return [(s.text, s.match) for s in snippet(content, _mark(marked))]


def test_segments_of_a_short_message():
    assert _segments("Hello world", "[Hello] world") == [("Hello", True), (" world", False)]
    assert _segments("a b a", "[a] b [a]") == [("a", True), (" b ", False), ("a", True)]
    assert _segments("no match", "no match") == [("no match", False)]


def test_markers_in_the_content_are_text():
    content = f"{OPEN}x{CLOSE} y {CLOSE}"
    marked = f"{OPEN}x{CLOSE} {OPEN}y{CLOSE} {CLOSE}"
    assert marked_spans(content, marked) == [(4, 5)]
    assert "".join(s.text for s in snippet(content, marked)) == content


def test_marked_text_that_is_not_the_content_is_shown_unmarked():
    assert marked_spans("abc", "ab") is None
    assert marked_spans("abc", "abcd") is None
    assert _segments("abc", "[abd]") == [("abc", False)]
    assert _segments("abc", "[abc") == [("abc", True)]  # an unclosed mark ends with the text


def test_a_long_message_is_cut_around_the_first_match_at_white_space():
    content = "word " * 100 + "needle " + "more " * 100
    segments = snippet(content, content.replace("needle", f"{OPEN}needle{CLOSE}"))
    first, match, last = segments
    assert first.text.startswith(ELLIPSIS + "word") and first.text.endswith("word ")
    assert (match.text, match.match) == ("needle", True)
    assert last.text.endswith("more" + ELLIPSIS)
    window = "".join(s.text for s in segments)[1:-1]
    assert window in content and len(window) <= WINDOW


def test_a_long_word_is_cut_where_it_must():
    content = "x" * 1000
    assert _segments(content, f"[{content}]") == [("x" * WINDOW, True), (ELLIPSIS, False)]
    assert _segments(content, content) == [("x" * WINDOW + ELLIPSIS, False)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("hello world", ["hello", "world"]),
        ('"AND" (NEAR) x*y -z', ["AND", "NEAR", "x", "y", "z"]),
        ("it's", ["it", "s"]),
        ("🎉 ***", []),
        ("日本語 café", ["日本語", "café"]),
        ("é", ["é"]),
        ("a_b", ["a", "b"]),
    ],
)
def test_words(text, words):
    assert terms.words(text) == words


def test_backend_queries_quote_every_word_and_prefix_the_last():
    assert terms.fts5_match(["big", "hel"]) == '"big" "hel"*'
    assert terms.fts5_match(["a", "b"]) == '"a" "b"'  # one character: no prefix
    assert terms.fts5_match(['x"y']) == '"x""y"*'
    assert terms.tsquery(["big", "hel"]) == "'big' & 'hel':*"
    assert terms.tsquery(["it's", "a\\"]) == "'it''s' & 'a\\\\':*"
