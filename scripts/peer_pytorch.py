#!/usr/bin/env python3
"""PyTorch peer: times torch.nn.functional.conv_transpose2d on the bench's shapes and writes rows
in the results-CSV format of tconv_bench (docs/results-csv.md), so plot.py and compare.py put it
next to our implementations.

usage: peer_pytorch.py (--shapes FILE.csv | --bench PATH) [--suite NAME ...] --csv OUT.csv
                       [--dtype LIST] [--layout LIST] [--impl NAME ...] [--reps N] [--warmup N]
                       [--hot] [--seed N] [--dry-run]

Shapes: --shapes takes either the output of `tconv_bench --list-suites --format csv` (columns
suite, shape, n, c_in, h_in, w_in, c_out, k_h, k_w, stride_h, stride_w, pad_h, pad_w, out_pad_h,
out_pad_w, dil_h, dil_w, groups, bias) or a results CSV (its unique problems). --bench PATH runs
that command itself (default when neither is given: build/tconv_bench of this checkout).

Two implementations, each run in its own Python process: PyTorch keeps one cuDNN plan cache per
process whose key ignores torch.backends.cudnn.benchmark, so in one process whichever mode ran
first would choose the plan for both.
  pytorch_default          torch.backends.cudnn.benchmark = False (cuDNN heuristics)
  pytorch_cudnn_benchmark  torch.backends.cudnn.benchmark = True (cuDNN autotuning on first call;
                           that first call is the setup_ms column)
dtypes: fp32 (TF32 off for convolutions and matmuls), tf32 (TF32 allowed), fp16, bf16 (fp32
accumulation is cuDNN's choice); layouts: nchw, nhwc (torch.channels_last for x and the weight).

Per (problem, dtype, layout, implementation), as tconv_bench does: random inputs uniform in
[-1, 1] (seeded), output compared with conv_transpose2d computed in float64 on the GPU on the same
inputs (rel_l2 tolerance: tolerance() below; NaN/Inf never pass; incorrect rows are not timed),
deterministic = two runs compared bit for bit, then warm-up runs and timed repetitions between CUDA
events, each preceded by an L2 flush (writing a buffer of twice the L2 size) unless --hot. The
timed call includes PyTorch's allocation of y through its caching allocator (no out= variant).
time_ms_stddev is the sample standard deviation. workspace_bytes is the allocator's peak during
one call beyond y. Context columns come from torch (gpu, sm_count, cuda = torch.version.cuda,
cudnn = torch.backends.cudnn.version()), the driver version from libcuda, clocks from NVML when
importable; unknown ones are empty. Extra columns: setup_ms, flops, min_bytes, bias, tol_rel_l2,
reference, seed (as tconv_bench writes them) and torch (its version).

Begin/end padding outside PyTorch's form (docs/results-csv.md; from a results CSV) runs as
conv_transpose2d with padding P = max(0, min(begin, end)) and output_padding A = max(0, P - end)
per axis, followed by the slice [begin - P, begin - P + out) of its output: the same output
elements, exactly (output o of the problem is element o + begin of the full output, and PyTorch's
is element o + P). The algo column says so. Where A would reach max(stride, dilation), which
PyTorch refuses, the row is not_supported with the reason.

The torch-free parts (tolerance, statistics, shape loading, row assembly, CSV writing, the
begin/end plan) import without torch, for the tests; torch is imported only to run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BENCH = os.path.join(REPO_ROOT, "build", "tconv_bench")

# This script's own implementation names (cudnn.benchmark off / on).
PEER_IMPLS = ["pytorch_default", "pytorch_cudnn_benchmark"]
DTYPES = ["fp32", "tf32", "fp16", "bf16"]
LAYOUTS = ["nchw", "nhwc"]
REFERENCE = "gpu_fp64_torch"  # what the output is checked against (conv_transpose2d in float64)
# The columns: the contract's, every one in its order (tr.contract(): tconv_bench
# --print-contract), then torch = torch.__version__, in every row: report.py tells this script's
# rows from the bench's by it.
OWN_COLUMNS = ["torch"]


def columns():
    return [c["name"] for c in tr.contract()["columns"]] + OWN_COLUMNS


SHAPE_COLUMNS = ["suite", "shape"] + tr.PROBLEM_FIELDS + ["bias"]


# ---- tolerance and statistics (torch-free) ------------------------------------------------------

def tolerance(dtype: str, p) -> float:
    """Largest rel_l2_err = ||y - ref||_2 / ||ref||_2 that passes on problem p, per dtype: the
    contract's bound (tconv_results.rel_l2_bound), the one tconv_bench holds its rows to."""
    return tr.rel_l2_bound(dtype, p)


