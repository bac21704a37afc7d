"""The web app's first load (issue 16): bytes and requests over the network, and the time until
the sidebar is usable, with an empty cache and again with a warm one.

Scenario ``first_load`` of ``python -m bench`` (also ``python -m bench.first_load``). One
``tidings serve`` (SQLite); one user with ``CONVERSATIONS`` direct conversations of
``MESSAGES`` messages each, seeded in the database and sent through the API. Chromium (the
Debian build the e2e tests use) opens ``/`` signed in, in a fresh browser context (an empty
cache: *cold*), then closes the page and opens ``/`` again in the same context (*warm*: a second
visit, its HTTP cache kept). Per visit, from the DevTools protocol: every request the page made
and whether the network or the cache answered it, the bytes it took on the wire
(``Network.loadingFinished``'s ``encodedDataLength``: headers and the body as sent, compressed
or not) and the body's decoded size. The event stream, which stays open, is counted as a
request but its bytes are not. *Usable* is the moment, in ``performance.now()`` from the
navigation's start, when ``#app`` says ``data-ready="true"`` and the conversation list holds
every conversation (a MutationObserver installed before the page's scripts notes it).

Each visit runs on loopback, and with the network throttled to Lighthouse's mobile profile
(150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up; DevTools applies the latency to each
request), where the count of round trips and the bytes show; both with the service worker
blocked (what the server's static files cost), and the throttled one again with the worker
allowed (what it adds: the shell it fetches at install, the page it keeps). Figures measure,
they assert nothing; the time is the median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from bench import seed
from bench.client import HttpConn
from bench.plan import FULL, QUICK, Run
from bench.server import TidingsServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CONVERSATIONS = 20
MESSAGES = 5
SLOW_4G = {"latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
PROFILES: dict[str, tuple[dict[str, float] | None, bool]] = {
    "loopback": (None, False),
    "slow 4G": (SLOW_4G, False),
    "slow 4G, service worker": (SLOW_4G, True),
}
"""Name: (network throttling, whether the page may install its service worker)."""
QUIET_S = 0.5
"""A visit ends when no request but the event stream has been in flight for this long."""
BASELINE = Path(__file__).parent / "results" / "first_load_baseline.json"
"""A run's results kept from before content-hashed, compressed assets (the report compares)."""

WATCH_USABLE = """(() => {
  const observer = new MutationObserver(() => {
    const app = document.getElementById("app");
    const list = document.querySelector('[data-testid="conversation-list"]');
    if (app?.dataset.ready === "true" && list?.children.length >= %d) {
      window.__usableAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();"""


async def _seed(server: TidingsServer) -> str:
    """User 1 with a DM with each of users 2..CONVERSATIONS+1, MESSAGES messages in each; their
    session cookie's value."""
    people = seed.seed(
        server.db_path, CONVERSATIONS + 1, [(1, k) for k in range(2, CONVERSATIONS + 2)], []
    )
    conn = HttpConn(server.host, server.port)
    try:
        for k in range(2, CONVERSATIONS + 2):
            dm = people.dm[(1, k)]
            for n in range(MESSAGES):
                sender = k if n % 2 == 0 else 1
                body = json.dumps({"content": f"Message {n + 1} between 1 and {k}"}).encode()
                status, _ = await conn.request(
                    "POST",
                    f"/api/conversations/{dm}/messages",
                    cookie=people.cookie(sender),
                    body=body,
                )
                if status != 201:
                    raise RuntimeError(f"seeding a message: HTTP {status}")
    finally:
        conn.close()
    return people.tokens[1]


