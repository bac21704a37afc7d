"""Finding people: the index of usernames and display names that ``GET /api/users`` searches.

Writes that change a user's names keep it in step, in their own transaction:
``index_user`` after a user is created or renamed, ``unindex_user`` when an account is deleted.
Someone who blocked the asker is never found (``blocks``); whom the asker blocked still is (so
they can be unblocked from their profile).

**The index** (``user_search_gram``, migration 0007) is one portable trigram table, the same on
SQLite and PostgreSQL: a row per (gram, user) for every pg_trgm-style padded trigram of each
word of the user's username and display name (words split at anything not a letter or digit,
``_`` too), after folding (casefold, NFKD, combining marks dropped: "Zoë" is found by "zoe").
"alice" gives ``"  a"``, ``" al"``, ``"ali"``, ``"lic"``, ``"ice"``, ``"ce "``.

A typo near the start of a short word leaves it no trigram in common with the right one
("dnav" and "danvers"), or one that thousands of names share ("alcie" and "alice": ``" al"``),
so each word also gives *typo keys*: ``~`` and its first four letters less one ("alice":
``"~lic"``, ``"~aic"``, ``"~alc"``, ``"~ali"``; SymSpell's deletion neighbourhood, cut to the
start of the word). Two words whose starts are one edit apart (a transposition too) share at
least one key.

Neither database's own tool finds what people type: pg_trgm's similarity of "alcie" to "alice"
is 0.2 (under its 0.3 cut) and of "ob" to "bobby" 0, and SQLite's FTS5 trigram tokenizer needs
3 characters and has no similarity at all. The key is (gram, user_id), so a gram's users are
one range of the primary key (a ``WITHOUT ROWID`` table on SQLite); on PostgreSQL the column has
the "C" collation, so that a range of grams is a range of code points (a linguistic collation
would sort ``"ob "`` among the ``"ob…"``).

**Candidates** (the index rows of the query's grams are read, a few thousand among 100,000
users, and a few hundred users handed on):

* 3 characters or more: the users sharing the most grams and typo keys with the query's words,
  counted by the database (``GROUP BY user_id ORDER BY count(*) DESC LIMIT 200``). The query's
  ``"  x"`` grams are left out: one letter at the start of a word is shared by a 26th of
  everyone, and ``" xy"`` says the same more precisely.
* 1 or 2 characters: first those with a word that may be exactly them (a word starting and
  one ending with them: ``" xy"`` and ``"xy "``), then the words that start with them (the gram
  ``"  x"`` or ``" xy"``) and, for 2,
  every word that contains them: the grams that *start* with the two characters (``"ob "``,
  ``"obb"``…), one range scan of the key. That is how ``ob`` finds ``bob``.
* Always all of the asker's friends, however weak their match, so ranking decides for them and
  no cut can drop them.

**Ranking** (in Python, against each folded word of the names and each name's words whole):

1. the names that contain what was typed (exactly, as a prefix or inside a name) before those
   that are only similar to it;
2. in each of these two groups, friends first (who you are looking for is more likely someone
   you know; but a friend "Sharon" merely like "shir" does not come before a "Shirley");
3. then how the query matches: exactly (a username, a word or the whole display name equals it),
   then as a prefix, then inside a name (``ob`` in ``bob``), then by similarity only;
4. then the similarity: the best Damerau-Levenshtein normalized similarity (rapidfuzz) of the
   query to a name or to a name's first ``len(q)`` characters (a typo in what is still being
   typed: ``dnav`` for "danvers"), the latter counted at 95 %;
5. then the shorter username, then the username.

A match that is none of exact, prefix or infix and whose similarity is under ``MIN_SIMILARITY``
(two thirds: one edit in three letters, two in six) is dropped; a query of 1 or 2 characters
matches by exact, prefix or infix only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from sqlalchemy import ForeignKey, Index, String, Table, delete, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tidings.accounts.models import User
from tidings.blocks import queries as block_queries
from tidings.db import Base
from tidings.friends.models import Friendship

CANDIDATES = 200
"""The most users a query's gram count or gram range hands to the ranking (friends besides)."""
MIN_SIMILARITY = 0.66
"""Below this, a match by similarity alone is dropped."""
PREFIX_SIMILARITY_WEIGHT = 0.95
TYPO_MARK = "~"
"""Starts a typo key (never a gram's first character: names are folded to letters and digits)."""

_WORD = re.compile(r"[^\W_]+")
"""A run of letters and digits, after folding: ``_`` and punctuation separate words."""


