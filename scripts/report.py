#!/usr/bin/env python3
"""Which transposed-convolution algorithm to use: a report from tconv-bench results CSVs.

usage: report.py RESULTS.csv [MORE.csv ...] [--shapes shapes.csv] [--deterministic]
                 [--max-workspace BYTES] [--baseline-regex REGEX] [--print-summary] --out DIR

Reads results CSVs (tconv_bench's, peer_pytorch.py's; the same loader as plot.py and compare.py,
tconv_results.load_results) and writes DIR/report.md and DIR/report.html (the same content; the
HTML embeds its plots as base64 PNG, the Markdown links the PNG files written beside it):

  Summary        per shape, dtype and layout: the pick (the fastest passed implementation) and,
                 with --deterministic / --max-workspace, the pick under those constraints, with
                 the speedup over the best baseline row (--baseline-regex, default ^cudnn: the
                 cuDNN rows) and over PyTorch where a peer CSV is among the inputs
  Model totals   with --shapes (the shapes file of a model, as shapes_from_onnx.py writes it):
                 per dtype and layout, the model's total transposed-convolution time
                 sum(count * median time) under each policy: the best baseline row per layer,
                 each PyTorch peer (cudnn.benchmark off / on), the pick, the constrained pick;
                 and per layer the pick. A policy without a result for some layer is marked
                 incomplete, with the sum of what it has.
  Default choice per shape, dtype and layout where a default-choice row passed (the contract's
                 default_choice_impls: what a framework gets without timing anything, such as
                 PyTorch with cudnn.benchmark off): its time against the best
                 row's, the loss (ratio), the setup the best costs (its setup_ms) and the
                 break-even: the calls after which that setup has paid for itself; setups over
                 --setup-threshold-ms are flagged. With --shapes, the same per model layer with
                 its count and the model's break-even in calls of the whole model.
  Rankings       per shape, dtype and layout, every passed implementation by median time, with
                 GFLOP/s, percent of the floor (the roofline time from the ceilings the run
                 measured: max(flops / GEMM rate of the dtype, minimum bytes / copy bandwidth),
                 over the median; empty where the run measured none), workspace, determinism
                 and, where the bench wrote it, accuracy (full or reduced)
  Speedups       per dtype, each implementation's geometric-mean speedup over the best baseline
                 row and over each PyTorch peer, over the shapes where both passed
  Not passed     rows that were incorrect, skipped or not supported, with their reasons
  Environment    per input file: GPU, driver, CUDA, cuBLAS, cuDNN, cuSPARSE, torch, commit, dates

Rows are matched across files by the problem (the PROBLEM_FIELDS and bias), not by name; where
the same implementation passed more than once for a problem, dtype and layout, its fastest row
counts. Constraints: --deterministic keeps rows whose deterministic column is 'yes';
--max-workspace keeps rows whose workspace_bytes is known and at most BYTES (suffixes K, M, G,
KiB, MiB, GiB: powers of 1024). --print-summary also prints the summary table (Markdown) on
stdout, for a caller such as a GPU check script to include; summary_markdown() gives the same to
a Python caller. Implementation names come from the data. User errors (missing file, missing columns, no rows, a bad option) are one line on stderr
and exit status 1, and no report is written.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402

PROG = "report.py"
REQUIRED_COLUMNS = ["suite", "shape", "dtype", "layout", "impl", "status",
                    "time_ms_median"] + tr.PROBLEM_FIELDS
# A peer's rows (implementations measured through another framework, each a policy of its own
# in the summary and the totals) are the rows with this column filled: peer_pytorch.py writes the
# torch version into every row, tconv_bench never writes it. The peers' names are their impl
# values, as every implementation's.
PEER_COLUMN = "torch"
ENV_COLUMNS = ["gpu", "sm_count", "driver", "cuda", "cublas", "cudnn", "cusparse", "torch",
               "commit", "cache"]
UNITS = {"": 1, "k": 1024, "kib": 1024, "kb": 1024, "m": 1024 ** 2, "mib": 1024 ** 2,
         "mb": 1024 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1024 ** 3}


# ---- options -------------------------------------------------------------------------------------

def parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in UNITS:
        raise tr.UserError(f"--max-workspace '{text}': expected a byte count such as 0, "
                           f"1048576, 64MiB or 2G")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Writes report.md and report.html: which transposed-convolution "
                    "implementation to use, per shape, and a model's total under each policy.")
    ap.add_argument("csv", nargs="+", metavar="RESULTS.csv",
                    help="results CSV file(s): tconv_bench's, peer_pytorch.py's; a folder "
                         "stands for its CSVs (the shards of a sharded run)")
    ap.add_argument("--out", required=True, metavar="DIR", help="output folder")
    ap.add_argument("--shapes", metavar="shapes.csv",
                    help="a model's shapes file (shapes_from_onnx.py / shapes_from_torch.py): "
                         "model totals weighted by its count column")
    ap.add_argument("--deterministic", action="store_true",
                    help="the constrained pick must be deterministic (bitwise repeatable)")
    ap.add_argument("--max-workspace", metavar="BYTES",
                    help="the constrained pick's workspace must be at most BYTES")
    ap.add_argument("--baseline-regex", default="^cudnn", metavar="REGEX",
                    help="implementations matching it (re.search) are the baseline policy "
                         "'best baseline row' (default: ^cudnn)")
    ap.add_argument("--setup-threshold-ms", type=float, default=1000.0, metavar="MS",
                    help="flag a best row whose setup (search, autotuning) takes longer than MS "
                         "in the default-choice table (default: 1000)")
    ap.add_argument("--print-summary", action="store_true",
                    help="also print the summary table (Markdown) on stdout")
    ap.add_argument("--dpi", type=int, default=110, help="PNG resolution (default: 110)")
    return ap.parse_args(argv)


# ---- formatting ----------------------------------------------------------------------------------

def fmt_ms(v) -> str:
    if v is None or not (v == v):
        return ""
    return f"{v:.4g}"


def fmt_x(v) -> str:
    if v is None or not (v == v) or math.isinf(v):
        return ""
    return f"{v:.2f}x"


def fmt_pct(v) -> str:
    if v is None or not (v == v):
        return ""
    return f"{v:.0f}%"


def fmt_bytes(v) -> str:
    if v is None or not (v == v):
        return ""
    v = float(v)
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{int(v)} B"


def fmt_num(v, digits=4) -> str:
    if v is None or not (v == v):
        return ""
    return f"{v:.0f}" if abs(v) >= 10 ** (digits - 1) else f"{v:.{digits}g}"


# ---- the data ------------------------------------------------------------------------------------

class Data:
    """The rows, grouped by (problem key, dtype, layout)."""

    def __init__(self, df, baseline_re, deterministic, max_ws):
        import pandas as pd

        self.df = df
        self.baseline_re = baseline_re
        self.deterministic = deterministic
        self.max_ws = max_ws
        df["bias_flag"] = tr.bias_series(df)
        bad = df[[f for f in tr.PROBLEM_FIELDS]].isna().any(axis=1)
        if bad.any():
            i = int(bad.idxmax())
            raise tr.UserError(f"{df.loc[i, 'source']}: row {i + 2}: a problem field is empty or "
                               f"not a number")
        df["key"] = [tr.problem_key({f: r[f] for f in tr.PROBLEM_FIELDS}, r["bias_flag"])
                     for _, r in df.iterrows()]
        peer = (df[PEER_COLUMN].fillna("").astype(str).str.strip() != ""
                if PEER_COLUMN in df.columns else pd.Series(False, index=df.index))
        self.peers = list(dict.fromkeys(df.loc[peer, "impl"]))  # in the order of the data
        # Group order: first appearance.
        self.groups = {}
        for i, r in df.iterrows():
            g = (r["key"], r["dtype"], r["layout"])
            self.groups.setdefault(g, []).append(i)
        self.labels = {}
        for g, idx in self.groups.items():
            names = list(dict.fromkeys(f"{df.loc[i, 'suite']}/{df.loc[i, 'shape']}" for i in idx))
            self.labels[g] = names[0] + (f" (= {', '.join(names[1:])})" if len(names) > 1 else "")
        # Ceilings per GPU name, as fallback for rows without their own (peer rows).
        self.gpu_ceilings = {}
        for col in [tr.COPY_CEILING_COLUMN] + sorted(set(tr.COMPUTE_CEILING_COLUMN.values())):
            if col in df.columns and "gpu" in df.columns:
                for gpu, sub in df.groupby("gpu"):
                    vals = sub[col].dropna()
                    vals = vals[vals > 0]
                    if len(vals):
                        self.gpu_ceilings[(gpu, col)] = float(vals.max())
        self.pd = pd

    def passed_ranking(self, g):
        """One row per implementation (its fastest passed row), fastest first: a DataFrame."""
        df = self.df.loc[self.groups[g]]
        p = df[(df["status"] == "passed") & (df["time_ms_median"] > 0)]
        if p.empty:
            return p
        p = p.sort_values("time_ms_median", kind="stable")
        return p.drop_duplicates("impl", keep="first")

    def meets(self, r) -> bool:
        if self.deterministic and str(r.get("deterministic", "")).strip() != "yes":
            return False
        if self.max_ws is not None:
            ws = r.get("workspace_bytes", float("nan"))
            if not (ws == ws) or ws > self.max_ws:
                return False
        return True

    @property
    def constrained(self) -> bool:
        return self.deterministic or self.max_ws is not None

    def constraint_text(self) -> str:
        parts = []
        if self.deterministic:
            parts.append("deterministic")
        if self.max_ws is not None:
            parts.append(f"workspace <= {fmt_bytes(self.max_ws)}")
        return " and ".join(parts)

    def policies(self, g):
        """{policy label: (impl, time_ms) or None} for one group."""
        rk = self.passed_ranking(g)
        out = {}
        base = rk[rk["impl"].map(lambda s: bool(self.baseline_re.search(s)))] if len(rk) else rk
        out["best baseline"] = ((base.iloc[0]["impl"], float(base.iloc[0]["time_ms_median"]))
                                if len(base) else None)
        for p in self.peers:
            q = rk[rk["impl"] == p] if len(rk) else rk
            out[p] = (p, float(q.iloc[0]["time_ms_median"])) if len(q) else None
        out["pick"] = ((rk.iloc[0]["impl"], float(rk.iloc[0]["time_ms_median"]))
                       if len(rk) else None)
        if self.constrained:
            ok = [r for _, r in rk.iterrows() if self.meets(r)]
            out["constrained pick"] = ((ok[0]["impl"], float(ok[0]["time_ms_median"]))
                                       if ok else None)
        return out

    def floor_pct(self, r):
        """Percent of the roofline floor reached by row r (None without ceilings)."""
        flops = r.get("flops_calc", float("nan"))
        mb = r.get("min_bytes_calc", float("nan"))
        t = r["time_ms_median"]
        if not (flops == flops and mb == mb and t > 0):
            return None

        def ceiling(col):
            v = r.get(col, float("nan")) if col in r.index else float("nan")
            if v == v and v > 0:
                return float(v)
            return self.gpu_ceilings.get((r.get("gpu", ""), col))

        comp_col = tr.COMPUTE_CEILING_COLUMN.get(r["dtype"])
        comp = ceiling(comp_col) if comp_col else None
        copy = ceiling(tr.COPY_CEILING_COLUMN)
        if not comp and not copy:
            return None
        floor_s = max(flops / (comp * 1e12) if comp else 0.0,
                      mb / (copy * 1e9) if copy else 0.0)
        return 100.0 * floor_s / (t * 1e-3)


# ---- sections ------------------------------------------------------------------------------------
# A section is a list of blocks: ("h2"|"h3"|"p", text), ("table", header, rows),
# ("img", file name, title). Rendered to Markdown and HTML below.

def summary_section(d):
    header = ["shape", "dtype", "layout", "pick", "ms", "vs best baseline"]
    header += [f"vs {p}" for p in d.peers]
    if d.constrained:
        header += [f"pick if {d.constraint_text()}", "ms "]
    rows = []
    for g in d.groups:
        pol = d.policies(g)
        if pol["pick"] is None:
            rows.append([d.labels[g], g[1], g[2], "(none passed)", ""] + [""] *
                        (len(header) - 5))
            continue
        impl, t = pol["pick"]
        if throttled(d.passed_ranking(g).iloc[0]):
            impl += " (THROTTLED)"
        row = [d.labels[g], g[1], g[2], impl, fmt_ms(t),
               fmt_x(pol["best baseline"][1] / t) if pol["best baseline"] else "no baseline"]
        for p in d.peers:
            v = pol[p]
            row.append(fmt_x(v[1] / t) if v else "")
        if d.constrained:
            c = pol["constrained pick"]
            row += [c[0], fmt_ms(c[1])] if c else ["(none meets it)", ""]
        rows.append(row)
    text = ("The pick is the fastest implementation whose output passed the check against the "
            "fp64 reference; 'vs' columns are that policy's median time over the pick's (> 1: "
            f"the pick is faster). Baseline rows: implementations matching "
            f"`{d.baseline_re.pattern}`.")
    return [("h2", "Summary: the pick per shape"), ("p", text), ("table", header, rows)]


def totals(d, shapes):
    """{(dtype, layout): {"layers": [...], "totals": {policy: (sum_ms, n_have)}}}"""
    out = {}
    combos = list(dict.fromkeys((g[1], g[2]) for g in d.groups))
    for dtype, layout in combos:
        layers, sums = [], {}
        for s in shapes:
            g = (tr.problem_key(s, s["bias"]), dtype, layout)
            pol = d.policies(g) if g in d.groups else None
            layers.append((s, pol))
            if pol is None:
                continue
            for name, v in pol.items():
                acc = sums.setdefault(name, [0.0, 0])
                if v is not None:
                    acc[0] += s["count"] * v[1]
                    acc[1] += 1
        if any(pol is not None for _, pol in layers):
            out[(dtype, layout)] = {"layers": layers, "totals": sums}
    return out


def totals_section(d, shapes, shapes_path, plots):
    blocks = [("h2", "Model totals"),
              ("p", f"Layers from `{shapes_path}`: {len(shapes)} distinct shape(s), "
                    f"{sum(s['count'] for s in shapes)} layer(s) in all. Total = sum over "
                    "layers of count x median time; a policy that lacks a result for some "
                    "layer is marked incomplete and its sum covers only the layers it has.")]
    tt = totals(d, shapes)
    if not tt:
        blocks.append(("p", "None of the model's shapes is in the results: run tconv_bench "
                            "--shapes-file on this shapes file first."))
        return blocks, tt
    for (dtype, layout), t in tt.items():
        n = len(shapes)
        blocks.append(("h3", f"{dtype}, {layout}"))
        rows = []
        pick_total = t["totals"].get("pick", [float("nan"), 0])
        for name, (ms, have) in t["totals"].items():
            complete = have == n
            label = {"best baseline": f"best baseline row per layer (`{d.baseline_re.pattern}`)",
                     "pick": "the pick per layer",
                     "constrained pick": f"the pick per layer if {d.constraint_text()}"}.get(
                         name, name)
            rows.append([label, fmt_ms(ms) if have else "",
                         "yes" if complete else f"incomplete: {have} of {n} layers",
                         fmt_x(ms / pick_total[0]) if complete and pick_total[1] == n
                         and pick_total[0] > 0 else ""])
        blocks.append(("table", ["policy", "total ms", "complete", "vs the pick"], rows))
        if f"totals_{dtype}_{layout}" in plots:
            blocks.append(("img", plots[f"totals_{dtype}_{layout}"], f"totals, {dtype} {layout}"))
        header = ["layer", "count", "pick", "ms", "best baseline", "ms "]
        header += [f"{p} ms" for p in d.peers]
        if d.constrained:
            header += [f"pick if {d.constraint_text()}", "ms  "]
        lrows = []
        for s, pol in t["layers"]:
            if pol is None:
                lrows.append([s["name"], str(s["count"]), "(not in the results)"] +
                             [""] * (len(header) - 3))
                continue
            pk, bb = pol["pick"], pol["best baseline"]
            row = [s["name"], str(s["count"]), pk[0] if pk else "(none passed)",
                   fmt_ms(pk[1]) if pk else "", bb[0] if bb else "", fmt_ms(bb[1]) if bb else ""]
            row += [fmt_ms(pol[p][1]) if pol[p] else ""
                    for p in d.peers]
            if d.constrained:
                c = pol["constrained pick"]
                row += [c[0], fmt_ms(c[1])] if c else ["(none meets it)", ""]
            lrows.append(row)
        blocks.append(("table", header, lrows))
    return blocks, tt


def break_even(t_default, t_best, setup_default, setup_best):
    """Calls after which taking the best row instead of the default has paid for the best's extra
    setup: ceil((setup_best - setup_default) / (t_default - t_best)), 0 when the best costs no
    more setup; None when the default is already as fast (nothing to win); NaN when a setup time
    is unknown."""
    if not t_default > t_best:
        return None
    if not (setup_best == setup_best and setup_default == setup_default):
        return float("nan")
    extra = max(0.0, setup_best - setup_default)
    return int(math.ceil(extra / (t_default - t_best) - 1e-9))


def fmt_calls(v) -> str:
    if v is None:
        return "never needed"
    if v != v:
        return "?"
    return f"{v:,}"


def default_choices(d):
    """[(group, default row, best row)] for every group and default-choice implementation that
    passed there, in group order."""
    names = tr.DEFAULT_CHOICE_IMPLS
    out = []
    for g in d.groups:
        rk = d.passed_ranking(g)
        if rk.empty:
            continue
        for name in names:
            q = rk[rk["impl"] == name]
            if len(q):
                out.append((g, q.iloc[0], rk.iloc[0]))
    return out


def _setup(r):
    v = r.get("setup_ms", float("nan")) if "setup_ms" in r.index else float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def default_section(d, shapes, threshold_ms):
    names = tr.DEFAULT_CHOICE_IMPLS
    rows_in = default_choices(d)
    blocks = [("h2", "Default choice against the best"),
              ("p", "A default-choice row is what a framework gets without timing anything ("
                    + ", ".join(f"`{n}`" for n in names) + ", from the results contract). "
                    "Loss: its median time over the best row's. Setup: the best row's setup_ms "
                    "(the search or autotuning that finds it, untimed in the results). "
                    "Break-even: the calls after which that setup has paid for itself, "
                    "(setup of the best - setup of the default) / (time of the default - time "
                    f"of the best). Flagged: a best row whose setup exceeds {threshold_ms:g} ms.")]
    if not rows_in:
        blocks.append(("p", "No default-choice row passed in these results."))
        return blocks
    rows = []
    for g, dr, br in rows_in:
        td, tb = float(dr["time_ms_median"]), float(br["time_ms_median"])
        sb = _setup(br)
        be = break_even(td, tb, _setup(dr), sb)
        rows.append([d.labels[g], g[1], g[2], dr["impl"], fmt_ms(td), br["impl"], fmt_ms(tb),
                     fmt_x(td / tb), fmt_ms(sb) if sb == sb else "", fmt_calls(be),
                     "setup over threshold" if sb == sb and sb > threshold_ms else ""])
    blocks.append(("table", ["shape", "dtype", "layout", "default", "ms", "best", "ms ", "loss",
                             "setup ms of the best", "break-even calls", "flag"], rows))
    if not shapes:
        return blocks
    # Per model layer with its count: the time the default loses per call of the whole model,
    # and the calls of the model after which finding the best for every layer has paid off.
    by_group = {}
    for g, dr, br in rows_in:
        by_group.setdefault(g, []).append((dr, br))
    for name in names:
        for dtype, layout in dict.fromkeys((g[1], g[2]) for g in d.groups):
            lrows, lost, setup, covered = [], 0.0, 0.0, 0
            for s in shapes:
                g = (tr.problem_key(s, s["bias"]), dtype, layout)
                hit = [(dr, br) for dr, br in by_group.get(g, []) if dr["impl"] == name]
                if not hit:
                    continue
                dr, br = hit[0]
                td, tb = float(dr["time_ms_median"]), float(br["time_ms_median"])
                layer_lost = s["count"] * (td - tb)
                sb, sd = _setup(br), _setup(dr)
                lost += layer_lost
                setup += max(0.0, sb - sd) if sb == sb and sd == sd else float("nan")
                covered += 1
                lrows.append([s["name"], str(s["count"]), fmt_ms(td), br["impl"], fmt_ms(tb),
                              fmt_x(td / tb), fmt_ms(layer_lost)])
            if not lrows:
                continue
            be = (None if not lost > 0 else
                  float("nan") if setup != setup else int(math.ceil(setup / lost - 1e-9)))
            blocks.append(("h3", f"Model layers, `{name}`, {dtype}, {layout}"))
            blocks.append(("table", ["layer", "count", "default ms", "best", "ms", "loss",
                                     "ms lost per model call"], lrows))
            blocks.append(("p", f"{covered} of {len(shapes)} layer shapes have both rows. Per "
                                f"call of the model the default loses {fmt_ms(lost)} ms; finding "
                                f"the best for each of these layers costs {fmt_ms(setup)} ms of "
                                f"setup more: break-even after {fmt_calls(be)} model calls."))
    return blocks


def throttled(r) -> bool:
    """Whether tconv_bench timed the row while the GPU was throttled (docs/results-csv.md)."""
    return str(r.get("throttled", "")).strip() == "yes"


def clocks_text(r) -> str:
    """The row's mean SM clock and, when throttled, why: for the ranking tables."""
    mhz = r.get("sm_clock_mean_mhz", float("nan"))
    text = f"{mhz:.0f} MHz" if isinstance(mhz, float) and mhz == mhz else ""
    if throttled(r):
        text = (text + ", " if text else "") + "THROTTLED: " + str(r.get("throttle_reasons", ""))
    return text


