"""Shared loading code for the tconv-bench result scripts (plot.py, compare.py, peer_pytorch.py).

The results CSV contract lives in shared/results-csv.md; CONTRACT_COLUMNS below is that list in
order. Implementation and suite names are data: nothing here (or in the scripts) lists them, so a
new implementation or suite shows up in every plot and table without an edit.

This module imports nothing beyond the standard library at import time: peer_pytorch.py uses it on
the GPU machine and its tests run without pandas' plotting stack. pandas is imported inside
load_results() only.
"""

from __future__ import annotations

import math
import os
import re
import sys

# The contract columns, in order. Writers may append extra columns after them.
CONTRACT_COLUMNS = [
    "suite", "shape",
    "n", "c_in", "h_in", "w_in", "c_out", "k_h", "k_w",
    "stride_h", "stride_w", "pad_h", "pad_w", "out_pad_h", "out_pad_w", "dil_h", "dil_w", "groups",
    "h_out", "w_out",
    "dtype", "layout", "impl", "algo", "status", "reason",
    "time_ms_median", "time_ms_min", "time_ms_stddev", "reps",
    "gflops", "gbps", "work_ratio", "workspace_bytes",
    "max_abs_err", "rel_l2_err", "deterministic", "cache",
    "gpu", "sm_count", "sm_clock_mhz", "mem_clock_mhz", "driver", "cuda", "cublas", "cudnn",
    "commit", "timestamp",
]

# The fields that define a problem (PyTorch ConvTranspose2d), in contract order.
PROBLEM_FIELDS = [
    "n", "c_in", "h_in", "w_in", "c_out", "k_h", "k_w",
    "stride_h", "stride_w", "pad_h", "pad_w", "out_pad_h", "out_pad_w", "dil_h", "dil_w", "groups",
]

# Extra (non-contract) columns that may carry whether the problem has a bias.
BIAS_COLUMNS = ["bias", "has_bias"]

# Columns parsed as numbers when present; everything else stays text ("" when empty).
NUMERIC_COLUMNS = set(PROBLEM_FIELDS) | {
    "h_out", "w_out", "time_ms_median", "time_ms_min", "time_ms_stddev", "reps",
    "gflops", "gbps", "work_ratio", "workspace_bytes", "max_abs_err", "rel_l2_err",
    "sm_count", "sm_clock_mhz", "mem_clock_mhz",
    "setup_ms", "flops", "min_bytes",
    "ceiling_copy_gbps", "ceiling_sgemm_tflops", "ceiling_tf32_tflops", "ceiling_hgemm_tflops",
}

# Storage bytes of one element (tf32 is stored as fp32).
ELEM_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp64": 8}

# Which measured GEMM ceiling bounds which dtype's compute.
COMPUTE_CEILING_COLUMN = {
    "fp32": "ceiling_sgemm_tflops",
    "tf32": "ceiling_tf32_tflops",
    "fp16": "ceiling_hgemm_tflops",
    "bf16": "ceiling_hgemm_tflops",
}
COPY_CEILING_COLUMN = "ceiling_copy_gbps"


class UserError(Exception):
    """A problem with the user's input: reported as one line on stderr, exit status 1."""


