#!/usr/bin/env python3
"""Plots of tconv-bench results CSVs (format: docs/results-csv.md).

usage: plot.py [RESULTS.csv ...] [--out DIR] [--baseline-regex REGEX] [--c-matrix C.npy|C.csv]

Writes PNG files into DIR (default: plots) and prints their paths, one a line:
  bars_<suite>_<dtype>_<layout>.png   GFLOP/s per shape, one bar per implementation (log axis);
                                      only passed rows are bars, missing bars are labelled at the
                                      foot (NS not_supported, SK skipped, X incorrect)
  roofline_<dtype>.png                GFLOP/s against arithmetic intensity (flops / min_bytes),
                                      under the ceilings measured in the same run (ceiling_*
                                      columns: copy bandwidth, and the GEMM rate of the dtype)
  sweep_<suite>_<dtype>_<layout>.png  for suites named sweep*: median time against useful FLOPs
  headline_<dtype>_<layout>.png       per shape, each implementation's speedup over the best
                                      (fastest passed) implementation matching --baseline-regex
                                      (default ^cudnn), geometric means in the legend and title
  cmatrix_<name>.png                  --c-matrix: the sparsity pattern of C as dumped by
                                      `tconv explain --dump-c FILE` (.npy or headerless .csv)

Several CSVs are concatenated; where the same (shape, implementation, dtype, layout) passed more
than once, the fastest row is drawn. Implementation and suite names come from the data; colors
follow the sorted implementation names, so one implementation has one color in every plot.
User errors (missing file, missing columns, no data) are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402

REQUIRED_COLUMNS = ["suite", "shape", "dtype", "layout", "impl", "status", "time_ms_median",
                    "gflops"] + tr.PROBLEM_FIELDS
STATUS_MARK = {"not_supported": "NS", "skipped": "SK", "incorrect": "X"}
LAYOUT_MARKER = {"nchw": "o", "nhwc": "s"}
# C is drawn with at most this share of the figure's pixels per matrix row/column: a larger C is
# block-reduced first (a block is dark if any element is nonzero), because letting the image
# scaler downsample would drop isolated nonzeros.
C_PIXEL_SHARE = 0.45


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="plot.py",
        description="Plots from tconv-bench results CSVs (and the sparsity pattern of C).")
    ap.add_argument("csv", nargs="*", metavar="RESULTS.csv",
                    help="results CSV file(s); a folder stands for its CSVs (a sharded run)")
    ap.add_argument("--out", default="plots", metavar="DIR",
                    help="output folder for the PNG files (default: plots)")
    ap.add_argument("--baseline-regex", default="^cudnn", metavar="REGEX",
                    help="implementations matching this regular expression (re.search) are the "
                         "baselines of the headline plot (default: ^cudnn)")
    ap.add_argument("--c-matrix", action="append", default=[], metavar="FILE",
                    help="draw the sparsity pattern of C from `tconv explain --dump-c FILE` "
                         "(.npy or .csv; repeatable)")
    ap.add_argument("--dpi", type=int, default=120, help="PNG resolution (default: 120)")
    return ap.parse_args(argv)


def _setup_matplotlib():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _gpu_note(df) -> str:
    if "gpu" not in df.columns:
        return ""
    gpus = sorted({g for g in df["gpu"] if g})
    if len(gpus) == 1:
        return gpus[0]
    if len(gpus) > 1:
        return f"{len(gpus)} GPUs: " + ", ".join(gpus)
    return ""


def _title(ax, text, df):
    note = _gpu_note(df)
    ax.set_title(text + (f"\n{note}" if note else ""), fontsize=10)


# Set by main() when any input row is a fixture (tconv_results.fixture_banner): every figure
# then carries it.
FIXTURE_BANNER = ""


def _save(fig, path, dpi, banner=None):
    tr.stamp_fixture_banner(fig, FIXTURE_BANNER if banner is None else banner)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def _shape_labels(g):
    """Shape labels in order of first appearance (the bench writes rows in suite order)."""
    return list(dict.fromkeys(g["shape"]))


def _best_passed(g, value, larger_is_better):
    """One row per (shape, impl): the best passed row by `value`."""
    p = g[(g["status"] == "passed") & g[value].notna() & (g[value] > 0)]
    if p.empty:
        return p
    p = p.sort_values(value, ascending=not larger_is_better, kind="stable")
    return p.drop_duplicates(["shape", "impl"], keep="first")


# ---- (a) grouped bars per suite -----------------------------------------------------------------

def plot_bars(df, colors, out, dpi):
    plt = _setup_matplotlib()
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory
    import numpy as np

    written = []
    for (suite, dtype, layout), g in df.groupby(["suite", "dtype", "layout"], sort=True):
        shapes = _shape_labels(g)
        impls = sorted(g["impl"].unique())
        best = _best_passed(g, "gflops", larger_is_better=True)
        width = 0.8 / len(impls)
        fig_w = min(40.0, max(6.0, 0.22 * len(shapes) * len(impls) + 3.0))
        fig, ax = plt.subplots(figsize=(fig_w, 4.8))
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        counts = {s: 0 for s in STATUS_MARK}
        handles = []
        x0 = np.arange(len(shapes), dtype=float)
        for i, impl in enumerate(impls):
            xs = x0 - 0.4 + width * (i + 0.5)
            b = best[best["impl"] == impl].set_index("shape")["gflops"]
            heights = [b.get(s, np.nan) for s in shapes]
            have = [j for j, h in enumerate(heights) if h == h]
            if have:
                ax.bar([xs[j] for j in have], [heights[j] for j in have], width=width,
                       color=colors[impl], edgecolor="none")
            # Every implementation of the group is in the legend, with or without a bar.
            handles.append(Patch(color=colors[impl], label=impl))
            rows = g[g["impl"] == impl]
            for j, s in enumerate(shapes):
                if heights[j] == heights[j]:
                    continue
                st = [v for v in rows[rows["shape"] == s]["status"] if v != "passed"]
                if not st:
                    continue
                code = st[0]
                counts[code] = counts.get(code, 0) + 1
                ax.text(xs[j], 0.01, STATUS_MARK.get(code, "?"), transform=trans, rotation=90,
                        ha="center", va="bottom", fontsize=6, color=colors[impl])
        if best.empty:
            ax.text(0.5, 0.5, "no passed rows", transform=ax.transAxes, ha="center",
                    va="center", color="gray")
        else:
            ax.set_yscale("log")
            lo, hi = best["gflops"].min(), best["gflops"].max()
            ax.set_ylim(lo / 4.0, hi * 2.0)
        ax.set_xticks(x0)
        ax.set_xticklabels(shapes, rotation=30 if len(shapes) > 4 else 0,
                           ha="right" if len(shapes) > 4 else "center", fontsize=8)
        ax.set_xlim(-0.6, len(shapes) - 0.4)
        ax.set_ylabel("GFLOP/s (useful FLOPs / median time)")
        ax.grid(axis="y", which="both", alpha=0.3)
        labels = [h.get_label() for h in handles]
        notes = [f"{STATUS_MARK[k]} = {k} ({counts[k]})" for k in STATUS_MARK if counts.get(k)]
        if notes:
            handles.append(Patch(color="none"))
            labels.append("no bar (label at the foot):\n" + "\n".join(notes))
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        _title(ax, f"{suite}: GFLOP/s by implementation ({dtype}, {layout}; passed rows only)", g)
        path = os.path.join(out, f"bars_{tr.safe_name(suite)}_{tr.safe_name(dtype)}_"
                                 f"{tr.safe_name(layout)}.png")
        written.append(_save(fig, path, dpi))
    return written


# ---- (b) roofline per dtype ---------------------------------------------------------------------

def _ceiling(g, column):
    """The measured ceiling in `column` for these rows (the max if runs differ), or None."""
    if column is None or column not in g.columns:
        return None, 0
    vals = sorted({float(v) for v in g[column] if v == v and v > 0})
    if not vals:
        return None, 0
    return vals[-1], len(vals)


def plot_rooflines(df, colors, out, dpi, banner=None):
    """roofline_<dtype>.png per dtype: each passed row at its arithmetic intensity, the run's
    measured ceilings as the roofs, the fastest row of each (shape, layout) ringed. Returns the
    paths written. banner: the fixture banner (None: the one main() found)."""
    plt = _setup_matplotlib()
    import numpy as np

    written = []
    for dtype, g in df.groupby("dtype", sort=True):
        p = g[(g["status"] == "passed") & (g["gflops"] > 0) & np.isfinite(g["ai"])
              & (g["ai"] > 0)]
        fig, ax = plt.subplots(figsize=(8.0, 5.5))
        bw, n_bw = _ceiling(g, tr.COPY_CEILING_COLUMN)
        peak_col = tr.COMPUTE_CEILING_COLUMN.get(dtype)
        peak_t, n_peak = _ceiling(g, peak_col)
        peak = peak_t * 1000.0 if peak_t else None  # TFLOP/s -> GFLOP/s
        if p.empty:
            ax.text(0.5, 0.5, "no passed rows", transform=ax.transAxes, ha="center",
                    va="center", color="gray")
        else:
            for impl in sorted(p["impl"].unique()):
                q = p[p["impl"] == impl]
                for layout in sorted(q["layout"].unique()):
                    r = q[q["layout"] == layout]
                    ax.scatter(r["ai"], r["gflops"], color=colors[impl],
                               marker=LAYOUT_MARKER.get(layout, "^"), s=28, alpha=0.85,
                               label=f"{impl} ({layout})", edgecolors="none")
            # The fastest row of each (shape, layout), ringed: which shapes have a row near a
            # roof and which are far from both.
            best = p.sort_values("gflops", ascending=False, kind="stable").drop_duplicates(
                ["suite", "shape", "layout"])
            ax.scatter(best["ai"], best["gflops"], s=110, facecolors="none",
                       edgecolors="black", linewidths=1.1, label="fastest per shape and layout")
            # Label each shape once, at its best point, when there are few enough to read.
            tops = p.sort_values("gflops", ascending=False).drop_duplicates(["suite", "shape"])
            if len(tops) <= 40:
                for _, r in tops.iterrows():
                    ax.annotate(f"{r['suite']}/{r['shape']}", (r["ai"], r["gflops"]),
                                fontsize=6, color="dimgray", xytext=(3, 3),
                                textcoords="offset points")
            ai_lo, ai_hi = p["ai"].min() / 3.0, p["ai"].max() * 3.0
            y_lo, y_hi = p["gflops"].min() / 3.0, p["gflops"].max() * 3.0
            if bw and peak:
                ridge = peak / bw
                ai_lo, ai_hi = min(ai_lo, ridge / 3.0), max(ai_hi, ridge * 3.0)
            xs = np.logspace(math.log10(ai_lo), math.log10(ai_hi), 200)
            if bw:
                roof = bw * xs if not peak else np.minimum(bw * xs, peak)
                ax.plot(xs, roof, color="black", lw=1.2,
                        label=f"measured copy {bw:.0f} GB/s"
                              + (f" (max of {n_bw} runs)" if n_bw > 1 else ""))
                y_hi = max(y_hi, float(roof.max()) * 1.5)
            if peak:
                name = peak_col.replace("ceiling_", "").replace("_tflops", "").upper()
                name += "" if name.endswith("GEMM") else " GEMM"
                ax.axhline(peak, color="black", ls="--", lw=1.0,
                           label=f"measured {name} {peak_t:.1f} TFLOP/s"
                                 + (f" (max of {n_peak} runs)" if n_peak > 1 else ""))
                y_hi = max(y_hi, peak * 1.5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(ai_lo, ai_hi)
            ax.set_ylim(y_lo, y_hi)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.set_xlabel("arithmetic intensity (useful FLOPs / minimum bytes)")
        ax.set_ylabel("GFLOP/s")
        ax.grid(which="both", alpha=0.3)
        missing = []
        if not bw:
            missing.append(tr.COPY_CEILING_COLUMN)
        if not peak:
            missing.append(peak_col or f"a compute ceiling for {dtype}")
        extra = f" (no ceiling: {', '.join(missing)} absent or empty)" if missing else ""
        _title(ax, f"roofline, {dtype}{extra}", g)
        path = os.path.join(out, f"roofline_{tr.safe_name(dtype)}.png")
        written.append(_save(fig, path, dpi, banner))
    return written


# ---- (c) sweeps ---------------------------------------------------------------------------------

def plot_sweeps(df, colors, out, dpi):
    plt = _setup_matplotlib()

    written = []
    sweeps = df[df["suite"].str.startswith("sweep")]
    for (suite, dtype, layout), g in sweeps.groupby(["suite", "dtype", "layout"], sort=True):
        best = _best_passed(g, "time_ms_median", larger_is_better=False)
        best = best[best["flops_calc"] > 0]
        fig, ax = plt.subplots(figsize=(7.5, 5.0))
        if best.empty:
            ax.text(0.5, 0.5, "no passed rows", transform=ax.transAxes, ha="center",
                    va="center", color="gray")
        else:
            for impl in sorted(g["impl"].unique()):
                q = best[best["impl"] == impl].sort_values("flops_calc")
                if q.empty:
                    ax.plot([], [], color=colors[impl], label=f"{impl} (no passed row)")
                    continue
                ax.plot(q["flops_calc"], q["time_ms_median"], marker="o", ms=4,
                        color=colors[impl], label=impl)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.set_xlabel("problem size (useful FLOPs)")
        ax.set_ylabel("median time (ms)")
        ax.grid(which="both", alpha=0.3)
        _title(ax, f"{suite}: time against problem size ({dtype}, {layout})", g)
        path = os.path.join(out, f"sweep_{tr.safe_name(suite)}_{tr.safe_name(dtype)}_"
                                 f"{tr.safe_name(layout)}.png")
        written.append(_save(fig, path, dpi))
    return written


# ---- (e) headline: speedup over the best baseline -----------------------------------------------

def headline_speedups(df, baseline_re):
    """Per (dtype, layout): a list of (label, baseline impl, {impl: speedup}) per shape with a
    passed baseline row, and the count of shapes without one. speedup = best baseline median
    time / the implementation's median time (> 1: faster than the best baseline)."""
    out = {}
    passed = df[(df["status"] == "passed") & (df["time_ms_median"] > 0)]
    keys = ["suite", "shape"] + tr.PROBLEM_FIELDS
    for (dtype, layout), g in passed.groupby(["dtype", "layout"], sort=True):
        is_base = g["impl"].map(lambda s: bool(baseline_re.search(s)))
        shapes, no_base = [], 0
        for _, s in g.groupby(keys, sort=False, dropna=False):
            b = s[is_base[s.index]]
            if b.empty:
                no_base += 1
                continue
            brow = b.loc[b["time_ms_median"].idxmin()]
            others = s[~is_base[s.index]]
            sp = {}
            for impl, r in others.groupby("impl"):
                sp[impl] = float(brow["time_ms_median"]) / float(r["time_ms_median"].min())
            shapes.append((f"{brow['suite']}/{brow['shape']}", brow["impl"], sp))
        if shapes:
            out[(dtype, layout)] = (shapes, no_base)
    return out


