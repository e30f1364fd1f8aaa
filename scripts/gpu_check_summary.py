#!/usr/bin/env python3
"""summary.md of scripts/gpu_check.sh: per step what ran and how it ended, the environment, and per
shape, dtype and layout the best implementation with its speedup over the best cuDNN row and
over PyTorch (report.py's summary table: one ranking logic for the report and this summary).

Reads the bench and peer CSVs through scripts/tconv_results.py (the one loader). "cuDNN" rows
are those whose name matches --baseline-regex (default ^cudnn, as plot.py and report.py).
Written atomically; a missing or empty CSV gives a summary that says so, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402


def read_steps(path):
    steps = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4:
                    steps.append(parts)
    return steps


def load(path):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None, "not written"
    try:
        return tr.load_results([path], ["suite", "shape", "dtype", "layout", "impl", "status",
                                        "time_ms_median"]), ""
    except Exception as e:  # a half-run step must not stop the summary
        return None, f"unreadable: {e}"


def status_counts(df):
    return {k: int(v) for k, v in df["status"].value_counts().items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", required=True)
    ap.add_argument("--env", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--peer", default="")
    ap.add_argument("--bench-log", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=int, default=0)
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--baseline-regex", default="^cudnn")
    a = ap.parse_args(argv)

    md = ["# gpu_check summary", ""]
    md.append(f"Wall time {a.elapsed} s of a {a.budget} s budget. Every number below was measured "
              "by this run on the GPU named in the environment section.")
    md += ["", "## Steps", "", "| step | result | seconds | detail |", "|---|---|---|---|"]
    for name, state, secs, detail in read_steps(a.steps):
        md.append(f"| {name} | {state} | {secs} | {detail} |")

    md += ["", "## Environment", "", "```"]
    if os.path.exists(a.env):
        with open(a.env, encoding="utf-8", errors="replace") as f:
            md += [ln.rstrip("\n") for ln in f][:60]
    md += ["```", ""]

    bench, why = load(a.bench)
    peer, peer_why = load(a.peer) if a.peer else (None, "not run")
    md.append("## Rows")
    md.append("")
    if bench is None:
        md.append(f"bench.csv: {why}.")
    else:
        counts = status_counts(bench)
        md.append("bench.csv: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) +
                  f" ({len(bench)} rows).")
        if "accuracy" in bench.columns:
            red = bench[bench["accuracy"].astype(str) == "reduced"]
            if len(red):
                md.append(f"{len(red)} passed rows have reduced accuracy (beyond the dtype's bound, "
                          "within the documented reduced-precision bound): " +
                          ", ".join(sorted(set(red["impl"].astype(str)))) + ".")
        bad = bench[bench["status"].isin(["incorrect", "failed"])]
        if len(bad):
            md += ["", "Incorrect or failed rows (first 40):", "",
                   "| suite | shape | dtype | layout | impl | status | reason |",
                   "|---|---|---|---|---|---|---|"]
            for _, r in bad.head(40).iterrows():
                reason = str(r.get("reason", "")).replace("|", "/")[:200]
                md.append(f"| {r['suite']} | {r['shape']} | {r['dtype']} | {r['layout']} | "
                          f"{r['impl']} | {r['status']} | {reason} |")
    md += ["", f"peer.csv: {peer_why or ('%d rows' % len(peer))}."]
    md.append("")

    if bench is not None:
        # The pick per shape comes from report.py (one ranking logic for the report and this
        # summary), over the bench rows and the PyTorch peer's.
        md += ["## Best implementation per shape, dtype and layout", ""]
        inputs = [a.bench] + ([a.peer] if peer is not None else [])
        try:
            import report
            md.append(report.summary_markdown(inputs, baseline_regex=a.baseline_regex).strip())
        except Exception as e:  # a partial CSV must not cost the rest of the summary
            md.append(f"(no table: {e})")
        md.append("")

    if a.bench_log and os.path.exists(a.bench_log):
        with open(a.bench_log, encoding="utf-8", errors="replace") as f:
            tail = [ln.rstrip("\n") for ln in f if not re.match(r"^\[\d+/\d+\] .*: passed", ln)]
        md += ["## Bench log (without the passed rows; last 40 lines)", "", "```"] + tail[-40:] + ["```", ""]

    tr.write_text_atomic(a.out, "\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