def run_cli(main, argv=None) -> int:
    """Runs main(argv); user errors become one line on stderr and exit status 1, no traceback."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "script"
    try:
        rc = main(argv)
        return 0 if rc is None else int(rc)
    except BrokenPipeError:  # output piped into head & co.: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except UserError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:  # unreadable files, malformed numbers in user input
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def parse_bool(text) -> bool:
    """Bias flags as the bench and users write them: 1/0, true/false, yes/no (empty = false)."""
    s = str(text).strip().lower()
    if s in ("1", "true", "yes", "y", "on"):
        return True
    if s in ("", "0", "false", "no", "n", "off", "nan"):
        return False
    raise UserError(f"cannot read '{text}' as a yes/no bias flag")


# ---- problem arithmetic (mirrors core/problem.hpp) ----------------------------------------------

def h_out(p) -> int:
    return (p["h_in"] - 1) * p["stride_h"] - 2 * p["pad_h"] + p["dil_h"] * (p["k_h"] - 1) \
        + p["out_pad_h"] + 1


def w_out(p) -> int:
    return (p["w_in"] - 1) * p["stride_w"] - 2 * p["pad_w"] + p["dil_w"] * (p["k_w"] - 1) \
        + p["out_pad_w"] + 1


def problem_flops(p) -> float:
    """Useful FLOPs, the CUTLASS/cuDNN dgrad convention of Problem::flops()."""
    return 2.0 * p["n"] * p["c_in"] * p["h_in"] * p["w_in"] * (p["c_out"] // p["groups"]) \
        * p["k_h"] * p["k_w"]


def problem_elems(p, bias: bool):
    """(x, w, bias, y) element counts."""
    x = p["n"] * p["c_in"] * p["h_in"] * p["w_in"]
    w = p["c_in"] * (p["c_out"] // p["groups"]) * p["k_h"] * p["k_w"]
    b = p["c_out"] if bias else 0
    y = p["n"] * p["c_out"] * h_out(p) * w_out(p)
    return x, w, b, y


def problem_min_bytes(p, bias: bool, dtype: str) -> float:
    """Minimum traffic of Problem::min_bytes(): x, weight and bias read once, y written once."""
    return float(ELEM_BYTES[dtype] * sum(problem_elems(p, bias)))


def validate_problem(p) -> str:
    """Empty when valid, else one sentence (the essential rules of Problem::validate())."""
    mins = {f: 1 for f in PROBLEM_FIELDS}
    for f in ("pad_h", "pad_w", "out_pad_h", "out_pad_w"):
        mins[f] = 0
    for f in PROBLEM_FIELDS:
        if p[f] < mins[f]:
            return f"{f} = {p[f]} must be >= {mins[f]}"
    if p["c_in"] % p["groups"] or p["c_out"] % p["groups"]:
        return (f"c_in = {p['c_in']} and c_out = {p['c_out']} must be divisible by "
                f"groups = {p['groups']}")
    if p["out_pad_h"] >= max(p["stride_h"], p["dil_h"]):
        return "out_pad_h must be smaller than max(stride_h, dil_h)"
    if p["out_pad_w"] >= max(p["stride_w"], p["dil_w"]):
        return "out_pad_w must be smaller than max(stride_w, dil_w)"
    if h_out(p) < 1 or w_out(p) < 1:
        return f"output size {h_out(p)}x{w_out(p)} must be at least 1x1 (padding too large)"
    return ""


# ---- statistics ---------------------------------------------------------------------------------

def geometric_mean(values) -> float:
    vals = [float(v) for v in values]
    if not vals:
        return float("nan")
    if any(not (v > 0) or math.isinf(v) for v in vals):
        raise ValueError("geometric mean needs positive finite values")
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


# ---- names, colors, files -----------------------------------------------------------------------

def safe_name(text: str) -> str:
    """A file-name-safe form of a suite/dtype/layout string."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-")
    return s or "unnamed"


def compile_regex(pattern: str, option: str):
    try:
        return re.compile(pattern)
    except re.error as e:
        raise UserError(f"{option}: invalid regular expression '{pattern}': {e}") from None


def impl_colors(names):
    """Color per implementation name, assigned from the sorted unique names (stable across plots
    drawn from the same data)."""
    from matplotlib import colormaps  # no pyplot: selecting the backend is the caller's

    uniq = sorted({str(n) for n in names})
    if len(uniq) <= 10:
        cmap = colormaps["tab10"]
        return {n: cmap(i) for i, n in enumerate(uniq)}
    if len(uniq) <= 20:
        cmap = colormaps["tab20"]
        return {n: cmap(i) for i, n in enumerate(uniq)}
    cmap = colormaps["gist_ncar"]
    return {n: cmap(0.05 + 0.9 * i / (len(uniq) - 1)) for i, n in enumerate(uniq)}


