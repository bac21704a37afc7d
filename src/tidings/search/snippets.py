"""Snippets: a window of a message's text, cut into segments that say which parts matched.

The database marks the matches (FTS5 ``highlight()``, PostgreSQL ``ts_headline`` with
``HighlightAll``) in the whole text, with ``OPEN`` and ``CLOSE``, two private-use characters; the
answer is plain segments (``{text, match}``) the browser turns into text nodes, never HTML.
A message may contain those characters itself, so the marked text is read against the content it
was made from: a marker is a character the content does not have at that place. Whatever the
content, the segments' texts joined are the window of it exactly; if the marked text is not the
content plus markers, the window is shown unmarked.

The window starts up to ``CONTEXT_BEFORE`` characters before the first match and is up to
``WINDOW`` characters long, cut at white space where there is some, with "…" where it cuts.
"""

from __future__ import annotations

from tidings.search.schemas import SnippetSegment

OPEN = "\ue000"
CLOSE = "\ue001"
WINDOW = 200
CONTEXT_BEFORE = 60
ELLIPSIS = "…"


def marked_spans(content: str, marked: str) -> list[tuple[int, int]] | None:
    """The ``(start, end)`` offsets in ``content`` of the parts ``marked`` puts between ``OPEN``
    and ``CLOSE``; None if ``marked`` is not ``content`` with markers added."""
    spans: list[tuple[int, int]] = []
    at = 0
    start: int | None = None
    for char in marked:
        if at < len(content) and char == content[at]:
            at += 1
        elif char == OPEN and start is None:
            start = at
        elif char == CLOSE and start is not None:
            if at > start:
                spans.append((start, at))
            start = None
        else:
            return None
    if at != len(content):
        return None
    if start is not None and at > start:
        spans.append((start, at))
    return spans


def _window(content: str, first: tuple[int, int]) -> tuple[int, int]:
    """The window around the first match (``first``: its start and end)."""
    if len(content) <= WINDOW:
        return 0, len(content)
    start = max(0, first[0] - CONTEXT_BEFORE)
    if start > 0:
        space = _next_space(content, start, first[0])
        start = space + 1 if space is not None else start
    end = min(len(content), start + WINDOW)
    if end < len(content):
        space = _last_space(content, max(start, first[1]), end)
        end = space if space is not None else end
    return start, end


def _next_space(content: str, start: int, stop: int) -> int | None:
    for at in range(start - 1, stop):
        if content[at].isspace():
            return at
    return None


def _last_space(content: str, start: int, end: int) -> int | None:
    for at in range(end, start - 1, -1):
        if content[at].isspace():
            return at
    return None


def snippet(content: str, marked: str | None) -> list[SnippetSegment]:
    """The segments of ``content``'s window around its first match, as ``marked`` marks it."""
    spans = marked_spans(content, marked) if marked is not None else None
    spans = spans or []
    start, end = _window(content, spans[0] if spans else (0, 0))
    segments: list[SnippetSegment] = []

    def add(text: str, match: bool) -> None:
        if not text:
            return
        if segments and segments[-1].match == match:
            segments[-1] = SnippetSegment(text=segments[-1].text + text, match=match)
        else:
            segments.append(SnippetSegment(text=text, match=match))

    if start > 0:
        add(ELLIPSIS, False)
    at = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        add(content[at:span_start], False)
        add(content[span_start:span_end], True)
        at = span_end
    add(content[at:end], False)
    if end < len(content):
        add(ELLIPSIS, False)
    return segments