def verdict(dtype: str, p, rel_l2: float, max_abs_err: float, max_abs_ref: float,
            all_finite: bool):
    """(status, accuracy, reason) by the contract's accuracy policy, exactly as tconv_bench judges
    its own rows (bench/tolerance.hpp judge_accuracy): the rel_l2 bound, the pointwise bound, the
    reduced-precision band; NaN or Inf never passes."""
    return tr.judge_accuracy(dtype, p, rel_l2, max_abs_err, max_abs_ref, all_finite)


def time_stats(times_ms):
    """(median, min, sample stddev) of the timed repetitions, in ms."""
    ts = [float(t) for t in times_ms]
    if not ts:
        raise ValueError("no timed repetitions")
    sd = statistics.stdev(ts) if len(ts) > 1 else 0.0
    return statistics.median(ts), min(ts), sd


# ---- shapes (torch-free) ------------------------------------------------------------------------

def _int_field(row, f, where):
    v = str(row.get(f, "")).strip()
    try:
        x = float(v)
    except ValueError:
        raise tr.UserError(f"{where}: column {f} = '{v}' is not a number") from None
    if x != int(x):
        raise tr.UserError(f"{where}: column {f} = '{v}' is not an integer")
    return int(x)


def torch_pads_plan(p):
    """How conv_transpose2d runs problem p: (padding, output_padding, slices, why). slices is
    None for PyTorch's form (nothing to cut), else one (start, length) per axis (h, w) of the
    output to keep; why is "" or the reason PyTorch cannot run it."""
    if tr.pytorch_pads(p):
        return (p["pad_h"], p["pad_w"]), (p["out_pad_h"], p["out_pad_w"]), None, ""
    pads, out_pads, slices = [], [], []
    for a, out in (("h", tr.h_out(p)), ("w", tr.w_out(p))):
        begin, end = p[f"pad_{a}"], tr.pad_end(p, a)
        pad = max(0, min(begin, end))
        out_pad = max(0, pad - end)
        limit = max(p[f"stride_{a}"], p[f"dil_{a}"])
        if out_pad >= limit:
            return None, None, None, (
                f"begin:end padding {begin}:{end} on {a.upper()} needs output_padding {out_pad} "
                f"after padding {pad}, and conv_transpose2d takes output_padding below "
                f"max(stride, dilation) = {limit} only")
        pads.append(pad)
        out_pads.append(out_pad)
        slices.append((begin - pad, out))
    return tuple(pads), tuple(out_pads), tuple(slices), ""