class UserSearchGram(Base):
    """One padded trigram of one user's names (see the module docstring)."""

    __tablename__ = "user_search_gram"
    __table_args__ = (
        Index("ix_user_search_gram_user_id", "user_id"),
        {"sqlite_with_rowid": False},
    )

    gram: Mapped[str] = mapped_column(
        String(4).with_variant(String(4, collation="C"), "postgresql"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )


_grams = cast(Table, UserSearchGram.__table__)
_users = cast(Table, User.__table__)


def fold(text: str) -> str:
    """Text as the index compares it: casefolded, accents and other combining marks dropped."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words (runs of letters and digits) of a name or a query."""
    return _WORD.findall(fold(text))


def _padded_grams(word: str) -> Iterable[str]:
    padded = f"  {word} "
    return (padded[i : i + 3] for i in range(len(padded) - 2))


def _typo_keys(word: str) -> Iterable[str]:
    """``~`` and the word's first 4 (3) characters less one: two words whose starts are one
    deletion, insertion, substitution or transposition apart share at least one of these."""
    start = word[:4] if len(word) >= 4 else word[:3]
    if len(start) < 3:
        return ()
    return (TYPO_MARK + start[:i] + start[i + 1 :] for i in range(len(start)))


def _word_grams(word: str) -> set[str]:
    return {*_padded_grams(word), *_typo_keys(word)}


def user_grams(username: str, display_name: str) -> set[str]:
    """Every gram the index holds for a user with these names."""
    names = {*words(username), *words(display_name)}
    return {gram for name in names for gram in _word_grams(name)}


def index_user(session: Session, user_id: int, username: str, display_name: str) -> None:
    """(Re)index a user's names (call after creating the user or changing their display name)."""
    unindex_user(session, user_id)
    grams = user_grams(username, display_name)
    if grams:
        session.execute(
            insert(_grams), [{"gram": gram, "user_id": user_id} for gram in sorted(grams)]
        )


def unindex_user(session: Session, user_id: int) -> None:
    """Take a user out of the index (their account is deleted)."""
    session.execute(delete(_grams).where(_grams.c.user_id == user_id))


def _next_string(prefix: str) -> str:
    """The least string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _candidate_ids(session: Session, query: str) -> list[int]:
    """Users whose names may match the folded query (see "Candidates" above)."""
    query_words = _WORD.findall(query)
    if not query_words:
        return []
    if len(query) <= 2:
        word = query_words[0]
        prefix_gram = ("  " + word)[-3:]  # "  o" or " ob": a word starting with it
        suffix_gram = f" {word} "[-3:]  # " o " or "ob ": a word ending with it
        # First those with a word that may be it exactly (one starting and one ending with
        # it): the cuts below read in user id order, and would drop a late "Al" for "al".
        # (A join of the two ranges, both in user id order: a merge join on PostgreSQL.)
        ending = _grams.alias("ending")
        found = list(
            session.scalars(
                select(_grams.c.user_id)
                .join(
                    ending,
                    (ending.c.user_id == _grams.c.user_id) & (ending.c.gram == suffix_gram),
                )
                .where(_grams.c.gram == prefix_gram)
                .limit(CANDIDATES)
            )
        )
        found += session.scalars(
            select(_grams.c.user_id).where(_grams.c.gram == prefix_gram).limit(CANDIDATES)
        )
        if len(word) == 2:
            # Every gram that starts with the two characters: a word containing them.
            found += session.scalars(
                select(_grams.c.user_id)
                .where(_grams.c.gram >= word, _grams.c.gram < _next_string(word))
                .limit(CANDIDATES * 2)
            )
        return list(dict.fromkeys(found))[: CANDIDATES * 2]
    grams = {g for word in query_words for g in _word_grams(word) if not g.startswith("  ")}
    return list(
        session.scalars(
            select(_grams.c.user_id)
            .where(_grams.c.gram.in_(sorted(grams)))
            .group_by(_grams.c.user_id)
            .order_by(func.count().desc())
            .limit(CANDIDATES)
        )
    )


def friend_ids(session: Session, user_id: int) -> set[int]:
    """The ids of the user's friends."""
    return set(session.scalars(select(Friendship.friend_id).where(Friendship.user_id == user_id)))


@dataclass(frozen=True)
class Match:
    """A user found by a search, and whether they are the asker's friend."""

    user: User
    is_friend: bool


def _names(user: User) -> list[str]:
    """What a query is compared with: each folded word of the user's names, and each name's
    words as a whole."""
    username, display = words(user.username), words(user.display_name)
    return list(dict.fromkeys([*username, *display, " ".join(username), " ".join(display)]))


def _score(query: str, user: User) -> tuple[int, float] | None:
    """(how: 3 exact, 2 prefix, 1 infix, 0 similar; similarity), or None if too weak."""
    names = _names(user)
    if query in names:
        return 3, 1.0
    if any(name.startswith(query) for name in names):
        how = 2
    elif any(query in name for name in names):
        how = 1
    else:
        how = 0
    if len(query) <= 2:
        return (how, 1.0) if how else None
    similar = DamerauLevenshtein.normalized_similarity
    whole = process.extractOne(query, names, scorer=similar)
    start = process.extractOne(query, [name[: len(query)] for name in names], scorer=similar)
    similarity = max(
        whole[1] if whole else 0.0, PREFIX_SIMILARITY_WEIGHT * start[1] if start else 0.0
    )
    if how == 0 and similarity < MIN_SIMILARITY:
        return None
    return how, similarity


def search(session: Session, q: str, asker_id: int, limit: int) -> list[Match]:
    """The users matching ``q`` for ``asker_id``, best first (yourself excluded); an empty ``q``:
    your friends, by username."""
    friends = friend_ids(session, asker_id)
    query = " ".join(words(q))
    if not q.strip():
        rows = session.scalars(
            select(User)
            .where(User.id.in_(friends), User.deleted_at.is_(None))
            .order_by(User.username)
            .limit(limit)
        )
        return [Match(user, True) for user in rows]
    if not query:
        return []
    ids = set(_candidate_ids(session, query)) | friends
    ids.discard(asker_id)
    ids -= block_queries.blockers_of(session, asker_id)  # who blocked you is not found
    if not ids:
        return []
    ranked: list[tuple[tuple[bool, bool, int, float, int, str], Match]] = []
    for user in _users_by_ids(session, sorted(ids)):
        score = _score(query, user)
        if score is None:
            continue
        how, similarity = score
        is_friend = user.id in friends
        key = (how == 0, not is_friend, -how, -similarity, len(user.username), user.username)
        ranked.append((key, Match(user, is_friend)))
    ranked.sort(key=lambda pair: pair[0])
    return [match for _, match in ranked[:limit]]


def _users_by_ids(session: Session, ids: Sequence[int]) -> list[User]:
    # A deleted account is unindexed and friendless already; this only closes the gap of a
    # deletion committed between the candidates' read and this one.
    return list(session.scalars(select(User).where(User.id.in_(ids), User.deleted_at.is_(None))))