def clocks_section(d):
    """Where the clock and power columns came from, and every row timed while throttled."""
    df = d.df
    blocks = [("h2", "Clocks, power and throttling")]
    if "nvml" not in df.columns:
        blocks.append(("p", "These files have no clock or power columns (written before "
                            "tconv_bench recorded them)."))
        return blocks
    sources = df["nvml"].fillna("").astype(str)
    for src, n in sources[sources != ""].value_counts().items():
        blocks.append(("p", f"{n} rows: clocks and power from `{src}`."
                       if not src.startswith("unavailable") else
                       f"{n} rows: no clock or power columns, {src}."))
    timed = df[(df["status"] == "passed") & (df["time_ms_median"] > 0)]
    if "throttled" not in df.columns or not timed["throttled"].fillna("").astype(str).ne("").any():
        return blocks
    hot = timed[timed["throttled"].fillna("").astype(str).str.strip() == "yes"]
    blocks.append(("p", f"{len(hot)} of {len(timed)} timed rows were timed while the GPU was "
                        "throttled (a power, thermal or hardware slowdown reason, or an SM clock "
                        "below 75% of its maximum): their times may be slower than the GPU's "
                        "best, and they are marked THROTTLED in the rankings."
                        if len(hot) else
                        f"None of the {len(timed)} timed rows was timed while throttled."))
    if len(hot):
        rows = []
        for i, r in hot.iterrows():
            g = (r["key"], r["dtype"], r["layout"])
            rows.append([d.labels[g], r["dtype"], r["layout"], r["impl"],
                         fmt_ms(r["time_ms_median"]),
                         fmt_num(r.get("sm_clock_mean_mhz", float("nan"))),
                         fmt_num(r.get("power_mean_w", float("nan"))),
                         str(r.get("throttle_reasons", ""))])
        blocks.append(("table", ["shape", "dtype", "layout", "impl", "median ms",
                                 "mean SM clock MHz", "mean power W", "reasons"], rows))
    return blocks