def parse_shapes_text(text: str, source: str):
    """Unique problems of a --list-suites CSV or a results CSV, in order of first appearance:
    a list of dicts with suite, shape, the problem fields (int) and bias (bool)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise tr.UserError(f"{source}: no shapes (empty)")
    reader = csv.DictReader(io.StringIO("\n".join(lines)), skipinitialspace=True)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in ["suite", "shape"] + tr.PROBLEM_FIELDS if c not in header]
    if missing:
        raise tr.UserError(f"{source}: missing column(s): {', '.join(missing)} (expected the "
                           f"output of tconv_bench --list-suites --format csv, or a results CSV)")
    bias_col = next((c for c in tr.BIAS_COLUMNS if c in header), None)
    infer_bias = bias_col is None and "min_bytes" in header and "dtype" in header
    shapes, seen = [], set()
    for i, row in enumerate(reader, start=2):
        where = f"{source}:{i}"
        p = {f: _int_field(row, f, where) for f in tr.PROBLEM_FIELDS}
        if not tr.pytorch_pads(p):
            p["begin_end"] = True  # a results CSV's begin/end padding (pad = begin, out_pad = begin - end)
        why = tr.validate_problem(p)
        if why:
            raise tr.UserError(f"{where}: invalid problem: {why}")
        if bias_col:
            bias = tr.parse_bool(row.get(bias_col, ""))
        elif infer_bias and str(row.get("min_bytes", "")).strip() and \
                row.get("dtype", "").strip() in tr.ELEM_BYTES:
            # Results CSVs without a bias column: bias adds c_out elements to min_bytes.
            eb = tr.ELEM_BYTES[row["dtype"].strip()]
            x, w, _, y = tr.problem_elems(p, False)
            bias = round(float(row["min_bytes"]) / eb) - (x + w + y) == p["c_out"]
        else:
            bias = False
        s = {"suite": row["suite"].strip(), "shape": row["shape"].strip(), **p, "bias": bias}
        key = tuple(s[c] for c in SHAPE_COLUMNS)
        if key not in seen:
            seen.add(key)
            shapes.append(s)
    if not shapes:
        raise tr.UserError(f"{source}: no shapes (header only)")
    return shapes


def load_shapes_file(path: str):
    if not os.path.exists(path):
        raise tr.UserError(f"{path}: no such file")
    with open(path, encoding="utf-8") as f:
        return parse_shapes_text(f.read(), path)


def load_shapes_from_bench(bench: str):
    if not os.path.exists(bench):
        raise tr.UserError(f"{bench}: no such program (build tconv_bench, or give --shapes FILE)")
    cmd = [bench, "--list-suites", "--format", "csv"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise tr.UserError(f"{bench}: cannot run: {e.strerror}") from None
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise tr.UserError(f"{' '.join(cmd)} failed (exit {res.returncode}): {last}")
    return parse_shapes_text(res.stdout, " ".join(cmd))


def filter_suites(shapes, suites):
    """Shapes of the named suites ('all' or none: every suite); unknown names are errors."""
    if not suites or "all" in suites:
        return shapes
    present = list(dict.fromkeys(s["suite"] for s in shapes))
    unknown = [s for s in suites if s not in present]
    if unknown:
        raise tr.UserError(f"--suite {', '.join(unknown)}: not in the shapes "
                           f"(present: {', '.join(present)})")
    return [s for s in shapes if s["suite"] in suites]


def write_shapes_csv(shapes, path: str):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(SHAPE_COLUMNS)
        for s in shapes:
            w.writerow([s[c] if c != "bias" else int(s["bias"]) for c in SHAPE_COLUMNS])


def parse_list(values, allowed, option):
    """--dtype fp32,fp16 --dtype bf16 -> ordered unique list; 'all' = every allowed value."""
    out = []
    for v in values:
        for item in str(v).split(","):
            item = item.strip()
            if not item:
                continue
            if item == "all":
                items = list(allowed)
            elif item in allowed:
                items = [item]
            else:
                raise tr.UserError(f"{option} '{item}': expected one of {', '.join(allowed)} "
                                   f"or all")
            for i in items:
                if i not in out:
                    out.append(i)
    if not out:
        raise tr.UserError(f"{option}: nothing selected")
    return out


# ---- rows (torch-free) --------------------------------------------------------------------------

def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        return f"{v:.6g}"
    return str(v)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_row(shape, dtype, layout, impl, status, *, reason="", algo="", times_ms=None,
             max_abs_err=None, rel_l2_err=None, deterministic="na", cache="cold",
             workspace_bytes=None, setup_ms=None, context=None, timestamp=None, seed=None,
             reference="", accuracy=""):
    """One results-CSV row (a dict in COLUMNS order, all values strings), derived columns computed
    from the problem: h_out, w_out, gflops, gbps, flops, min_bytes."""
    p = {f: int(shape[f]) for f in tr.PROBLEM_FIELDS}
    bias = bool(shape.get("bias", False))
    flops = tr.problem_flops(p)
    min_bytes = tr.problem_min_bytes(p, bias, dtype)
    row = {c: "" for c in columns()}
    row.update({f: str(p[f]) for f in tr.PROBLEM_FIELDS})
    row.update(suite=shape["suite"], shape=shape["shape"], h_out=str(tr.h_out(p)),
               w_out=str(tr.w_out(p)), dtype=dtype, layout=layout, impl=impl, algo=algo,
               status=status, reason=reason, deterministic=deterministic, cache=cache,
               flops=_fmt(flops), min_bytes=_fmt(min_bytes), bias=_fmt(bias),
               timestamp=timestamp or utc_now())
    if times_ms:
        med, mn, sd = time_stats(times_ms)
        row.update(time_ms_median=_fmt(med), time_ms_min=_fmt(mn), time_ms_stddev=_fmt(sd),
                   reps=str(len(times_ms)), gflops=_fmt(flops / (med * 1e6)),
                   gbps=_fmt(min_bytes / (med * 1e6)))
    row.update(max_abs_err=_fmt(max_abs_err), rel_l2_err=_fmt(rel_l2_err),
               workspace_bytes=_fmt(workspace_bytes), setup_ms=_fmt(setup_ms), seed=_fmt(seed),
               reference=reference if rel_l2_err is not None else "",
               tol_rel_l2=_fmt(tolerance(dtype, p)) if rel_l2_err is not None else "",
               accuracy=accuracy, count=_fmt(int(shape.get("count", 1) or 1)),
               pad_begin_h=str(p["pad_h"]), pad_begin_w=str(p["pad_w"]),
               pad_end_h=str(tr.pad_end(p, "h")), pad_end_w=str(tr.pad_end(p, "w")))
    if "nvml" in row:  # the clock and power columns are tconv_bench's (bench/power.hpp)
        row["nvml"] = "unavailable: not recorded by scripts/peer_pytorch.py"
    for k, v in (context or {}).items():
        if k in row and k not in ("suite", "shape", "dtype", "layout", "impl", "status"):
            row[k] = _fmt(v)
    return row


def write_csv(rows, path: str):
    """All rows, atomically (temp file + rename): a crash leaves the previous complete file."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".peer_pytorch.", suffix=".csv", dir=d)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            cols = columns()
            w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({c: r.get(c, "") for c in cols})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def git_commit() -> str:
    """The checkout's commit with -dirty if modified, as tconv_bench writes it."""
    try:
        res = subprocess.run(["git", "-C", REPO_ROOT, "describe", "--always", "--dirty",
                              "--abbrev=12"], capture_output=True, text=True, timeout=20)
        if res.returncode == 0 and res.stdout.strip():
            return res.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def plan_rows(shapes, dtypes, layouts, impls):
    """The (shape index, dtype, layout, impl) rows in output order."""
    return [(i, d, lay, im) for i in range(len(shapes)) for d in dtypes for lay in layouts
            for im in impls]