async def _visit(context: Any, url: str, conditions: dict[str, float] | None) -> dict[str, Any]:
    """Open ``url`` in a new page of ``context``; what it fetched and when it was usable."""
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    if conditions is not None:
        await cdp.send("Network.emulateNetworkConditions", {"offline": False, **conditions})
    requests: dict[str, dict[str, Any]] = {}
    settled = asyncio.Event()
    worker: dict[Any, int | None] = {}
    """The service worker's own requests (Playwright sees them): bytes on the wire, once done
    (Playwright does not always say a worker's request finished: they are not waited for)."""

    def check_settled() -> None:
        if all(r["done"] for r in requests.values() if r["type"] != "EventSource"):
            settled.set()

    def sent(e: dict[str, Any]) -> None:
        requests[e["requestId"]] = {
            "url": e["request"]["url"],
            "type": e.get("type", "Other"),
            "done": False,
            "cached": False,
            "wire": 0,
            "body": 0,
        }
        if e.get("type") != "EventSource":
            settled.clear()

    def received(e: dict[str, Any]) -> None:
        r = requests.get(e["requestId"])
        if r is not None:
            response = e["response"]
            r["cached"] = r["cached"] or bool(
                response.get("fromDiskCache")
                or response.get("fromPrefetchCache")
                or response.get("fromServiceWorker")
            )

    def from_cache(e: dict[str, Any]) -> None:
        if e["requestId"] in requests:
            requests[e["requestId"]]["cached"] = True

    def data(e: dict[str, Any]) -> None:
        if e["requestId"] in requests:
            requests[e["requestId"]]["body"] += e["dataLength"]

    def finished(e: dict[str, Any]) -> None:
        r = requests.get(e["requestId"])
        if r is not None:
            r["done"] = True
            r["wire"] = 0 if r["cached"] else int(e.get("encodedDataLength", 0))
            check_settled()

    def failed(e: dict[str, Any]) -> None:
        r = requests.get(e["requestId"])
        if r is not None:
            r["done"] = True
            check_settled()

    def worker_sent(request: Any) -> None:
        if request.service_worker is not None:
            worker[request] = None

    async def worker_done(request: Any) -> None:
        if request in worker:
            with contextlib.suppress(PlaywrightError):  # the page closed meanwhile
                sizes = await request.sizes()
                worker[request] = sizes["responseHeadersSize"] + sizes["responseBodySize"]

    context.on("request", worker_sent)
    context.on("requestfinished", worker_done)
    context.on("requestfailed", worker_done)
    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", received)
    cdp.on("Network.requestServedFromCache", from_cache)
    cdp.on("Network.dataReceived", data)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.loadingFailed", failed)
    await page.goto(url, wait_until="commit")
    try:
        usable = await page.wait_for_function("() => window.__usableAt", timeout=60_000)
    except PlaywrightError as error:
        state = await page.evaluate(
            "() => [document.getElementById('app')?.dataset.ready,"
            " document.querySelector('[data-testid=conversation-list]')?.children.length]"
        )
        raise RuntimeError(f"{url} not usable in 60 s (data-ready, items: {state})") from error
    usable_ms = float(await usable.json_value())
    while True:  # until nothing but the stream is in flight, and nothing new starts for a while
        try:
            await asyncio.wait_for(settled.wait(), timeout=30)
        except TimeoutError:
            pending = [r["url"] for r in requests.values() if not r["done"]]
            raise RuntimeError(f"still loading after 30 s: {pending}") from None
        seen = len(requests) + len(worker)
        await asyncio.sleep(QUIET_S)
        if settled.is_set() and len(requests) + len(worker) == seen:
            break
    context.remove_listener("request", worker_sent)
    context.remove_listener("requestfinished", worker_done)
    context.remove_listener("requestfailed", worker_done)
    timing = await page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return { dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd }; }"
    )
    await page.close()
    rows = list(requests.values())
    network = [r for r in rows if not r["cached"]]
    return {
        "usable_ms": usable_ms,
        "dom_content_loaded_ms": timing["dom_content_loaded"],
        "load_ms": timing["load"],
        "requests": len(rows),
        "network_requests": len(network),
        "wire_bytes": sum(r["wire"] for r in network),
        "body_bytes": sum(r["body"] for r in network),
        "by_type": dict(Counter(r["type"] for r in network)),
        "static_wire_bytes": sum(r["wire"] for r in network if "/static/" in r["url"]),
        "static_body_bytes": sum(r["body"] for r in network if "/static/" in r["url"]),
        "worker_requests": len(worker),
        "worker_wire_bytes": sum(size or 0 for size in worker.values()),
        "worker_unmeasured": sum(1 for size in worker.values() if size is None),
    }