def rankings_section(d):
    # accuracy (tconv_bench): full, or reduced (passed within the documented bound for
    # reduced-precision algorithms); shown where any input has the column.
    has_accuracy = "accuracy" in d.df.columns
    has_clocks = any(c in d.df.columns and d.df[c].fillna("").astype(str).ne("").any()
                     for c in ("sm_clock_mean_mhz", "throttled"))
    blocks = [("h2", "Rankings per shape"),
              ("p", "Passed implementations, fastest first. % of floor: the roofline time from "
                    "the ceilings measured in the same run (GEMM rate of the dtype, copy "
                    "bandwidth) over the median time. Pick: *; constrained pick: +.")]
    for g in d.groups:
        rk = d.passed_ranking(g)
        p = dict(zip(tr.PROBLEM_FIELDS, g[0][:-1]))
        if tr.pytorch_pads(p):
            pads = f"pad={p['pad_h']}x{p['pad_w']} out_pad={p['out_pad_h']}x{p['out_pad_w']}"
        else:  # begin/end padding (docs/results-csv.md: pad = begin, out_pad = begin - end)
            pads = (f"pad={p['pad_h']}:{tr.pad_end(p, 'h')}x{p['pad_w']}:{tr.pad_end(p, 'w')} "
                    f"(begin:end)")
        desc = (f"n={p['n']} c_in={p['c_in']} {p['h_in']}x{p['w_in']} c_out={p['c_out']} "
                f"k={p['k_h']}x{p['k_w']} stride={p['stride_h']}x{p['stride_w']} {pads} "
                f"dil={p['dil_h']}x{p['dil_w']} groups={p['groups']} bias={int(g[0][-1])}")
        blocks.append(("h3", f"{d.labels[g]}, {g[1]}, {g[2]}"))
        blocks.append(("p", desc))
        if rk.empty:
            blocks.append(("p", "No implementation passed (see Not passed)."))
            continue
        first_ok = None
        if d.constrained:
            for i, (_, r) in enumerate(rk.iterrows()):
                if d.meets(r):
                    first_ok = i
                    break
        rows = []
        best = float(rk.iloc[0]["time_ms_median"])
        for i, (_, r) in enumerate(rk.iterrows()):
            mark = ("*" if i == 0 else "") + ("+" if first_ok == i else "")
            rows.append([str(i + 1) + mark, r["impl"], str(r.get("algo", "")),
                         fmt_ms(r["time_ms_median"]), fmt_x(r["time_ms_median"] / best),
                         fmt_num(r.get("gflops", float("nan"))), fmt_pct(d.floor_pct(r)),
                         fmt_bytes(r.get("workspace_bytes", float("nan"))),
                         str(r.get("deterministic", ""))]
                        + ([str(r.get("accuracy", ""))] if has_accuracy else [])
                        + ([clocks_text(r)] if has_clocks else []))
        blocks.append(("table", ["rank", "impl", "algo", "median ms", "x slower", "GFLOP/s",
                                 "% of floor", "workspace", "deterministic"]
                       + (["accuracy"] if has_accuracy else [])
                       + (["SM clock"] if has_clocks else []), rows))
    return blocks