# ---- torch parts --------------------------------------------------------------------------------

def import_torch():
    try:
        import torch  # noqa: F401
        import torch.nn.functional  # noqa: F401
    except ImportError as e:
        raise tr.UserError(f"PyTorch is not importable ({e}); run this on a machine with torch "
                           f"and CUDA") from None
    return torch


def set_tf32(torch, enabled: bool) -> str:
    """TF32 for convolutions and matmuls, through the fp32_precision API where this torch has it
    (2.9+; the allow_tf32 flags are deprecated there and must not be mixed with it)."""
    mode = "tf32" if enabled else "ieee"
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        conv.fp32_precision = mode
        torch.backends.cuda.matmul.fp32_precision = mode
        return f"cudnn.conv.fp32_precision={mode}"
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled
    return f"cudnn.allow_tf32={enabled}"


def torch_context(torch, dev) -> dict:
    props = torch.cuda.get_device_properties(dev)
    ctx = {"gpu": torch.cuda.get_device_name(dev), "sm_count": props.multi_processor_count,
           "cuda": torch.version.cuda or "", "cudnn": torch.backends.cudnn.version() or "",
           "commit": git_commit(), "torch": torch.__version__}
    try:  # the driver's CUDA version, as cudaDriverGetVersion reports it (e.g. 13000)
        import ctypes
        v = ctypes.c_int(0)
        if ctypes.CDLL("libcuda.so.1").cuDriverGetVersion(ctypes.byref(v)) == 0:
            ctx["driver"] = v.value
    except (OSError, AttributeError):
        pass
    try:  # maximum clocks, as cudaDevAttrClockRate / MemoryClockRate report them
        import pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(dev)
        ctx["sm_clock_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_SM)
        ctx["mem_clock_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_MEM)
    except Exception:  # noqa: BLE001  (NVML is optional: the columns stay empty)
        pass
    return ctx


def conv_backend(torch, x, w, b, s):
    """Which PyTorch convolution backend runs (private API: best effort, '' when unknown)."""
    pad, out_pad, _, _ = torch_pads_plan(s)
    a = (x, w, b, [s["stride_h"], s["stride_w"]], list(pad),
         [s["dil_h"], s["dil_w"]], True, list(out_pad), s["groups"])
    for extra in ((), (None,)):  # some versions take bias sizes last
        try:
            return str(torch._C._select_conv_backend(*a, *extra)).split(".")[-1]
        except Exception:  # noqa: BLE001
            continue
    return ""


def run_worker(args, impl):
    """Runs every (shape, dtype, layout) for one implementation, appending JSON rows to
    args.rows_out as they finish."""
    torch = import_torch()
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        raise tr.UserError("no CUDA device visible to PyTorch")
    dev = torch.cuda.current_device()
    device = torch.device("cuda", dev)
    torch.backends.cudnn.benchmark = impl == "pytorch_cudnn_benchmark"
    ctx = torch_context(torch, dev)
    shapes = load_shapes_file(args.shapes)
    dtypes = parse_list(args.dtype, DTYPES, "--dtype")
    layouts = parse_list(args.layout, LAYOUTS, "--layout")
    tdt = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16,
           "bf16": torch.bfloat16}
    bits = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}
    flush = None
    if not args.hot:
        l2 = int(getattr(torch.cuda.get_device_properties(dev), "L2_cache_size", 0) or 0)
        flush = torch.empty(max(2 * l2, 64 << 20), dtype=torch.uint8, device=device)
    cache = "hot" if args.hot else "cold"
    total = len(shapes) * len(dtypes) * len(layouts)
    done = 0
    out = open(args.rows_out, "a", encoding="utf-8")

    def emit(row):
        out.write(json.dumps(row) + "\n")
        out.flush()
        msg = f"{row['status']}"
        if row["status"] == "passed":
            msg += f" {row['time_ms_median']} ms {row['gflops']} GFLOP/s"
        elif row["reason"]:
            msg += f" ({row['reason']})"
        print(f"[{done}/{total}] {row['suite']}/{row['shape']} {impl} {row['dtype']} "
              f"{row['layout']}: {msg}", file=sys.stderr, flush=True)

    for s in shapes:
        t_pad, t_out_pad, slices, why = torch_pads_plan(s)
        if why:
            for dtype in dtypes:
                for layout in layouts:
                    done += 1
                    emit(make_row(s, dtype, layout, impl, "not_supported", reason=why,
                                  cache=cache, context=ctx))
            continue
        kw = dict(stride=(s["stride_h"], s["stride_w"]), padding=t_pad,
                  output_padding=t_out_pad, groups=s["groups"],
                  dilation=(s["dil_h"], s["dil_w"]))
        s = dict(s, torch_slices=slices)
        xs = (s["n"], s["c_in"], s["h_in"], s["w_in"])
        ws = (s["c_in"], s["c_out"] // s["groups"], s["k_h"], s["k_w"])
        p = {f: s[f] for f in tr.PROBLEM_FIELDS}
        x_e, w_e, b_e, y_e = tr.problem_elems(p, s["bias"])
        # fp64 x, w, bias, reference, and y and y - ref in fp64 while checking; dtype copies.
        need = 8 * (x_e + w_e + b_e + 3 * y_e) + 4 * (x_e + w_e + b_e + 2 * y_e)
        ref = x64 = w64 = b64 = None
        try:
            free, _ = torch.cuda.mem_get_info(device)
            if need > 0.9 * free:
                raise MemoryError(f"operands and the fp64 reference need {need / 2**30:.1f} GiB, "
                                  f"{free / 2**30:.1f} GiB free")
            g = torch.Generator(device=device)
            g.manual_seed(args.seed)
            x64 = torch.rand(xs, generator=g, dtype=torch.float64, device=device) * 2 - 1
            w64 = torch.rand(ws, generator=g, dtype=torch.float64, device=device) * 2 - 1
            b64 = (torch.rand((s["c_out"],), generator=g, dtype=torch.float64, device=device)
                   * 2 - 1) if s["bias"] else None
            ref = F.conv_transpose2d(x64, w64, b64, **kw)
            if slices:
                (h0, hl), (w0, wl) = slices
                ref = ref[:, :, h0:h0 + hl, w0:w0 + wl]
            ref_norm = float(torch.linalg.vector_norm(ref))
            problem_error = None
        except (MemoryError, torch.cuda.OutOfMemoryError) as e:
            problem_error = ("skipped", f"out of memory: {' '.join(str(e).split())[:200]}")
        except RuntimeError as e:
            problem_error = ("skipped", f"error: {' '.join(str(e).split())[:200]}")
        for dtype in dtypes:
            tf32_note = set_tf32(torch, dtype == "tf32")
            for layout in layouts:
                done += 1
                if problem_error:
                    emit(make_row(s, dtype, layout, impl, problem_error[0],
                                  reason=problem_error[1], cache=cache, context=ctx))
                    continue
                try:
                    emit(run_one(torch, F, s, kw, dtype, layout, impl, x64, w64, b64, ref,
                                 ref_norm, tdt[dtype], bits, flush, args, cache, ctx, tf32_note))
                except torch.cuda.OutOfMemoryError as e:
                    torch.cuda.empty_cache()
                    emit(make_row(s, dtype, layout, impl, "skipped", cache=cache, context=ctx,
                                  reason=f"out of memory: {' '.join(str(e).split())[:200]}"))
                except (RuntimeError, ValueError, TypeError) as e:
                    msg = " ".join(str(e).split())[:300]
                    status = "not_supported" if ("not supported" in msg.lower()
                                                 or "not implemented" in msg.lower()) else "skipped"
                    emit(make_row(s, dtype, layout, impl, status, cache=cache, context=ctx,
                                  reason=msg if status == "not_supported" else f"error: {msg}"))
        del ref, x64, w64, b64
        torch.cuda.empty_cache()
    out.close()
    return 0


def run_one(torch, F, s, kw, dtype, layout, impl, x64, w64, b64, ref, ref_norm, tdtype, bits,
            flush, args, cache, ctx, tf32_note):
    fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
    x = x64.to(tdtype).contiguous(memory_format=fmt)
    w = w64.to(tdtype).contiguous(memory_format=fmt)
    b = b64.to(tdtype) if b64 is not None else None

    slices = s.get("torch_slices")

    def fn():
        y = F.conv_transpose2d(x, w, b, **kw)
        if slices:  # a view: the begin/end problem's outputs, no copy
            (h0, hl), (w0, wl) = slices
            y = y[:, :, h0:h0 + hl, w0:w0 + wl]
        return y

    algo = (f"cudnn.benchmark={'on' if torch.backends.cudnn.benchmark else 'off'}; "
            f"{tf32_note}")
    if slices:
        algo += (f"; begin/end padding as conv_transpose2d padding={kw['padding']} "
                 f"output_padding={kw['output_padding']} then the slice "
                 f"[{slices[0][0]}:{slices[0][0] + slices[0][1]}, "
                 f"{slices[1][0]}:{slices[1][0] + slices[1][1]}] (exact: the same output "
                 f"elements)")
    backend = conv_backend(torch, x, w, b, s)
    if backend:
        algo += f"; backend={backend}"

    # First call: plan selection (and autotuning with cudnn.benchmark): the setup time.
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    y = fn()
    torch.cuda.synchronize()
    setup_ms = (time.perf_counter() - t0) * 1e3

    yd = y.double()
    all_finite = bool(torch.isfinite(yd).all())
    diff = yd - ref
    diff_norm = float(torch.linalg.vector_norm(diff))
    max_abs = float(diff.abs().max()) if diff.numel() else 0.0
    ref_max_abs = float(ref.abs().max()) if ref.numel() else 0.0
    if ref_norm > 0:
        rel = diff_norm / ref_norm
    else:
        rel = 0.0 if diff_norm == 0 else float("inf")
    del yd, diff
    status, accuracy, reason = verdict(dtype, s, rel, max_abs, ref_max_abs, all_finite)
    if status != "passed":
        return make_row(s, dtype, layout, impl, status, reason=reason, algo=algo,
                        max_abs_err=max_abs, rel_l2_err=rel, cache=cache, setup_ms=setup_ms,
                        context=ctx, seed=args.seed, reference=REFERENCE)

    # Second call: determinism (bitwise) and the allocator's peak beyond y (the workspace).
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(x.device)
    before = torch.cuda.memory_allocated(x.device)
    y2 = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated(x.device)
    workspace = max(0, int(peak - before - y2.untyped_storage().nbytes()))
    same = bool(torch.equal(y.view(bits[tdtype]), y2.view(bits[tdtype])))
    del y, y2

    for _ in range(args.warmup):
        fn()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(args.reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(args.reps)]
    for i in range(args.reps):
        if flush is not None:
            flush.zero_()
        starts[i].record()
        fn()
        ends[i].record()
    torch.cuda.synchronize()
    times = [starts[i].elapsed_time(ends[i]) for i in range(args.reps)]
    return make_row(s, dtype, layout, impl, "passed", algo=algo, times_ms=times,
                    max_abs_err=max_abs, rel_l2_err=rel, deterministic="yes" if same else "no",
                    cache=cache, workspace_bytes=workspace, setup_ms=setup_ms, context=ctx,
                    seed=args.seed, reference=REFERENCE, accuracy=accuracy,
                    reason=reason)


# ---- driver -------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="peer_pytorch.py",
        description="Times torch.nn.functional.conv_transpose2d on tconv_bench's shapes and "
                    "writes a results CSV in the same format.")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--shapes", metavar="FILE.csv",
                     help="shapes: output of `tconv_bench --list-suites --format csv`, or a "
                          "results CSV (its unique problems)")
    src.add_argument("--bench", metavar="PATH",
                     help=f"run PATH --list-suites --format csv for the shapes "
                          f"(default: {os.path.relpath(DEFAULT_BENCH, REPO_ROOT)})")
    ap.add_argument("--suite", action="append", default=[], metavar="NAME",
                    help="only this suite (repeatable; default or 'all': every suite)")
    ap.add_argument("--csv", default="peer_pytorch.csv", metavar="OUT.csv",
                    help="output CSV (default: peer_pytorch.csv)")
    ap.add_argument("--dtype", action="append", default=[], metavar="LIST",
                    help="comma-separated: fp32, tf32, fp16, bf16 or all (default: fp32)")
    ap.add_argument("--layout", action="append", default=[], metavar="LIST",
                    help="comma-separated: nchw, nhwc or all (default: nchw)")
    ap.add_argument("--impl", action="append", default=[], metavar="NAME",
                    help=f"only this peer implementation (repeatable): {', '.join(PEER_IMPLS)}")
    ap.add_argument("--reps", type=int, default=20, help="timed repetitions (default: 20)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up runs (default: 5)")
    ap.add_argument("--hot", action="store_true", help="no L2 flush before timed runs")
    ap.add_argument("--seed", type=int, default=1, help="input seed (default: 1)")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the rows that would run and exit (no torch needed)")
    ap.add_argument("--worker", metavar="IMPL", help=argparse.SUPPRESS)
    ap.add_argument("--rows-out", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.dtype = args.dtype or ["fp32"]
    args.layout = args.layout or ["nchw"]
    if args.reps < 1 or args.warmup < 0:
        raise tr.UserError("--reps must be >= 1 and --warmup >= 0")
    return args


def read_worker_rows(path):
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass  # a line cut short by a crash
    return rows


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        if args.worker not in PEER_IMPLS or not args.shapes or not args.rows_out:
            raise tr.UserError("--worker needs a peer implementation, --shapes and --rows-out")
        return run_worker(args, args.worker)

    shapes = load_shapes_file(args.shapes) if args.shapes else \
        load_shapes_from_bench(args.bench or DEFAULT_BENCH)
    shapes = filter_suites(shapes, args.suite)
    dtypes = parse_list(args.dtype, DTYPES, "--dtype")
    layouts = parse_list(args.layout, LAYOUTS, "--layout")
    impls = parse_list(args.impl, PEER_IMPLS, "--impl") if args.impl else list(PEER_IMPLS)
    plan = plan_rows(shapes, dtypes, layouts, impls)
    if args.dry_run:
        for i, d, lay, im in plan:
            s = shapes[i]
            print(f"{s['suite']}/{s['shape']} {im} {d} {lay}")
        print(f"{len(plan)} rows", file=sys.stderr)
        return 0

    torch = import_torch()
    if not torch.cuda.is_available():
        raise tr.UserError("no CUDA device visible to PyTorch")
    out_dir = os.path.dirname(os.path.abspath(args.csv))
    if not os.path.isdir(out_dir):
        raise tr.UserError(f"--csv {args.csv}: folder {out_dir} does not exist")

    order = {(i, d, lay, im): k for k, (i, d, lay, im) in enumerate(plan)}
    index = {(s["suite"], s["shape"]) + tuple(s[f] for f in tr.PROBLEM_FIELDS): i
             for i, s in enumerate(shapes)}

    def rank(r):  # the plan's order: shape, dtype, layout, implementation
        key = (r["suite"], r["shape"]) + tuple(int(r[f]) for f in tr.PROBLEM_FIELDS)
        return order.get((index.get(key, -1), r["dtype"], r["layout"], r["impl"]), -1)

    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="peer_pytorch.") as tmp:
        shapes_csv = os.path.join(tmp, "shapes.csv")
        write_shapes_csv(shapes, shapes_csv)
        for impl in impls:
            rows_out = os.path.join(tmp, f"{impl}.jsonl")
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl,
                   "--shapes", shapes_csv, "--rows-out", rows_out,
                   "--dtype", ",".join(dtypes), "--layout", ",".join(layouts),
                   "--reps", str(args.reps), "--warmup", str(args.warmup),
                   "--seed", str(args.seed)] + (["--hot"] if args.hot else [])
            rc = subprocess.call(cmd)
            got = read_worker_rows(rows_out)
            if rc != 0:
                failed.append(f"{impl} (exit {rc}, {len(got)} rows kept)")
            rows += got
            rows.sort(key=rank)
            write_csv(rows, args.csv)  # after each implementation: partial results survive
    print(f"peer_pytorch.py: {len(rows)} rows written to {args.csv}", file=sys.stderr)
    if failed:
        raise tr.UserError(f"worker(s) failed: {'; '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
