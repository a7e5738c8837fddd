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
          "chasquid-cpp": "chasquid-cpp"}


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


def rcpts():
    data = rows("rcpts")
    for r in data:
        r["msgs_per_s"] = r["accepted_per_s"]
        # Deliveries (recipients) per second, from the start of the run.
        r["deliveries_per_s"] = str(
            float(r["messages"]) * float(r["rcpts"]) / float(r["deliver_s"]))
        r["cpu_ms_per_delivery"] = str(float(r["cpu_s_per_1000"]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, col, title in (
            (axes[0], "cpu_ms_per_delivery",
             "CPU ms per delivery (daemon + MDA)"),
            (axes[1], "deliveries_per_s", "deliveries/s (until all done)")):
        for server, pts in by_server(data, "rcpts", col).items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                    label=LABELS[server])
        ax.set_xscale("log")
        ax.set_xlabel("local recipients per message")
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("bench/smtp_source: recipients per message (10 sessions, "
                 "10 KiB)")
    fig.tight_layout()
    fig.savefig(HERE / "rcpts.png", dpi=80)


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


def main():
    for name, draw in (("msgsize", msgsize), ("rcpts", rcpts),
                       ("connmem", connmem)):
        if (HERE / f"{name}.csv").exists():
            draw()
            print(f"wrote {name}.png")


if __name__ == "__main__":
    main()