def speedup_table(d):
    """{dtype: {impl: {policy: (geomean, n)}}}"""
    out = {}
    for g in d.groups:
        dtype = g[1]
        pol = d.policies(g)
        rk = d.passed_ranking(g)
        refs = {"best baseline": pol["best baseline"]}
        for p in d.peers:
            refs[p] = pol[p]
        for _, r in rk.iterrows():
            t = float(r["time_ms_median"])
            for name, ref in refs.items():
                if ref is None:
                    continue
                out.setdefault(dtype, {}).setdefault(r["impl"], {}).setdefault(name, []).append(
                    ref[1] / t)
    return {dt: {impl: {k: (tr.geometric_mean(v), len(v)) for k, v in m.items()}
                 for impl, m in imps.items()} for dt, imps in out.items()}


def speedups_section(d, plots):
    blocks = [("h2", "Geometric-mean speedups per dtype"),
              ("p", "Per implementation, the geometric mean over shapes (and layouts) where both "
                    "passed of the reference's median time over the implementation's (> 1: "
                    "faster than the reference); n = shapes counted.")]
    sp = speedup_table(d)
    refs = ["best baseline"] + list(d.peers)
    for dtype, imps in sp.items():
        blocks.append(("h3", dtype))
        rows = []
        order = sorted(imps, key=lambda i: -imps[i].get("best baseline", (0, 0))[0])
        for impl in order:
            row = [impl]
            for ref in refs:
                v = imps[impl].get(ref)
                row += [fmt_x(v[0]), str(v[1])] if v else ["", "0"]
            rows.append(row)
        header = ["impl"]
        for ref in refs:
            header += [f"vs {ref}", "n"]
        blocks.append(("table", header, rows))
        if f"speedup_{dtype}" in plots:
            blocks.append(("img", plots[f"speedup_{dtype}"], f"speedups, {dtype}"))
    if not sp:
        blocks.append(("p", "No passed rows."))
    return blocks