def plot_headline(df, colors, out, dpi, baseline_re, pattern):
    plt = _setup_matplotlib()
    import numpy as np

    written = []
    if not df["impl"].map(lambda s: bool(baseline_re.search(s))).any():
        print(f"plot.py: note: no implementation matches --baseline-regex '{pattern}': "
              f"no headline plot", file=sys.stderr)
        return written
    for (dtype, layout), (shapes, no_base) in headline_speedups(df, baseline_re).items():
        impls = sorted({i for _, _, sp in shapes for i in sp})
        fig_w = min(40.0, max(6.0, 0.25 * len(shapes) * max(1, len(impls)) + 3.0))
        fig, ax = plt.subplots(figsize=(fig_w, 5.0))
        x0 = np.arange(len(shapes), dtype=float)
        gms = {}
        if not impls:
            ax.text(0.5, 0.5, "only baseline implementations passed", transform=ax.transAxes,
                    ha="center", va="center", color="gray")
        width = 0.8 / max(1, len(impls))
        for i, impl in enumerate(impls):
            vals = [sp.get(impl, np.nan) for _, _, sp in shapes]
            have = [j for j, v in enumerate(vals) if v == v]
            gm = tr.geometric_mean([vals[j] for j in have])
            gms[impl] = (gm, len(have))
            xs = x0 - 0.4 + width * (i + 0.5)
            # Bars grow from 1 (no speedup): up when faster than the best baseline, down when
            # slower, so both read as ratios on the log axis.
            ax.bar([xs[j] for j in have], [vals[j] - 1.0 for j in have], bottom=1.0,
                   width=width, color=colors[impl],
                   label=f"{impl}: geomean {gm:.2f}x over {len(have)} shapes")
        ax.axhline(1.0, color="black", lw=1.0)
        if impls:
            ax.set_yscale("log")
            vals = [v for _, _, sp in shapes for v in sp.values()] + [1.0]
            ax.set_ylim(min(vals) / 1.5, max(vals) * 1.5)
        ax.set_xticks(x0)
        ax.set_xticklabels([f"{lab}\n({base})" for lab, base, _ in shapes],
                           rotation=30 if len(shapes) > 4 else 0,
                           ha="right" if len(shapes) > 4 else "center", fontsize=7)
        ax.set_xlim(-0.6, len(shapes) - 0.4)
        ax.set_ylabel(f"speedup over the best /{pattern}/ (x)")
        ax.grid(axis="y", which="both", alpha=0.3)
        if impls:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ranked = sorted(gms.items(), key=lambda kv: -kv[1][0])
        summary = ", ".join(f"{k} {v[0]:.2f}x" for k, v in ranked[:4])
        if len(ranked) > 4:
            summary += f", ... ({len(ranked) - 4} more in the legend)"
        title = (f"speedup over the best implementation matching /{pattern}/ per shape "
                 f"({dtype}, {layout}); x labels name the best baseline")
        if summary:
            title += f"\ngeometric mean: {summary}"
        if no_base:
            title += f"\n{no_base} shape(s) without a passed baseline row left out"
        _title(ax, title, df[(df["dtype"] == dtype) & (df["layout"] == layout)])
        path = os.path.join(out, f"headline_{tr.safe_name(dtype)}_{tr.safe_name(layout)}.png")
        written.append(_save(fig, path, dpi))
    return written