# ---- loading ------------------------------------------------------------------------------------

def read_csv_checked(path: str, required):
    """One results CSV as a pandas DataFrame: text columns as str ('' when empty), numeric columns
    as float (NaN when empty or unparsable). UserError on a missing file, missing columns or no
    rows."""
    import pandas as pd

    if not os.path.exists(path):
        raise UserError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, not a CSV file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: empty file (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        msg = " ".join(str(e).split())
        raise UserError(f"{path}: not a readable CSV: {msg}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s): {', '.join(missing)}")
    if len(df) == 0:
        raise UserError(f"{path}: no data rows")
    for c in df.columns:
        if c in NUMERIC_COLUMNS:
            df[c] = pd.to_numeric(df[c].str.strip(), errors="coerce")
        else:
            df[c] = df[c].astype(str).str.strip()
    return df


def load_results(paths, required):
    """All result CSVs concatenated, with a 'source' column naming the file of each row."""
    import pandas as pd

    if not paths:
        raise UserError("no results CSV given")
    frames = []
    for p in paths:
        df = read_csv_checked(p, required)
        df["source"] = p
        frames.append(df)
    df = pd.concat(frames, ignore_index=True, sort=False)
    # Columns that only some files have: text ones read '' where absent.
    for c in df.columns:
        if c not in NUMERIC_COLUMNS and df[c].dtype == object:
            df[c] = df[c].fillna("")
    return df


def bias_series(df):
    """Per row, whether the problem has a bias: from a bias/has_bias column when present, else
    inferred from min_bytes (bias adds c_out elements) when that and dtype are present, else
    False."""
    import pandas as pd

    for c in BIAS_COLUMNS:
        if c in df.columns:
            return df[c].map(lambda v: parse_bool(v) if str(v).strip() != "" else False)
    if "min_bytes" in df.columns and "dtype" in df.columns:
        out = []
        for _, r in df.iterrows():
            eb = ELEM_BYTES.get(r["dtype"])
            if eb is None or pd.isna(r["min_bytes"]) or any(pd.isna(r[f]) for f in PROBLEM_FIELDS):
                out.append(False)
                continue
            p = {f: int(r[f]) for f in PROBLEM_FIELDS}
            x, w, _, y = problem_elems(p, False)
            out.append(int(round(r["min_bytes"] / eb)) - (x + w + y) == p["c_out"])
        return pd.Series(out, index=df.index)
    return pd.Series([False] * len(df), index=df.index)


def add_derived(df):
    """Adds columns every plot needs, from the extras when present, else from the problem fields:
    flops_calc (useful FLOPs), ai (FLOPs per minimum byte)."""
    import numpy as np

    if "flops" in df.columns and df["flops"].notna().all():
        df["flops_calc"] = df["flops"].astype(float)
    else:
        calc = df.apply(lambda r: problem_flops({f: int(r[f]) for f in PROBLEM_FIELDS})
                        if all(r[f] == r[f] for f in PROBLEM_FIELDS) else np.nan, axis=1)
        if "flops" in df.columns:
            calc = df["flops"].where(df["flops"].notna(), calc)
        df["flops_calc"] = calc.astype(float)
    if "min_bytes" in df.columns:
        mb = df["min_bytes"].astype(float)
    else:
        mb = df["flops_calc"] * np.nan
    # Rows without the extra column: the same formula as Problem::min_bytes().
    if mb.isna().any():
        bias = bias_series(df)
        calc = []
        for i, r in df.iterrows():
            eb = ELEM_BYTES.get(r["dtype"])
            if eb is None or any(r[f] != r[f] for f in PROBLEM_FIELDS):
                calc.append(np.nan)
            else:
                calc.append(problem_min_bytes({f: int(r[f]) for f in PROBLEM_FIELDS},
                                              bool(bias[i]), r["dtype"]))
        mb = mb.where(mb.notna(), np.array(calc, dtype=float))
    df["min_bytes_calc"] = mb
    df["ai"] = df["flops_calc"] / df["min_bytes_calc"]
    return df
