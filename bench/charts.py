"""PNG charts (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _cdf(ax: Any, values_ms: list[float], label: str) -> None:
    if not values_ms:
        return
    xs = sorted(values_ms)
    ys = [(i + 1) / len(xs) for i in range(len(xs))]
    ax.plot(xs, ys, label=label)


def draw(r: dict[str, Any], out: Path) -> dict[str, str]:
    files: dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=90)
        plt.close(fig)
        files[name] = f"{name}.png"

    if "polling" in r:
        p, q = r["polling"]["polling"], r["polling"]["push"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        labels = ["requests/min", "SQL queries/min", "CPU s x100", "KiB to clients"]
        pv = [
            p["requests_per_min"],
            p["queries_per_min"],
            p["cpu_s"] * 100,
            p["bytes_to_clients"] / 1024,
        ]
        qv = [
            q["requests_per_min"],
            q["queries_per_min"],
            q["cpu_s"] * 100,
            q["bytes_to_clients"] / 1024,
        ]
        xs = range(len(labels))
        axes[0].bar([x - 0.2 for x in xs], pv, 0.4, label="polling")
        axes[0].bar([x + 0.2 for x in xs], qv, 0.4, label="push")
        axes[0].set_xticks(list(xs), labels, fontsize=8)
        axes[0].set_yscale("log")
        axes[0].legend()
        axes[0].set_title("Polling vs push: load (log scale)")
        _cdf(axes[1], [v / 1e6 for v in p["lat_ns"]], "polling")
        _cdf(axes[1], [v / 1e6 for v in q["lat_ns"]], "push")
        axes[1].set_xscale("log")
        axes[1].set_xlabel("send → seen (ms)")
        axes[1].set_title("Delivery latency CDF")
        axes[1].legend()
        save(fig, "polling")

    if "idle" in r:
        pts = r["idle"]["points"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        axes[0].plot(
            [0] + [p["held"] for p in pts],
            [pts[0]["rss0"] / 2**20] + [p["rss"] / 2**20 for p in pts],
            "o-",
            label="Tidings",
        )
        pp = r.get("pushpin", {}).get("idle")
        if pp:
            axes[0].plot(
                [0, pp["opened"]], [pp["rss0"] / 2**20, pp["rss"] / 2**20], "s--", label="Pushpin"
            )
        axes[0].set_xlabel("idle streams")
        axes[0].set_ylabel("RSS (MiB)")
        axes[0].set_title("Memory vs connections")
        axes[0].legend()
        axes[1].bar([f"{p['held']:,}" for p in pts], [p["rss_per_stream"] / 1024 for p in pts])
        axes[1].axhline(15 * 1000 / 1024, color="red", linestyle=":", label="target 15 KB")
        axes[1].set_ylabel("KiB per stream")
        axes[1].set_title("RSS per idle stream")
        axes[1].legend()
        save(fig, "idle")

    if "latency" in r:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for lv in r["latency"]["levels"]:
            ms = [v / 1e6 for v in lv.get("lat_ns", [])]
            _cdf(axes[0], ms, f"{lv['rate']}/s")
            if ms:
                axes[1].hist(ms, bins=50, histtype="step", label=f"{lv['rate']}/s")
        axes[0].set_xscale("log")
        axes[0].set_xlabel("send → arrival (ms)")
        axes[0].set_title(f"Latency CDF, {r['latency']['streams']:,} streams")
        axes[0].legend()
        axes[1].set_xlabel("ms")
        axes[1].set_yscale("log")
        axes[1].set_title("Latency histogram")
        axes[1].legend()
        save(fig, "latency")

    if "fanout" in r:
        fig, ax = plt.subplots(figsize=(6, 4))
        sz = [e for e in r["fanout"]["sizes"] if "last_ms" in e]
        ax.plot([e["size"] for e in sz], [e["last_ms"] for e in sz], "o-", label="Tidings last")
        ax.plot([e["size"] for e in sz], [e["first_ms"] for e in sz], "o:", label="Tidings first")
        pf = [e for e in r.get("pushpin", {}).get("fanout", []) if "last_ms" in e]
        if pf:
            ax.plot([e["size"] for e in pf], [e["last_ms"] for e in pf], "s-", label="Pushpin last")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("online members")
        ax.set_ylabel("ms after send")
        ax.set_title("Fan-out of one group message")
        ax.legend()
        save(fig, "fanout")

    if "writes" in r:
        fig, ax = plt.subplots(figsize=(6, 4))
        for lv in r["writes"]["levels"]:
            _cdf(
                ax,
                [v / 1e6 for v in lv["lat_ns"]],
                f"{lv['clients']} clients, {lv.get('senders', 0):,}"
                f"{' new' if lv.get('new_senders') else ''} senders",
            )
        ax.set_xscale("log")
        ax.set_xlabel("POST latency (ms)")
        ax.set_title("Write path: POST latency CDF")
        ax.legend()
        save(fig, "writes")
    return files