def failures_section(d):
    df = d.df
    bad = df[df["status"] != "passed"]
    blocks = [("h2", "Not passed: incorrect, skipped, not supported")]
    if bad.empty:
        blocks.append(("p", "Every row passed."))
        return blocks
    counts = bad["status"].value_counts()
    blocks.append(("p", ", ".join(f"{n} {s}" for s, n in counts.items()) +
                   ". An incorrect row is a wrong result: it is never timed nor picked."))
    order = {"incorrect": 0}
    rows = []
    for _, r in sorted(bad.iterrows(), key=lambda ir: (order.get(ir[1]["status"], 1), ir[0])):
        g = (r["key"], r["dtype"], r["layout"])
        rows.append([d.labels[g], r["dtype"], r["layout"], r["impl"], r["status"],
                     str(r.get("reason", ""))])
    blocks.append(("table", ["shape", "dtype", "layout", "impl", "status", "reason"], rows))
    return blocks


def environment_section(d):
    df = d.df
    blocks = [("h2", "Environment")]
    cols = [c for c in ENV_COLUMNS if c in df.columns]
    rows = []
    for src, sub in df.groupby("source", sort=False):
        row = [src, str(len(sub))]
        for c in cols:
            vals = [str(v) for v in dict.fromkeys(sub[c]) if str(v) not in ("", "nan")]
            if c == "sm_count":
                vals = [v[:-2] if v.endswith(".0") else v for v in vals]
            row.append(", ".join(vals))
        ts = sorted(t for t in sub.get("timestamp", []) if t)
        row.append(f"{ts[0]} .. {ts[-1]}" if ts else "")
        rows.append(row)
    blocks.append(("table", ["file", "rows"] + cols + ["dates"], rows))
    gpus = sorted({g for g in df.get("gpu", []) if g})
    if any("not a measurement" in g.lower() for g in gpus):
        blocks.append(("p", "**These inputs say they are not measurements** (their gpu column "
                            "says so): the numbers in this report illustrate the format only."))
    return blocks


