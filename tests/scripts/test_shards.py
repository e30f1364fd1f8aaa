"""A run split into shards (tconv_bench --shard I/N) and put back together: the shards of a dry run
partition the rows exactly and balance their estimated work; merge_results.py, run_local_gpus.sh
and the Slurm array script bring the shard CSVs back to the unsharded run's rows. The GPU runs are
played by a stand-in tconv_bench that takes its rows from the real binary's sharded dry run."""

import csv
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from conftest import FIXTURE, SCRIPTS, assert_one_line_error, fixture_columns, read_rows, \
    require_binary

# The stated balance: no shard's estimated work exceeds the mean by more than 2%.
BALANCE_FACTOR = 1.02
# The same weights as bench/shard.hpp: useful FLOPs + 20 x minimum bytes + 1e8 per runnable row,
# 1e5 per refused row.
WORK_PER_BYTE, WORK_PER_RUNNABLE_ROW, WORK_PER_REFUSED_ROW = 20.0, 1e8, 1e5
ROW_KEY = ("suite", "shape", "dtype", "layout", "impl")
PLAN = ["--dtype", "all", "--layout", "all"]  # every built-in suite, dtype and layout


def dry_run(bench, *args):
    res = subprocess.run([bench, "--dry-run", "--format", "csv", *args], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return list(csv.DictReader(io.StringIO(res.stdout))), res.stderr


def key(r):
    return tuple(r[c] for c in ROW_KEY)


def work(r):
    if r["can_implement"] != "yes":
        return WORK_PER_REFUSED_ROW
    return float(r["gflop"]) * 1e9 + WORK_PER_BYTE * float(r["min_bytes"]) + WORK_PER_RUNNABLE_ROW


def test_dry_run_shards_partition_the_rows_and_balance_the_work():
    bench = require_binary("tconv_bench")
    full, _ = dry_run(bench, *PLAN)
    keys = [key(r) for r in full]
    assert len(full) > 1000 and len(set(keys)) == len(keys)
    position = {k: i for i, k in enumerate(keys)}
    total = sum(work(r) for r in full)
    for n in range(1, 9):
        owner, loads, counts = {}, [], []
        for i in range(n):
            rows, err = dry_run(bench, *PLAN, "--shard", f"{i}/{n}")
            assert f"shard {i}/{n}: {len(rows)} of {len(full)} rows" in err, err
            for r in rows:
                assert key(r) not in owner, f"{key(r)} in shards {owner.get(key(r))} and {i} of {n}"
                owner[key(r)] = i
            # A shard keeps the run's order.
            assert [position[key(r)] for r in rows] == sorted(position[key(r)] for r in rows)
            loads.append(sum(work(r) for r in rows))
            counts.append(len(rows))
        assert set(owner) == set(keys), f"N={n}: the shards do not cover the run exactly"
        assert max(loads) <= BALANCE_FACTOR * total / n, (n, [x / total for x in loads])
        if n > 1:
            assert min(loads) > 0
    # Deterministic: the same arguments give the same shard.
    a, _ = dry_run(bench, *PLAN, "--shard", "3/7")
    b, _ = dry_run(bench, *PLAN, "--shard", "3/7")
    assert [key(r) for r in a] == [key(r) for r in b]


def test_shards_balance_work_not_row_count():
    """One big shape and many small ones: a split by row count would give one shard the big
    shape and half the rows; by work the big shape's shard gets few other rows."""
    bench = require_binary("tconv_bench")
    shapes = ["--shape", "name=big,n=8,c_in=512,h_in=64,w_in=64,c_out=256,k=4,stride=2,pad=1"]
    for j in range(20):
        shapes += ["--shape", f"name=small{j},c_in=4,h_in=4,w_in=4,c_out=4,k=3"]
    args = [*shapes, "--impl", "gather"]
    full, _ = dry_run(bench, *args)
    s0, _ = dry_run(bench, *args, "--shard", "0/2")
    s1, _ = dry_run(bench, *args, "--shard", "1/2")
    big = s0 if any(r["shape"] == "big" for r in s0) else s1
    other = s1 if big is s0 else s0
    assert len(big) == 1 and len(other) == len(full) - 1


def fake_result_rows(dry_rows, gpu):
    """Results-CSV rows (the fixture's columns) for the rows of a dry run."""
    rows = []
    for r in dry_rows:
        row = {c: "" for c in fixture_columns()}
        row.update({c: r[c] for c in ROW_KEY})
        row.update(status="passed" if r["can_implement"] == "yes" else "not_supported",
                   reason="" if r["can_implement"] == "yes" else r["reason"], gpu=gpu)
        rows.append(row)
    return rows


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fixture_columns(), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def test_merge_results_puts_the_shards_back_together(tmp_path, run_script):
    bench = require_binary("tconv_bench")
    args = ["--suite", "smoke", "--suite", "dcgan", "--dtype", "fp32,fp16", "--layout", "all"]
    full, _ = dry_run(bench, *args)
    n = 4
    shard_dir = tmp_path / "shards"
    shard_dir.mkdir()
    for i in range(n):
        rows, _ = dry_run(bench, *args, "--shard", f"{i}/{n}")
        write_csv(shard_dir / f"shard-{i}-of-{n}.csv", fake_result_rows(rows, "FIXTURE"))
    out = tmp_path / "merged.csv"
    res = run_script("merge_results.py", str(out), str(shard_dir))
    assert res.returncode == 0, res.stderr
    merged = read_rows(out)
    assert sorted(key(r) for r in merged) == sorted(key(r) for r in full)
    with open(out, newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == fixture_columns()
    # The report reads the same rows from the folder of shards as from the merged file.
    res = run_script("plot.py", str(shard_dir), "--out", str(tmp_path / "plots"))
    assert res.returncode == 0, res.stderr

    # Two runs mixed (a row in two shards), or shards of another bench version: one line, exit 1,
    # and no merged file.
    dup = tmp_path / "dup.csv"
    write_csv(dup, fake_result_rows(full[:1], "FIXTURE"))
    bad_out = tmp_path / "bad.csv"
    res = run_script("merge_results.py", str(bad_out), str(shard_dir), str(dup))
    assert_one_line_error(res, "also in")
    other = tmp_path / "other.csv"
    other.write_text("suite,shape,dtype,layout,impl,status\nx,y,fp32,nchw,gather,passed\n")
    res = run_script("merge_results.py", str(bad_out), str(shard_dir / "shard-0-of-4.csv"), str(other))
    assert_one_line_error(res, "header differs")
    res = run_script("merge_results.py", str(bad_out), str(tmp_path / "nope.csv"))
    assert_one_line_error(res, "nope.csv")
    assert not bad_out.exists()


STAND_IN = r'''#!{python}
"""Stand-in for tconv_bench on a GPU: the rows of the real binary's sharded dry run, written as a
results CSV; FAULT_SHARD=I makes shard I stop after half its rows with exit 4 (a device fault)
until it is resumed."""
import csv, os, subprocess, sys
args = sys.argv[1:]
csv_path = args[args.index("--csv") + 1]
shard = args[args.index("--shard") + 1]
resume = "--resume" in args
plan = [a for a in args if a != "--resume"]
i = plan.index("--csv"); del plan[i:i + 2]
res = subprocess.run([{bench!r}, "--dry-run", "--format", "csv"] + plan, capture_output=True, text=True)
if res.returncode:
    sys.stderr.write(res.stderr); sys.exit(res.returncode)
rows = list(csv.DictReader(res.stdout.splitlines()))
columns = {columns!r}
done = []
if resume and os.path.exists(csv_path):
    done = list(csv.DictReader(open(csv_path)))
keys = {{tuple(r[c] for c in ("suite", "shape", "dtype", "layout", "impl")) for r in done}}
todo = [r for r in rows if tuple(r[c] for c in ("suite", "shape", "dtype", "layout", "impl")) not in keys]
fault = os.environ.get("FAULT_SHARD") == shard.split("/")[0] and not resume
if fault:
    todo = todo[:max(1, len(todo) // 2)]
out = []
for r in todo:
    row = dict.fromkeys(columns, "")
    row.update({{c: r[c] for c in ("suite", "shape", "dtype", "layout", "impl")}})
    row["status"] = "passed"
    row["gpu"] = "FIXTURE stand-in on CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", "")
    out.append(row)
if fault:
    out[-1]["status"] = "failed"
with open(csv_path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
    w.writeheader(); w.writerows(done + out)
print(f"stand-in: shard {{shard}}: {{len(out)}} rows", file=sys.stderr)
sys.exit(4 if fault else 0)
'''


def make_stand_in(path, bench):
    path.write_text(STAND_IN.format(python=sys.executable, bench=bench, columns=fixture_columns()))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def run(cmd, env, cwd, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, cwd=cwd,
                          timeout=timeout)


def test_run_local_gpus_runs_one_shard_per_gpu_and_merges(tmp_path):
    bench = require_binary("tconv_bench")
    stand_in = make_stand_in(tmp_path / "tconv_bench", bench)
    args = ["--suite", "smoke", "--dtype", "all", "--layout", "all"]
    full, _ = dry_run(bench, *args)
    res = run([os.path.join(SCRIPTS, "run_local_gpus.sh"), *args, "--csv", "out/run.csv"],
              {"CUDA_VISIBLE_DEVICES": "0,1,2", "TCONV_BENCH": str(stand_in), "FAULT_SHARD": "1"},
              tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    merged = read_rows(tmp_path / "out" / "run.csv")
    assert sorted(key(r) for r in merged) == sorted(key(r) for r in full)
    # Shard I ran on GPU I, alone.
    for i in range(3):
        rows = read_rows(tmp_path / "out" / "run.shards" / f"shard-{i}-of-3.csv")
        assert rows and {r["gpu"] for r in rows} == {f"FIXTURE stand-in on CUDA_VISIBLE_DEVICES={i}"}
    # The faulting shard was resumed, and its failed row kept (the fault is in the results).
    log = (tmp_path / "out" / "run.shards" / "shard-1-of-3.log").read_text()
    assert "restart 1 with --resume" in log, log
    assert sum(r["status"] == "failed" for r in merged) == 1

    # No GPU: one line, exit 2.
    res = run([os.path.join(SCRIPTS, "run_local_gpus.sh"), *args],
              {"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}, tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    # --shard is the script's to choose.
    res = run([os.path.join(SCRIPTS, "run_local_gpus.sh"), "--shard", "0/2"],
              {"CUDA_VISIBLE_DEVICES": "0"}, tmp_path)
    assert res.returncode == 1 and "--shard" in res.stderr


def make_bundle(root, bench):
    """The parts of a bundle (scripts/bundle.sh) the Slurm script uses, with the stand-in binary."""
    (root / "bin").mkdir(parents=True)
    (root / "scripts").mkdir()
    make_stand_in(root / "bin" / "tconv_bench", bench)
    for f in ("run_shard.sh", "merge_results.py", "tconv_results.py"):
        shutil.copy2(os.path.join(SCRIPTS, f), root / "scripts" / f)
    return root


def test_slurm_array_tasks_and_merge(tmp_path):
    bench = require_binary("tconv_bench")
    bundle = make_bundle(tmp_path / "tconv-bench-sm90", bench)
    tarball = tmp_path / "tconv-bench-sm90.tar.xz"
    with tarfile.open(tarball, "w:xz") as t:
        t.add(bundle, arcname="tconv-bench-sm90")
    sbatch = os.path.join(SCRIPTS, "slurm", "tconv_array.sbatch")
    args = ["--suite", "smoke", "--dtype", "fp32,bf16"]
    full, _ = dry_run(bench, *args)
    out = tmp_path / "run1"
    # Array 5-8: four tasks, shards 0..3; the first two from the tarball, the others from the folder.
    for task in range(5, 9):
        env = {"TCONV_BUNDLE": str(tarball if task < 7 else bundle), "TCONV_OUT": str(out),
               "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": "5",
               "SLURM_ARRAY_TASK_MAX": "8", "TMPDIR": str(tmp_path), "CUDA_VISIBLE_DEVICES": "0"}
        res = run(["bash", sbatch, *args], env, tmp_path)
        assert res.returncode == 0, res.stderr
        assert (out / "shards" / f"shard-{task - 5}-of-4.csv").exists()
    res = run(["bash", sbatch, "--merge"], {"TCONV_BUNDLE": str(bundle), "TCONV_OUT": str(out)},
              tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(key(r) for r in read_rows(out / "results.csv")) == sorted(key(r) for r in full)
    # No unpacked bundle left in the scratch folder.
    assert not [p for p in os.listdir(tmp_path) if p.startswith("tconv-bench.")]
    # Outside an array, and without the payload: one line, exit 1.
    res = run(["bash", sbatch], {"TCONV_BUNDLE": str(bundle), "TCONV_OUT": str(out)}, tmp_path)
    assert res.returncode == 1 and "array" in res.stderr
    res = run(["bash", sbatch], {"TCONV_BUNDLE": "", "TCONV_OUT": str(out)}, tmp_path)
    assert res.returncode == 1 and "TCONV_BUNDLE" in res.stderr


def test_slurm_submit_makes_the_array_and_a_dependent_merge(tmp_path):
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho \"$@\" >> \"$SBATCH_LOG\"\n"
                    "n=$(wc -l < \"$SBATCH_LOG\"); echo $((1000 + n))\n")
    fake.chmod(0o755)
    (tmp_path / "b.tar.xz").write_bytes(b"")
    log = tmp_path / "sbatch.log"
    res = run([os.path.join(SCRIPTS, "slurm", "submit.sh"), "8", "--suite", "all", "--dtype", "all"],
              {"PATH": f"{fake.parent}:{os.environ['PATH']}", "SBATCH_LOG": str(log),
               "TCONV_BUNDLE": "b.tar.xz", "TCONV_OUT": "runs/r1", "SBATCH_ARGS": "--partition=gpu"},
              tmp_path)
    assert res.returncode == 0, res.stderr
    first, second = log.read_text().splitlines()
    assert "--array=0-7" in first and "--partition=gpu" in first
    assert first.endswith("tconv_array.sbatch --suite all --dtype all")
    assert "--dependency=afterany:1001" in second and second.endswith("tconv_array.sbatch --merge")
    assert f"TCONV_OUT={tmp_path}/runs/r1" in first
    assert "array job 1001" in res.stdout and "merge job 1002" in res.stdout


def test_scripts_read_a_folder_of_shards_as_the_whole_run(tmp_path, run_script):
    """The fixture split into two shard files reads as the fixture itself: the same report, and
    two such folders compare row for row."""
    rows = read_rows(FIXTURE)
    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        for i in range(2):
            write_csv(tmp_path / side / f"shard-{i}-of-2.csv", rows[i::2])
    whole = run_script("report.py", FIXTURE, "--out", str(tmp_path / "whole"))
    sharded = run_script("report.py", str(tmp_path / "a"), "--out", str(tmp_path / "sharded"))
    assert whole.returncode == 0 and sharded.returncode == 0, whole.stderr + sharded.stderr

    def summary(folder):  # the pick table (other sections list rows in file order)
        text = (tmp_path / folder / "report.md").read_text()
        start = text.index("## Summary")
        return text[start:text.index("\n## ", start + 1)]
    assert summary("whole") == summary("sharded")
    assert "| dcgan/l2 | fp32 | nchw |" in summary("whole")
    res = run_script("compare.py", str(tmp_path / "a"), str(tmp_path / "b"))
    assert res.returncode == 0, res.stderr
    table = [ln for ln in res.stdout.splitlines() if ln.startswith("| ") and ln.endswith(" |")]
    speedups = [ln.rsplit("|", 2)[1].strip() for ln in table[1:] if ln.count("|") > 8]
    passed_timed = sum(1 for r in rows if r["status"] == "passed" and r["time_ms_median"])
    assert len(speedups) == passed_timed and set(speedups) == {"1.000"}, res.stdout
