#!/usr/bin/env python3
"""Merges results CSVs (the shards of one sharded tconv_bench run) into one CSV.

usage: merge_results.py OUT.csv IN.csv|DIR [IN.csv|DIR ...]

A folder stands for the .csv files in it. Every input must have the same header, and no row key
(suite, shape, dtype, layout, impl) may appear twice: the shards of one run (tconv_bench --shard
I/N with the same other arguments) are disjoint. OUT is written atomically, rows in the order of
the inputs. Standard library only, so it runs on a GPU node without pandas. User errors are one
line on stderr and exit status 1; OUT is then not written. Format: docs/results-csv.md.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(args) < 2 or any(a.startswith("-") for a in args):
        raise tr.UserError("usage: merge_results.py OUT.csv IN.csv|DIR [IN.csv|DIR ...]")
    n = tr.merge_results(args[1:], args[0])
    print(f"merge_results.py: {n} rows -> {args[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main, None))