# ---- plots ---------------------------------------------------------------------------------------

def make_plots(d, tt, out, dpi):
    """PNG files in out; returns {key: file name}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = tr.impl_colors(d.df["impl"].unique())
    files = {}

    banner = tr.fixture_banner(d.df)

    def save(fig, name):
        tr.stamp_fixture_banner(fig, banner)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        tr.write_text_atomic(os.path.join(out, name), buf.getvalue(), "wb")
        return name

    gpus = sorted({g for g in d.df.get("gpu", []) if g})
    note = ("\n" + ", ".join(gpus)) if gpus else ""
    for dtype, imps in speedup_table(d).items():
        items = [(impl, v["best baseline"][0]) for impl, v in imps.items()
                 if "best baseline" in v]
        if not items:
            continue
        items.sort(key=lambda x: x[1])
        fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(items) + 1.4))
        ax.barh([i for i, _ in items], [v for _, v in items],
                color=[colors[i] for i, _ in items])
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(f"geometric-mean speedup over the best row matching "
                      f"{d.baseline_re.pattern} (> 1: faster)")
        ax.set_title(f"speedup, {dtype}{note}", fontsize=10)
        ax.grid(axis="x", which="both", alpha=0.3)
        files[f"speedup_{dtype}"] = save(fig, f"speedup_{tr.safe_name(dtype)}.png")
    for (dtype, layout), t in (tt or {}).items():
        names = [n for n, (_, have) in t["totals"].items() if have]
        if not names:
            continue
        n_layers = len(t["layers"])
        vals = [t["totals"][n][0] for n in names]
        fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(names) + 1.4))
        bars = ax.barh(names, vals, color=["tab:green" if "pick" in n else "tab:gray"
                                          for n in names])
        for b, n in zip(bars, names):
            have = t["totals"][n][1]
            ax.annotate(f"{b.get_width():.4g} ms" + ("" if have == n_layers else
                                                      f" ({have}/{n_layers} layers)"),
                        (b.get_width(), b.get_y() + b.get_height() / 2), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.set_xlabel("model total, ms (sum of count x median time)")
        ax.set_title(f"model total per policy, {dtype} {layout}{note}", fontsize=10)
        ax.margins(x=0.25)
        files[f"totals_{dtype}_{layout}"] = save(
            fig, f"totals_{tr.safe_name(dtype)}_{tr.safe_name(layout)}.png")
    # The roofline per dtype, drawn by plot.py (one drawing for both scripts).
    import plot
    for path in plot.plot_rooflines(d.df, colors, out, dpi, banner=banner):
        name = os.path.basename(path)
        files["roofline_" + name[len("roofline_"):-len(".png")]] = name
    return files


def roofline_section(d, plots):
    blocks = [("h2", "Roofline"),
              ("p", "Every passed row at its arithmetic intensity (useful FLOPs over minimum "
                    "bytes, docs/measurement.md) and its useful GFLOP/s, coloured by "
                    "implementation; the roofs are the ceilings measured at the start of the same "
                    "run (copy bandwidth, the GEMM rate of the dtype); the fastest row of each "
                    "shape and layout is ringed. A ringed point far below both roofs is a shape "
                    "no implementation handles well.")]
    for key in sorted(k for k in plots if k.startswith("roofline_")):
        blocks.append(("img", plots[key], f"roofline, {key[len('roofline_'):]}"))
    return blocks


# ---- rendering -----------------------------------------------------------------------------------

def md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_md(title, blocks):
    out = [f"# {title}", ""]
    for b in blocks:
        if b[0] == "h2":
            out += [f"## {b[1]}", ""]
        elif b[0] == "h3":
            out += [f"### {b[1]}", ""]
        elif b[0] == "p":
            out += [b[1], ""]
        elif b[0] == "banner":
            out += [f"> **{b[1]}**", ""]
        elif b[0] == "table":
            header, rows = b[1], b[2]
            out.append("| " + " | ".join(md_cell(h.strip()) for h in header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            for r in rows:
                out.append("| " + " | ".join(md_cell(c) for c in r) + " |")
            out.append("")
        elif b[0] == "img":
            out += [f"![{b[2]}]({b[1]})", ""]
    return "\n".join(out)


def _inline_md(text: str) -> str:
    """`code` and **bold** of our own paragraphs, as HTML (the rest escaped)."""
    s = html.escape(text)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)


def render_html(title, blocks, out_dir):
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             f"<title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;margin:0.5em 0 1.2em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%;text-align:left}"
             "th{background:#f0f0f0}img{max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for b in blocks:
        if b[0] in ("h2", "h3"):
            parts.append(f"<{b[0]}>{html.escape(b[1])}</{b[0]}>")
        elif b[0] == "p":
            parts.append(f"<p>{_inline_md(b[1])}</p>")
        elif b[0] == "banner":
            parts.append("<div class=\"fixture-banner\" role=\"alert\" style=\"background:#c00;"
                         "color:#fff;font-weight:bold;font-size:120%;padding:0.7em 1em;"
                         f"margin:0 0 1em\">{html.escape(b[1])}</div>")
        elif b[0] == "table":
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(h.strip())}</th>"
                                                 for h in b[1]) + "</tr>")
            for r in b[2]:
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r)
                             + "</tr>")
            parts.append("</table>")
        elif b[0] == "img":
            with open(os.path.join(out_dir, b[1]), "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
            parts.append(f"<p><img alt=\"{html.escape(b[2])}\" "
                         f"src=\"data:image/png;base64,{data}\"></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---- main ----------------------------------------------------------------------------------------

def build_report(args):
    """(title, blocks, summary blocks, plots dict) from the parsed options."""
    baseline_re = tr.compile_regex(args.baseline_regex, "--baseline-regex")
    max_ws = parse_bytes(args.max_workspace) if args.max_workspace is not None else None
    shapes = tr.read_shapes_file(args.shapes) if args.shapes else None
    df = tr.load_results(args.csv, REQUIRED_COLUMNS)
    df = tr.add_derived(df)
    d = Data(df, baseline_re, args.deterministic, max_ws)
    tt = totals(d, shapes) if shapes else None
    os.makedirs(args.out, exist_ok=True)
    plots = make_plots(d, tt, args.out, args.dpi)
    summary = summary_section(d)
    blocks = list(summary)
    if shapes:
        tb, _ = totals_section(d, shapes, args.shapes, plots)
        blocks += tb
    blocks += default_section(d, shapes, args.setup_threshold_ms)
    blocks += speedups_section(d, plots)
    blocks += roofline_section(d, plots)
    blocks += rankings_section(d)
    blocks += failures_section(d)
    blocks += clocks_section(d)
    blocks += environment_section(d)
    intro = [("p", f"From {', '.join(f'`{p}`' for p in args.csv)}: {len(df)} rows, "
                   f"{len(d.groups)} (shape, dtype, layout) groups, "
                   f"{df['impl'].nunique()} implementations."
                   + (f" Constraints for the constrained pick: {d.constraint_text()}."
                      if d.constrained else ""))]
    banner = tr.fixture_banner(df)
    if banner:
        intro.insert(0, ("banner", banner))
    return "Transposed convolution: which implementation to use", intro + blocks, summary, plots


def summary_markdown(paths, baseline_regex="^cudnn", deterministic=False, max_workspace=None):
    """The summary table alone (Markdown, no heading): per shape, dtype and layout the pick and
    its speedup over the best baseline row and over PyTorch. For other scripts' summaries (a GPU
    check's summary.md) so they need no second copy of this logic. Raises tr.UserError."""
    df = tr.add_derived(tr.load_results(list(paths), REQUIRED_COLUMNS))
    d = Data(df, tr.compile_regex(baseline_regex, "--baseline-regex"), deterministic,
             parse_bytes(max_workspace) if max_workspace is not None else None)
    return render_md("", summary_section(d)[1:]).split("\n", 2)[2]


def main(argv=None):
    args = parse_args(argv)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise tr.UserError(f"--out {args.out}: exists and is not a folder")
    if args.dpi < 20:
        raise tr.UserError(f"--dpi {args.dpi}: too small")
    title, blocks, summary, _ = build_report(args)
    md = render_md(title, blocks)
    page = render_html(title, blocks, args.out)
    tr.write_text_atomic(os.path.join(args.out, "report.md"), md)
    tr.write_text_atomic(os.path.join(args.out, "report.html"), page)
    paths = [os.path.join(args.out, "report.md"), os.path.join(args.out, "report.html")]
    if args.print_summary:  # stdout is the summary; the paths go to stderr
        print(render_md("Which implementation to use", summary[2:]))
        print("\n".join(paths), file=sys.stderr)
    else:
        print("\n".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