async def measure(
    server: TidingsServer, token: str, runs: int, profiles: list[str]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            for name in profiles:
                conditions, worker = PROFILES[name]
                visits: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
                for _ in range(runs):
                    context = await browser.new_context(
                        service_workers="allow" if worker else "block"
                    )
                    await context.add_cookies(
                        [{"name": seed.COOKIE, "value": token, "url": server.url}]
                    )
                    await context.add_init_script(WATCH_USABLE % CONVERSATIONS)
                    visits["cold"].append(await _visit(context, server.url + "/", conditions))
                    visits["warm"].append(await _visit(context, server.url + "/", conditions))
                    await context.close()
                results[name] = visits
        finally:
            await browser.close()
    return results


async def scenario(run: Run) -> None:
    """``python -m bench first_load``: writes ``first_load.md`` beside the report."""
    server = TidingsServer(run.raw / "first_load", run.server_core)
    await server.start()
    run.code_states.append(server.code)
    try:
        token = await _seed(server)
        run.say(f"first_load: {CONVERSATIONS} conversations seeded, loading the app")
        load_before = os.getloadavg()[0]
        names = ["loopback"] if run.plan.quick else list(PROFILES)
        profiles = await measure(server, token, run.plan.first_load_runs, names)
    finally:
        server.stop()
    run.results["first_load"] = {
        "code": server.code,
        "runs": run.plan.first_load_runs,
        "load_average": (load_before, os.getloadavg()[0]),
        "shell": shell_sizes(),
        **profiles,
    }
    (run.out / "first_load.md").write_text("\n".join(report_lines(run.results)) + "\n")


def shell_sizes() -> dict[str, int]:
    """The app page's static files (its modules, the stylesheet, the icon): how many, their
    bytes, and gzipped as served."""
    from tidings.web.assets import AssetManifest

    assets = AssetManifest()
    urls = {assets.url("js/app.js"), assets.url("css/tidings.css"), assets.url("icon.svg")}
    shell = [assets.by_url[url] for url in urls | set(assets.preload_urls("js/app.js"))]
    return {
        "files": len(shell),
        "bytes": sum(len(a.body) for a in shell),
        "gzipped": sum(len(a.gzipped or a.body) for a in shell),
    }


def _median(visits: list[dict[str, Any]], key: str) -> float:
    return statistics.median(v[key] for v in visits)


def _kb(n: float) -> str:
    return f"{n / 1000:,.1f} kB"


def _rows(label: str, d: dict[str, Any]) -> list[str]:
    rows = []
    for name in (name for name in PROFILES if name in d):
        for kind in ("cold", "warm"):
            visits = d[name][kind]
            v = visits[0]
            types = ", ".join(f"{n} {t.lower()}" for t, n in sorted(v["by_type"].items()))
            if v.get("worker_requests"):
                types += (
                    f"; and the service worker's {v['worker_requests']}, "
                    f"{_kb(v['worker_wire_bytes'])}"
                )
                if v.get("worker_unmeasured"):
                    types += f" ({v['worker_unmeasured']} not measured)"
            elif PROFILES[name][1]:
                types += "; no service worker fetched anything"
            rows.append(
                f"| {label} | {name} | {kind} | {v['network_requests']} of {v['requests']} "
                f"({types}) | {_kb(v['wire_bytes'])} ({_kb(v['static_wire_bytes'])}) | "
                f"{_kb(v['body_bytes'])} ({_kb(v['static_body_bytes'])}) | "
                f"{_median(visits, 'usable_ms'):,.0f} ms | {_median(visits, 'load_ms'):,.0f} ms |"
            )
    return rows


def report_lines(r: dict[str, Any]) -> list[str]:
    """The report's section (bench/report.py), also written to ``first_load.md``."""
    d = r["first_load"]
    lines = [
        "## 9. First load of the web app",
        "",
        f"One user with {CONVERSATIONS} conversations of {MESSAGES} messages; Chromium opens "
        "`/` in a fresh browser context (*cold*: empty cache), then again in the same context "
        "(*warm*: a second visit). *Requests*: those the network answered, of all the page "
        "made (a service worker's answers count as cached), and by kind the network's (the "
        "event stream is one); the service worker's own fetches, and their bytes on the wire, "
        "are counted apart. *On the "
        "wire*: bytes the page received, headers included (not the event stream's), and of "
        "them the static files' (scripts, stylesheet, icon); *decoded*: the same bodies after "
        "decompression. "
        "*Usable*: from the navigation's start until the conversation list shows all "
        f"{CONVERSATIONS} conversations; *load*: the page's load event. Times are medians of "
        f"{d['runs']} run(s), bytes and requests the first run's. *slow 4G*: DevTools "
        "throttling, 150 ms per request, 1.6 Mbit/s down. The service worker is blocked but where "
        "it says so. How it measures: "
        "`bench/first_load.py`.",
        "",
        "| code | network | visit | requests | on the wire (static) | decoded (static) "
        "| usable | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    runs = [("now", d)]
    if BASELINE.exists():
        runs.insert(0, ("before", json.loads(BASELINE.read_text())))
    for label, result in runs:
        lines += _rows(label, result)
    lines.append("")
    shell = d["shell"]
    lines += [
        f"The app page's static files (now): {shell['files']} (its modules, the stylesheet, "
        f"the icon), {_kb(shell['bytes'])}, {_kb(shell['gzipped'])} gzipped as served.",
        "",
    ]
    shown = "slow 4G" if "slow 4G" in d else "loopback"
    lines.append(
        f"What it means, on {shown} (the loopback times are CPU-bound on a shared machine):"
    )
    lines.append("")
    for label, result in runs:
        cold, warm = result[shown]["cold"], result[shown]["warm"]
        kinds = warm[0]["by_type"]
        static = sum(kinds.get(kind, 0) for kind in ("Script", "Stylesheet", "Image", "Other"))
        load = result.get("load_average")
        lines.append(
            f"- {label} ({result['code']}): a cold load took {_kb(cold[0]['wire_bytes'])} "
            "and was usable in "
            f"{_median(cold, 'usable_ms') / 1000:.1f} s; a second visit asked the network for "
            f"{static} static files, {_kb(warm[0]['wire_bytes'])} in all, usable in "
            f"{_median(warm, 'usable_ms') / 1000:.1f} s"
            + (f" (load average {load[0]:.1f} to {load[1]:.1f})." if load else ".")
        )
    if len(runs) == 2:
        lines += [
            "",
            "Before, the files were sent as they are, under their plain names, with an ETag and "
            "a Last-Modified date but no Cache-Control: whether a browser asks again on a later "
            "visit was its heuristic (fresh for a tenth of the file's age), so soon after a deploy "
            "it revalidated every file, one request each (304), and could mix versions (measured "
            "on a checkout a minute old: the second visit revalidated all 55 static files; 20 "
            "minutes old: none). Now "
            "the page names each file by a hash of its content, cached for a year as immutable: "
            "a second visit fetches only the page, the API's answers and the event stream; and "
            "the page's modulepreload list fetches the whole module graph in one round instead "
            "of one round per level of imports.",
        ]
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run per profile")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--save-baseline", action="store_true", help=f"also keep the results as {BASELINE.name}"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(QUICK if args.quick else FULL, Path(tmp), None, None)
        run.raw.mkdir()
        asyncio.run(scenario(run))
    if args.save_baseline:
        BASELINE.write_text(json.dumps(run.results["first_load"], indent=1) + "\n")
    body = "\n".join(report_lines(run.results)) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "first_load.md").write_text(body)
    print(body)


if __name__ == "__main__":
    main()
