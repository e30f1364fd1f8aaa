#!/usr/bin/env python3
"""Speedup tables from tconv-bench results CSVs (format: docs/results-csv.md), in markdown.

Two files (a run against another run: two commits, two GPUs, hot against cold...):
  compare.py A.csv B.csv [--out table.md] [--key COLS] [--time COLUMN]
One set of rows (one implementation against another, e.g. ours against a peer):
  compare.py RESULTS.csv [more.csv ...] --impl-a X --impl-b Y [--best-of-regex] [--out table.md]

Any CSV argument may be a folder: it stands for the .csv files in it, e.g. the shards of a run
split with tconv_bench --shard (scripts/run_local_gpus.sh, scripts/slurm/), so A and B can each be
a sharded run.

Direction: speedup = time of A / time of B (median time by default), so a speedup > 1 means B is
faster and < 1 means A is faster.

Two-file mode matches the passed rows of A and B on the key columns (default: suite, shape,
dtype, layout, impl and the problem fields n ... groups, plus bias when both files have it;
--key replaces that list, comma-separated). It prints one table row per matched key, the
geometric mean of the speedups per implementation, per dtype and overall, and then the keys that
passed in only one of the files (with the other file's status, if it has the row).

Implementation mode (--impl-a/--impl-b) works within the concatenation of the given files: side A
is the rows of implementation X, side B those of Y, matched per problem (the key without impl).
With --best-of-regex, X and Y are regular expressions (re.search) and each side takes, per
problem, the fastest passed row among the implementations matching it (its name is shown), e.g.
  compare.py results.csv --impl-a '^cudnn' --impl-b '^MINE$' --best-of-regex
answers "how much faster is implementation MINE than the best cuDNN-named implementation, shape
by shape" (names are whatever the CSV's impl column holds).

Where one file holds several passed rows with the same key, the fastest is used (noted on stderr).
User errors (missing file, missing columns, no data) are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402

BASE_KEY = ["suite", "shape", "dtype", "layout", "impl"]
TIME_COLUMNS = ["time_ms_median", "time_ms_min"]


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="compare.py",
        description="Speedup tables (markdown) from tconv-bench results CSVs. "
                    "speedup = time A / time B: > 1 means B is faster.")
    ap.add_argument("csv", nargs="+", metavar="CSV",
                    help="A.csv B.csv (two-file mode), or the results CSV(s) for --impl-a/-b; a folder "
                         "stands for its CSVs (a sharded run)")
    ap.add_argument("--out", metavar="FILE", help="write the markdown here instead of stdout")
    ap.add_argument("--key", metavar="COLS",
                    help="comma-separated columns to match rows on (default: suite,shape,dtype,"
                         "layout,impl and the problem fields, plus bias when present)")
    ap.add_argument("--time", default="time_ms_median", choices=TIME_COLUMNS,
                    help="which time to compare (default: time_ms_median)")
    ap.add_argument("--impl-a", metavar="X", help="implementation mode: side A's implementation")
    ap.add_argument("--impl-b", metavar="Y", help="implementation mode: side B's implementation")
    ap.add_argument("--best-of-regex", action="store_true",
                    help="with --impl-a/-b: X and Y are regular expressions; each side takes the "
                         "fastest matching implementation per problem")
    return ap.parse_args(argv)


# ---- formatting ---------------------------------------------------------------------------------

def fmt_value(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


def md_cell(v) -> str:
    return fmt_value(v).replace("|", "\\|").replace("\n", " ")


def md_table(header, rows) -> str:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(md_cell(c) for c in r) + " |")
    return "\n".join(lines)


def fmt_ms(v) -> str:
    return f"{v:.4g}"


def fmt_speedup(v) -> str:
    return f"{v:.3f}"


# ---- matching -----------------------------------------------------------------------------------

def default_key(frames):
    key = BASE_KEY + tr.PROBLEM_FIELDS
    for c in tr.BIAS_COLUMNS:
        if all(c in f.columns for f in frames):
            key.append(c)
            break
    return key


def parse_key(text, frames, names):
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise tr.UserError("--key: no column given")
    for f, name in zip(frames, names):
        missing = [c for c in cols if c not in f.columns]
        if missing:
            raise tr.UserError(f"--key: {name} has no column(s) {', '.join(missing)}")
    return cols


def key_cell(column, v) -> str:
    if column in tr.BIAS_COLUMNS:  # 1/true/yes all read the same
        return "1" if tr.parse_bool(v) else "0"
    return fmt_value(v) if isinstance(v, float) else str(v)


def key_tuple(row, key):
    return tuple(key_cell(c, row[c]) for c in key)


def best_by_key(df, key, time_col, name):
    """{key tuple: fastest passed row}. Several implementations per key (--best-of-regex) are
    expected; the same implementation twice per key is noted on stderr."""
    p = df[(df["status"] == "passed") & df[time_col].notna() & (df[time_col] > 0)]
    best, seen, dups = {}, set(), 0
    for _, r in p.iterrows():
        k = key_tuple(r, key)
        if (k, r["impl"]) in seen:
            dups += 1
        seen.add((k, r["impl"]))
        if k in best and r[time_col] >= best[k][time_col]:
            continue
        best[k] = r
    if dups:
        print(f"compare.py: note: {name}: {dups} duplicate passed row(s) on the key; "
              f"the fastest of each is used", file=sys.stderr)
    return best


def status_by_key(df, key):
    """{key tuple: 'status: reason'} of the rows (the last one wins)."""
    out = {}
    for _, r in df.iterrows():
        s = str(r["status"])
        if r.get("reason", ""):
            s += f": {r['reason']}"
        out[key_tuple(r, key)] = s
    return out


def display_columns(key):
    """The key columns worth a table column (problem fields are implied by suite/shape)."""
    skip = set(tr.PROBLEM_FIELDS) | set(tr.BIAS_COLUMNS)
    cols = [c for c in key if c not in skip]
    return cols or list(key)


def geomean_table(label, groups):
    """groups: {name: [speedups]} -> markdown table."""
    rows = []
    for name in sorted(groups):
        s = groups[name]
        rows.append([name, len(s), fmt_speedup(tr.geometric_mean(s)), fmt_speedup(min(s)),
                     fmt_speedup(max(s)), sum(1 for v in s if v > 1.0)])
    return md_table([label, "rows", "geomean speedup", "min", "max", "B faster"], rows)


def summaries(matched, fields):
    """Geometric-mean sections: matched = list of (row dict, speedup); fields = [(title, col)]."""
    parts = []
    for title, col in fields:
        groups = {}
        for r, s in matched:
            groups.setdefault(str(r[col]), []).append(s)
        parts.append(f"## Geometric mean per {title}\n\n" + geomean_table(col, groups))
    allv = [s for _, s in matched]
    parts.append(f"## Overall\n\n{len(allv)} matched rows, geometric mean speedup "
                 f"{fmt_speedup(tr.geometric_mean(allv))} "
                 f"(B faster in {sum(1 for v in allv if v > 1.0)}).")
    return parts


# ---- two-file mode ------------------------------------------------------------------------------

def compare_files(path_a, path_b, key_text, time_col):
    """Returns (markdown, matched list of (key dict, time a, time b, speedup))."""
    required = ["status", time_col]
    a = tr.read_csv_checked(path_a, required + BASE_KEY)
    b = tr.read_csv_checked(path_b, required + BASE_KEY)
    key = parse_key(key_text, [a, b], [path_a, path_b]) if key_text else default_key([a, b])
    for f, name in ((a, path_a), (b, path_b)):
        missing = [c for c in key if c not in f.columns]
        if missing:
            raise tr.UserError(f"{name}: missing column(s): {', '.join(missing)}")
    best_a = best_by_key(a, key, time_col, path_a)
    best_b = best_by_key(b, key, time_col, path_b)
    st_a, st_b = status_by_key(a, key), status_by_key(b, key)
    disp = display_columns(key)
    pos = {c: key.index(c) for c in disp}

    matched, rows = [], []
    for k in [k for k in best_a if k in best_b]:  # in data order
        ta, tb = float(best_a[k][time_col]), float(best_b[k][time_col])
        s = ta / tb
        kd = dict(zip(key, k))
        matched.append((kd, ta, tb, s))
        rows.append([k[pos[c]] for c in disp] + [fmt_ms(ta), fmt_ms(tb), fmt_speedup(s)])

    parts = [f"# Comparison of {os.path.basename(path_a)} (A) and {os.path.basename(path_b)} (B)",
             f"A: `{path_a}`  \nB: `{path_b}`  \n"
             f"speedup = A {time_col} / B {time_col}: > 1 means B is faster, < 1 means A is "
             f"faster. Rows matched on: {', '.join(key)}."]
    if matched:
        parts.append("## Per shape\n\n" + md_table(disp + ["A ms", "B ms", "speedup A/B"], rows))
        fields = [(t, c) for t, c in (("implementation", "impl"), ("dtype", "dtype"))
                  if c in key]
        parts += summaries([(kd, s) for kd, _, _, s in matched], fields)
    else:
        parts.append("## Per shape\n\nNo key passed in both files.")

    only = []
    for k in [k for k in best_a if k not in best_b]:
        only.append([k[pos[c]] for c in disp] + ["A only", st_b.get(k, "(no row in B)")])
    for k in [k for k in best_b if k not in best_a]:
        only.append([k[pos[c]] for c in disp] + ["B only", st_a.get(k, "(no row in A)")])
    parts.append("## Passed in only one file\n\n" + (
        md_table(disp + ["passed in", "the other file"], only) if only else "None."))
    return "\n\n".join(parts) + "\n", matched


# ---- implementation mode ------------------------------------------------------------------------

def select_side(df, spec, regex, option):
    names = sorted(df["impl"].unique())
    if regex:
        rx = tr.compile_regex(spec, option)
        chosen = [n for n in names if rx.search(n)]
        if not chosen:
            raise tr.UserError(f"{option} '{spec}': no implementation in the data matches "
                               f"(present: {', '.join(names)})")
    else:
        if spec not in names:
            raise tr.UserError(f"{option} '{spec}': no such implementation in the data "
                               f"(present: {', '.join(names)}; use --best-of-regex for a "
                               f"pattern)")
        chosen = [spec]
    return df[df["impl"].isin(chosen)], chosen


def compare_impls(paths, spec_a, spec_b, regex, key_text, time_col):
    required = ["status", time_col] + BASE_KEY
    df = tr.load_results(paths, required)
    if key_text:
        key = [c for c in parse_key(key_text, [df], [", ".join(paths)]) if c != "impl"]
    else:
        key = [c for c in default_key([df]) if c != "impl"]
    side_a, names_a = select_side(df, spec_a, regex, "--impl-a")
    side_b, names_b = select_side(df, spec_b, regex, "--impl-b")
    best_a = best_by_key(side_a, key, time_col, "side A")
    best_b = best_by_key(side_b, key, time_col, "side B")
    disp = display_columns(key)
    pos = {c: key.index(c) for c in disp}

    matched, rows = [], []
    for k in [k for k in best_a if k in best_b]:  # in data order
        ra, rb = best_a[k], best_b[k]
        ta, tb = float(ra[time_col]), float(rb[time_col])
        s = ta / tb
        kd = dict(zip(key, k))
        kd["impl_a"], kd["impl_b"] = ra["impl"], rb["impl"]
        matched.append((kd, ta, tb, s))
        rows.append([k[pos[c]] for c in disp]
                    + [ra["impl"], fmt_ms(ta), rb["impl"], fmt_ms(tb), fmt_speedup(s)])

    how = "the fastest passed implementation matching" if regex else "implementation"
    parts = [f"# {spec_b} against {spec_a}",
             f"Data: {', '.join(f'`{p}`' for p in paths)}  \n"
             f"A = {how} `{spec_a}` ({', '.join(names_a)}); "
             f"B = {how} `{spec_b}` ({', '.join(names_b)}).  \n"
             f"speedup = A {time_col} / B {time_col}: > 1 means B is faster, < 1 means A is "
             f"faster. Rows matched on: {', '.join(key)}."]
    if matched:
        parts.append("## Per shape\n\n" + md_table(
            disp + ["impl A", "A ms", "impl B", "B ms", "speedup A/B"], rows))
        fields = [("dtype", "dtype")] if "dtype" in key else []
        if "layout" in key:
            fields.append(("layout", "layout"))
        if regex and len(names_b) > 1:
            fields.append(("implementation chosen for B", "impl_b"))
        parts += summaries([(kd, s) for kd, _, _, s in matched], fields)
    else:
        parts.append("## Per shape\n\nNo problem has a passed row on both sides.")

    def statuses(side, k):
        rows_k = [r for _, r in side.iterrows() if key_tuple(r, key) == k]
        return "; ".join(f"{r['impl']}: {r['status']}" + (f" ({r['reason']})"
                                                          if r.get("reason", "") else "")
                         for r in rows_k) or "(no row)"

    only = []
    for k in [k for k in best_a if k not in best_b]:
        only.append([k[pos[c]] for c in disp] + ["A only", statuses(side_b, k)])
    for k in [k for k in best_b if k not in best_a]:
        only.append([k[pos[c]] for c in disp] + ["B only", statuses(side_a, k)])
    parts.append("## Passed on only one side\n\n" + (
        md_table(disp + ["passed on", "the other side's rows"], only) if only else "None."))
    return "\n\n".join(parts) + "\n", matched


# ---- main ---------------------------------------------------------------------------------------

def main(argv=None):
    args = parse_args(argv)
    impl_mode = args.impl_a is not None or args.impl_b is not None
    if impl_mode:
        if args.impl_a is None or args.impl_b is None:
            raise tr.UserError("--impl-a and --impl-b go together")
        text, _ = compare_impls(args.csv, args.impl_a, args.impl_b, args.best_of_regex,
                                args.key, args.time)
    else:
        if args.best_of_regex:
            raise tr.UserError("--best-of-regex needs --impl-a and --impl-b")
        if len(args.csv) != 2:
            raise tr.UserError(f"two-file mode needs exactly two CSV files (A and B), got "
                               f"{len(args.csv)}; or use --impl-a/--impl-b")
        text, _ = compare_files(args.csv[0], args.csv[1], args.key, args.time)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise tr.UserError(f"--out {args.out}: {e.strerror}") from None
        print(f"compare.py: wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
