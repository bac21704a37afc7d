"""What a search for typed text looks for: its words, spelled safely for each backend's syntax.

Typed text is never query syntax. It is cut into words (runs of letters, digits and combining
marks; everything else separates them, so quotes, parentheses, ``*``, ``-`` and emoji are never
operators), every word must appear, in any order, and the last one, the word being typed, also
matches as a prefix when it has two characters or more ("hel" finds "hello"; a prefix of one
character would read much of the index on every keystroke). ``AND``, ``OR`` and ``NEAR`` are words
like any other. Each backend's own tokenizer then reads each word (case, and on SQLite accents,
folded as in the index).
"""

from __future__ import annotations

import unicodedata

MIN_PREFIX = 2
"""The last word is matched as a prefix from this many characters on."""


def words(text: str) -> list[str]:
    """The words of a typed query, in order."""
    found: list[str] = []
    current: list[str] = []
    for char in text:
        if unicodedata.category(char)[0] in "LNM":
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def _prefixed(words: list[str]) -> list[bool]:
    return [i == len(words) - 1 and len(word) >= MIN_PREFIX for i, word in enumerate(words)]


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: each word a quoted string (FTS5 reads nothing inside as an
    operator), ``*`` after the last: ``"big" "hel"*``."""
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    return " ".join(q + "*" if p else q for q, p in zip(quoted, _prefixed(words), strict=True))


def tsquery(words: list[str]) -> str:
    """A ``to_tsquery`` text: each word a quoted lexeme (``'`` doubled, ``\\`` escaped), the last
    marked as a prefix: ``'big' & 'hel':*``."""
    quoted = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    return " & ".join(q + ":*" if p else q for q, p in zip(quoted, _prefixed(words), strict=True))