# ---- (d) the sparsity pattern of C --------------------------------------------------------------

def load_matrix(path):
    import numpy as np

    if not os.path.exists(path):
        raise tr.UserError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            a = np.load(path, allow_pickle=False)
        elif ext == ".csv":
            a = np.loadtxt(path, delimiter=",", ndmin=2, dtype=float)
        else:
            raise tr.UserError(f"{path}: --c-matrix expects a .npy or .csv file")
    except (ValueError, OSError) as e:
        msg = " ".join(str(e).split())
        raise tr.UserError(f"{path}: cannot read the matrix: {msg}") from None
    if a.ndim != 2:
        raise tr.UserError(f"{path}: expected a 2-D matrix, got {a.ndim} dimension(s) {a.shape}")
    if a.size == 0:
        raise tr.UserError(f"{path}: the matrix is empty {a.shape}")
    return a


def block_any(mask, max_rows, max_cols):
    """mask reduced to at most max_rows x max_cols: a block is True if any element is."""
    import numpy as np

    r, k = mask.shape
    fr, fk = max(1, math.ceil(r / max_rows)), max(1, math.ceil(k / max_cols))
    if fr == 1 and fk == 1:
        return mask, 1, 1
    rr, kk = math.ceil(r / fr) * fr, math.ceil(k / fk) * fk
    padded = np.zeros((rr, kk), dtype=bool)
    padded[:r, :k] = mask
    return padded.reshape(rr // fr, fr, kk // fk, fk).any(axis=(1, 3)), fr, fk


def plot_c_matrix(a, path, out, dpi, used):
    """Draws matrix a (read from path, which names the PNG)."""
    plt = _setup_matplotlib()

    mask = a != 0
    rows, cols = a.shape
    nnz = int(mask.sum())
    per_row = mask.sum(axis=1)
    ratio = rows / cols
    fig_w = 7.0
    fig_h = min(10.0, max(3.0, fig_w * ratio))
    img, fr, fk = block_any(mask, max(1, int(C_PIXEL_SHARE * fig_h * dpi)),
                            max(1, int(C_PIXEL_SHARE * fig_w * dpi)))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    aspect = "equal" if 0.25 <= ratio <= 4.0 else "auto"
    ax.imshow(img, cmap="Greys", vmin=0, vmax=1, interpolation="nearest", aspect=aspect,
              extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("column: (c_in, h_in, w_in) flattened")
    ax.set_ylabel("row: (c_out, h_out, w_out) flattened")
    title = (f"C: {rows} x {cols}, {nnz} nonzeros, density {100.0 * nnz / (rows * cols):.3g}%\n"
             f"nonzeros per row: min {int(per_row.min())}, max {int(per_row.max())}")
    if fr > 1 or fk > 1:
        title += f"\n(drawn in {fr}x{fk} blocks: dark if any nonzero)"
    ax.set_title(title, fontsize=10)
    stem = tr.safe_name(os.path.splitext(os.path.basename(path))[0])
    name, k = f"cmatrix_{stem}.png", 2
    while name in used:  # C.npy and C.csv in one call: keep both
        name, k = f"cmatrix_{stem}_{k}.png", k + 1
    used.add(name)
    return _save(fig, os.path.join(out, name), dpi)


# ---- main ---------------------------------------------------------------------------------------

def main(argv=None):
    global FIXTURE_BANNER
    args = parse_args(argv)
    if not args.csv and not args.c_matrix:
        raise tr.UserError("nothing to plot: give results CSV file(s) and/or --c-matrix FILE")
    if args.dpi < 20 or args.dpi > 1200:
        raise tr.UserError(f"--dpi {args.dpi}: expected 20..1200")
    baseline_re = tr.compile_regex(args.baseline_regex, "--baseline-regex")
    # Read everything before writing anything, so a bad input leaves no partial plot set.
    df = None
    if args.csv:
        df = tr.load_results(args.csv, REQUIRED_COLUMNS)
        if not (df["status"] == "passed").any():
            raise tr.UserError(f"no rows with status 'passed' in {', '.join(args.csv)}: "
                               f"nothing to plot")
        df = tr.add_derived(df)
    FIXTURE_BANNER = tr.fixture_banner(df)
    if FIXTURE_BANNER:
        print(f"plot.py: {FIXTURE_BANNER}", file=sys.stderr)
    matrices = [(p, load_matrix(p)) for p in args.c_matrix]
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise tr.UserError(f"--out {args.out}: cannot create the folder: {e.strerror}") from None
    written = []
    if df is not None:
        colors = tr.impl_colors(df["impl"])
        written += plot_bars(df, colors, args.out, args.dpi)
        written += plot_rooflines(df, colors, args.out, args.dpi)
        written += plot_sweeps(df, colors, args.out, args.dpi)
        written += plot_headline(df, colors, args.out, args.dpi, baseline_re,
                                 args.baseline_regex)
    used = set()
    for p, a in matrices:
        written.append(plot_c_matrix(a, p, args.out, args.dpi, used))
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
