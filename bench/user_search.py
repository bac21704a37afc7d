"""How long finding people takes (``GET /api/users``' read) among 100,000 users.

Scenario ``users`` of ``python -m bench`` (also ``python -m bench.user_search [--users N]
[--postgres URL]``): builds the app's context in this process on a fresh SQLite file (and on
PostgreSQL when ``TIDINGS_BENCH_POSTGRES_URL`` or ``--postgres`` names a database, which is
emptied), bulk-seeds N users named like people (username: a first name and a number,
``alice48213``; display name: first and last name, "Alice Whitfield", so a last name is found
only through the display name) with their index rows (``directory.user_grams``, as the
migration's backfill writes them), gives the searcher 50 friends, then times
``directory.search`` (the route's whole read: candidates, rows, ranking) through
``ctx.db.run_query`` as the route does, for four kinds of query, each kind a set of different
queries run several times: p50 and p99 over all the runs of a kind. It also counts how often
the intended person was found (typos: a user with the right first name first; display names:
the right last name first). Figures measure, they do not assert.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bench.plan import Run, percentile
from bench.write_cost import in_process_settings, reset_postgres
from tidings.accounts import directory
from tidings.accounts.models import User
from tidings.context import build_context, close_context
from tidings.db import utcnow
from tidings.friends.models import Friendship
from tidings.realtime.transaction import Transaction

PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$0000000000000000000000"
FRIENDS = 50
BATCH = 2000
LIMIT = 20


def _split(names: str) -> list[str]:
    return names.split()


FIRST_NAMES = _split(
    "aaron abigail adam adrian aisha alan albert alex alexander alice alicia alison amanda amber "
    "amelia amy andrea andrew angela anna anthony antonio arthur ashley barbara benjamin beth "
    "betty bob bobby brandon brenda brian bruce carl carlos carol caroline catherine charles "
    "charlotte chloe chris christina christopher cynthia daniel david deborah dennis diana donald "
    "donna dorothy douglas dylan edward elena elizabeth emily emma eric ethan eugene evelyn frank "
    "gabriel gary george gerald gloria grace gregory hannah harold heather helen henry isabella "
    "jack jacob james janet jason jean jeffrey jennifer jeremy jessica joan john jonathan jose "
    "joseph joshua joyce juan judith julia julie justin karen katherine kathleen keith kelly "
    "kenneth kevin kimberly larry laura lauren lawrence linda lisa louis lucas lucie madison "
    "margaret maria marie mark martha mary matthew megan melissa michael michelle nancy natalie "
    "nathan nicholas nicole noah olivia pamela patricia patrick paul peter philip rachel ralph "
    "raymond rebecca richard robert roger ronald rose russell ruth ryan samantha samuel sandra "
    "sara scott sean sharon shirley sophia stephanie stephen steven susan teresa thomas timothy "
    "tyler victoria vincent virginia walter wayne william zachary zoe"
)
LAST_NAMES = _split(
    "abbott acosta adams alvarez anderson archer bailey baker barnes bell bennett blackwood "
    "brooks brown bryant butler campbell carter castillo chavez clark coleman collins cook cooper "
    "cruz danvers davis diaz dixon edwards ellis evans fernandez fisher flores ford foster garcia "
    "gibson gomez gonzalez gordon graham gray green griffin hall hamilton harris hayes henderson "
    "hernandez hill holmes howard hughes hunt jackson james jenkins johnson jones jordan kelly "
    "kennedy kim king lane lee lewis long lopez marshall martin martinez mason mcdonald meyer "
    "miller mitchell moore morales morgan morris murphy murray myers nelson nguyen ortiz owens "
    "palmer parker patel perez perry peterson phillips porter powell price ramirez reed reyes "
    "reynolds richardson rivera roberts robinson rodriguez rogers ross russell sanchez sanders "
    "scott shaw simmons smith spencer stewart stone sullivan taylor thomas thompson torres tucker "
    "turner walker wallace ward warren washington watson webb wells west white whitfield williams "
    "wilson wood wright young"
)


def _typo(rng: random.Random, word: str) -> str:
    """One edit after the first letter: a transposition, a substitution or a deletion."""
    i = rng.randint(1, len(word) - 2)
    kind = rng.choice(("swap", "replace", "drop"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "replace":
        other = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[i]])
        return word[:i] + other + word[i + 1 :]
    return word[:i] + word[i + 1 :]


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    numbers = rng.sample(range(10_000, 10_000 + 10 * count), count)
    people = []
    for n in numbers:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        people.append((f"{first}{n}", f"{first.capitalize()} {last.capitalize()}"))
    return people


def _seed_users(tx: Transaction, first_id: int, people: list[tuple[str, str]]) -> None:
    now = utcnow()
    tx.session.execute(
        insert(User),
        [
            {
                "id": first_id + n,
                "username": username,
                "display_name": display_name,
                "password_hash": PASSWORD_HASH,
                "created_at": now,
            }
            for n, (username, display_name) in enumerate(people)
        ],
    )
    tx.session.execute(
        insert(directory.UserSearchGram),
        [
            {"gram": gram, "user_id": first_id + n}
            for n, (username, display_name) in enumerate(people)
            for gram in directory.user_grams(username, display_name)
        ],
    )


def _seed_friends(tx: Transaction, friend_ids: list[int]) -> None:
    now = utcnow()
    rows = [{"user_id": 1, "friend_id": f, "created_at": now} for f in friend_ids]
    rows += [{"user_id": f, "friend_id": 1, "created_at": now} for f in friend_ids]
    tx.session.execute(insert(Friendship), rows)


def _queries(rng: random.Random, per_kind: int) -> dict[str, list[tuple[str, str]]]:
    """Per kind: (query, what a good first result has) pairs."""
    firsts = rng.sample(FIRST_NAMES, per_kind)
    longer = [n for n in FIRST_NAMES if len(n) >= 5]
    lasts = [n for n in LAST_NAMES if len(n) >= 6]
    return {
        "prefix (3-4 letters of a first name)": [
            (name[: rng.choice((3, 4))], name) for name in firsts
        ],
        "infix (2 letters inside a name)": [
            (name[i : i + 2], name)
            for name in rng.sample(longer, per_kind)
            for i in [rng.randint(1, len(name) - 2)]
        ],
        "typo (one edit in a first name)": [
            (_typo(rng, name), name) for name in rng.sample(longer, per_kind)
        ],
        "display name (a last name's first 5 letters)": [
            (name[:5], name) for name in rng.sample(lasts, per_kind)
        ],
    }


def _is_intended(kind: str, q: str, expected: str, user: User) -> bool:
    names = directory.words(user.username) + directory.words(user.display_name)
    if kind.startswith("prefix"):
        return any(name.startswith(q) for name in names)
    if kind.startswith("infix"):
        return any(q in name for name in names)
    if kind.startswith("display"):
        return directory.words(user.display_name)[-1] == expected
    return directory.words(user.display_name)[0] == expected


async def measure(database_url: str, users: int, per_kind: int, runs: int) -> dict[str, Any]:
    ctx = await build_context(in_process_settings(database_url))
    rng = random.Random(13)
    result: dict[str, Any] = {"users": users, "kinds": {}}
    try:
        people = [("searcher", "The Searcher"), *_people(rng, users - 1)]
        start = time.perf_counter()
        for first in range(0, len(people), BATCH):
            await ctx.writer.run(_seed_users, first + 1, people[first : first + BATCH])
        await ctx.writer.run(_seed_friends, rng.sample(range(2, users + 1), FRIENDS))
        if not database_url.startswith("sqlite"):
            await _vacuum(database_url)
        result["seed_seconds"] = time.perf_counter() - start
        result["index_rows"] = await ctx.db.run_query(
            lambda s: s.scalar(text("SELECT count(*) FROM user_search_gram"))
        )
        for kind, queries in _queries(rng, per_kind).items():
            times: list[float] = []
            hits = anywhere = 0
            found_counts = []
            for q, expected in queries:

                def run(session: Session, q: str = q) -> list[directory.Match]:
                    return directory.search(session, q, 1, LIMIT)

                found = await ctx.db.run_query(run)  # warm-up, and what it finds
                intended = [_is_intended(kind, q, expected, m.user) for m in found]
                hits += bool(intended[:1] == [True])
                anywhere += any(intended)
                found_counts.append(len(found))
                for _ in range(runs):
                    start = time.perf_counter()
                    await ctx.db.run_query(run)
                    times.append((time.perf_counter() - start) * 1000)
            result["kinds"][kind] = {
                "examples": [q for q, _ in queries[:4]],
                "n": len(times),
                "p50": percentile(times, 50),
                "p99": percentile(times, 99),
                "max": max(times),
                "found_first": hits,
                "found_anywhere": anywhere,
                "queries": len(queries),
                "results_min": min(found_counts),
            }
    finally:
        await close_context(ctx)
    return result


async def _vacuum(url: str) -> None:
    """What autovacuum does after a bulk insert: statistics, and the visibility map that lets
    the gram count read the index alone (18 ms -> 4 ms for one query here without it)."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def measure_all(
    users: int, per_kind: int, runs: int, postgres: str | None
) -> dict[str, dict[str, Any]]:
    """The scenario on a fresh SQLite file, and on PostgreSQL if a URL is given."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/users.db"
        results["SQLite"] = await measure(url, users, per_kind, runs)
    if postgres:
        await reset_postgres(postgres)
        results["PostgreSQL"] = await measure(postgres, users, per_kind, runs)
    return results


async def scenario(run: Run) -> None:
    """``python -m bench users``: the plan's user count, SQLite and (if configured) PostgreSQL."""
    plan = run.plan
    postgres = os.environ.get("TIDINGS_BENCH_POSTGRES_URL")
    run.say(
        f"users: finding people among {plan.user_search_users:,} users "
        f"(SQLite{', PostgreSQL' if postgres else ''})"
    )
    results = await measure_all(
        plan.user_search_users, plan.user_search_queries, plan.user_search_runs, postgres
    )
    run.results["users"] = {"databases": results, "postgres": bool(postgres)}


