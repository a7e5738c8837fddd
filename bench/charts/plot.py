#!/usr/bin/python3
"""Draws the charts in bench/README.md from the CSV files beside this
script (written by the benchmarks' --csv options), with Debian's
python3-matplotlib. Usage: bench/charts/plot.py (writes <name>.png for
each <name>.csv it knows)."""

import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
LABELS = {"ours": "chasquid-cpp", "chasquid-1.11": "chasquid 1.11",
          "chasquid-cpp": "chasquid-cpp",
          "before": "chasquid-cpp before (1586b97)"}


def rows(name):
    with open(HERE / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


def by_server(data, x, y):
    out = {}
    for r in data:
        if r["server"] not in LABELS:
            continue
        out.setdefault(r["server"], []).append((float(r[x]), float(r[y])))
    return {k: sorted(v) for k, v in out.items()}


def msgsize():
    data = rows("msgsize")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, col, title in (
            (axes[0], "cpu_s_per_mib",
             "CPU s per MiB delivered (daemon + MDA)"),
            (axes[1], "accepted_mib_per_s", "accepted MiB/s")):
        for server, pts in by_server(data, "size_bytes", col).items():
            ax.plot([p[0] / 1024 for p in pts], [p[1] for p in pts],
                    marker="o", label=LABELS[server])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("message size, KiB")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("bench/smtp_source: message size (10 sessions)")
    fig.tight_layout()
    fig.savefig(HERE / "msgsize.png", dpi=80)


def rcpts(name="rcpts", where="local"):
    data = rows(name)
    for r in data:
        r["msgs_per_s"] = r["accepted_per_s"]
        # Deliveries (recipients) per second, from the start of the run.
        r["deliveries_per_s"] = str(
            float(r["messages"]) * float(r["rcpts"]) / float(r["deliver_s"]))
        r["cpu_ms_per_delivery"] = str(float(r["cpu_s_per_1000"]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, col, title in (
            (axes[0], "cpu_ms_per_delivery",
             "CPU ms per delivery (daemon + MDA)" if where == "local"
             else "CPU ms per delivery (daemon)"),
            (axes[1], "deliveries_per_s", "deliveries/s (until all done)")):
        for server, pts in by_server(data, "rcpts", col).items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                    label=LABELS[server])
        ax.set_xscale("log")
        ax.set_xlabel(f"{where} recipients per message")
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("bench/smtp_source: recipients per message (10 sessions, "
                 "10 KiB)")
    fig.tight_layout()
    fig.savefig(HERE / f"{name}.png", dpi=80)


def rcpts_remote():
    rcpts("rcpts_remote", "remote (smtp-sink)")


def connmem():
    data = rows("connmem")
    fig, ax = plt.subplots(figsize=(6, 4))
    for server, pts in by_server(data, "served",
                                 "bytes_per_connection").items():
        ax.plot([p[0] for p in pts], [p[1] / 1024 for p in pts], marker="o",
                label=LABELS[server])
    ax.set_xlabel("idle connections served")
    ax.set_ylabel("RSS KiB per connection")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title("bench/conn_memory: idle connections")
    fig.tight_layout()
    fig.savefig(HERE / "connmem.png", dpi=80)


def bigqueue():
    data = rows("bigqueue")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for r in data:
        r["kib_per_item"] = str(float(r["bytes_per_item"]) / 1024)
    for ax, col, title in (
            (axes[0], "listen_s", "start-up until listening, s"),
            (axes[1], "settle_s", "until every item was tried once, s"),
            (axes[2], "kib_per_item", "RSS per queued item, KiB")):
        for server, pts in by_server(data, "items", col).items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                    label=LABELS[server])
        ax.set_xscale("log")
        if col != "kib_per_item":
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("queued items")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("bench/bigqueue: a queue of waiting items (1.5 KB each)")
    fig.tight_layout()
    fig.savefig(HERE / "bigqueue.png", dpi=80)

    # The /debug/queue page: the whole queue (ours with ?limit=0; chasquid
    # 1.11's only page, left out where it took over the bench's timeout).
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, col, title, scale in (
            (axes[0], "whole_page_s", "/debug/queue, whole queue: s", 1),
            (axes[1], "whole_page_bytes", "/debug/queue, whole queue: MiB",
             1 / 1048576)):
        pts_by = {}
        for r in data:
            if r["server"] not in LABELS or r[col] in ("nan", "", "0"):
                continue
            pts_by.setdefault(r["server"], []).append(
                (float(r["items"]), float(r[col]) * scale))
        for server, pts in pts_by.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                    label=LABELS[server])
        # Ours by default: the first page of 1,000 items.
        pcol = "page_s" if col == "whole_page_s" else "page_bytes"
        pts = sorted((float(r["items"]), float(r[pcol]) * scale)
                     for r in data if r["server"] == "ours")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="s",
                linestyle="--", label="chasquid-cpp, default page")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("queued items")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("bench/bigqueue: /debug/queue (chasquid 1.11 took over "
                 "60 s from 10,000 items on: not drawn)")
    fig.tight_layout()
    fig.savefig(HERE / "bigqueue_page.png", dpi=80)


def main():
    for name, draw in (("msgsize", msgsize), ("rcpts", rcpts),
                       ("connmem", connmem), ("bigqueue", bigqueue),
                       ("rcpts_remote", rcpts_remote)):
        if (HERE / f"{name}.csv").exists():
            draw()
            print(f"wrote {name}.png")


if __name__ == "__main__":
    main()