def report_lines(r: dict[str, Any]) -> list[str]:
    """The report's section (bench/report.py)."""
    d = r["users"]
    lines = [
        "## 7. Finding people",
        "",
        "`GET /api/users?q=` 's whole read (`accounts.directory.search`: candidates from the "
        "trigram index, the users' rows, the ranking with rapidfuzz), limit 20, in the server's "
        "process through `run_query` as the route does, for a searcher with 50 friends. Each "
        "kind is a set of different queries, each run several times after a warm-up. *Intended "
        "first* counts the queries whose first result is someone intended (a typo: the first "
        "name it misspells; a display name: that last name; a prefix or infix: any name with "
        "it), *in the 20* those with one anywhere in the page.",
        "",
    ]
    for database, res in d["databases"].items():
        lines += [
            f"**{database}**: {res['users']:,} users, {res['index_rows']:,} index rows "
            f"(seeded in {res['seed_seconds']:.1f} s).",
            "",
            "| query kind | e.g. | runs | p50 | p99 | max | intended first | in the 20 "
            "| fewest results |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for kind, k in res["kinds"].items():
            examples = ", ".join(f"`{q}`" for q in k["examples"])
            lines.append(
                f"| {kind} | {examples} | {k['n']} | {k['p50']:.1f} ms | {k['p99']:.1f} ms | "
                f"{k['max']:.1f} ms | {k['found_first']}/{k['queries']} | "
                f"{k['found_anywhere']}/{k['queries']} | {k['results_min']} |"
            )
        lines.append("")
    if not d["postgres"]:
        lines += ["PostgreSQL: not run (set `TIDINGS_BENCH_POSTGRES_URL`).", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.user_search", description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20, help="different queries per kind")
    parser.add_argument("--runs", type=int, default=5, help="runs of each query")
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is emptied)")
    args = parser.parse_args()
    results = asyncio.run(measure_all(args.users, args.queries, args.runs, args.postgres))
    print("\n".join(report_lines({"users": {"databases": results, "postgres": args.postgres}})))


if __name__ == "__main__":
    main()
