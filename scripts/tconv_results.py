"""Shared loading code for the tconv-bench result scripts (plot.py, compare.py, peer_pytorch.py).

The results CSV contract lives in docs/results-csv.md; the scripts read it as the JSON that
`tconv_bench --print-contract` prints (contract() below): CONTRACT_COLUMNS is its list of contract
columns in order, ACCURACY its accuracy policy. Implementation and suite names are data: nothing here (or in the scripts) lists them, so a
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

# The contract columns, in order, and every other documented column: read from the contract that
# `tconv_bench --print-contract` prints (contract() below), never copied here. CONTRACT_COLUMNS,
# EXTRA_COLUMNS and ACCURACY are module attributes computed on first use (__getattr__ below).

# The fields that define a problem (PyTorch ConvTranspose2d), in contract order. Begin/end padding
# (core/problem.hpp) is held in the same fields: pad = begin, out_pad = begin - end; a problem dict
# whose "begin_end" is true was given that way and is validated by the begin/end rules.
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
    "count", "pad_begin_h", "pad_begin_w", "pad_end_h", "pad_end_w",
    "sm_clock_mean_mhz", "power_mean_w", "energy_per_call_j",
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


# ---- the contract (tconv_bench --print-contract) ---------------------------------------------

_SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
# The contract tconv_bench wrote into a bundle (scripts/bundle.sh) or into the repository
# (docs/results-contract.json, kept equal to the binary's output by a test).
_CONTRACT_FILES = [os.path.join(os.path.dirname(_SCRIPTS_DIR), "contract.json"),
                   os.path.join(os.path.dirname(_SCRIPTS_DIR), "docs", "results-contract.json")]
_contract_cache = {}


def _bench_candidates():
    """Where a tconv_bench may be: $TCONV_BENCH, a bundle's bin/, $TCONV_BUILD_DIR, build/."""
    root = os.path.dirname(_SCRIPTS_DIR)
    out = []
    if os.environ.get("TCONV_BENCH"):
        out.append(os.environ["TCONV_BENCH"])
    out.append(os.path.join(root, "bin", "tconv_bench"))
    if os.environ.get("TCONV_BUILD_DIR"):
        out.append(os.path.join(os.environ["TCONV_BUILD_DIR"], "tconv_bench"))
    out.append(os.path.join(root, "build", "tconv_bench"))
    return out


def _check_contract(data, source: str) -> dict:
    try:
        cols = data["columns"]
        names = [c["name"] for c in cols]
        acc = data["accuracy"]
        for d in acc["dtypes"].values():
            for key in ("base", "per_sqrt_k", "cap"):
                float(d[key])
        float(acc["pointwise_factor"])
        float(acc["reduced_precision_factor"])
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{source}: not a tconv-bench contract ({e!r})") from None
    if len(set(names)) != len(names) or not names:
        raise UserError(f"{source}: not a tconv-bench contract (empty or repeated columns)")
    return data


def contract() -> dict:
    """The results CSV's contract: {"columns": [{"name", "contract", "meaning"}...],
    "accuracy": {...}}, from $TCONV_CONTRACT (a JSON file), else from a tconv_bench
    (--print-contract), else from the file tconv_bench wrote into a bundle or the repository."""
    if "c" in _contract_cache:
        return _contract_cache["c"]
    import json
    import subprocess
    path = os.environ.get("TCONV_CONTRACT")
    data = source = None
    if path:
        source = path
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise UserError(f"TCONV_CONTRACT={path}: cannot read the contract: {e}") from None
    if data is None:
        for bench in _bench_candidates():
            if not (os.path.isfile(bench) and os.access(bench, os.X_OK)):
                continue
            try:
                out = subprocess.run([bench, "--print-contract"], capture_output=True, text=True,
                                     timeout=60, check=True).stdout
                data, source = json.loads(out), f"{bench} --print-contract"
                break
            except (OSError, subprocess.SubprocessError, ValueError):
                continue  # an older binary without --print-contract, or one that cannot start
    if data is None:
        for path in _CONTRACT_FILES:
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    data, source = json.load(f), path
                break
    if data is None:
        raise UserError("no results-CSV contract found: build tconv_bench, or set TCONV_BENCH or "
                        "TCONV_CONTRACT (docs/results-csv.md)")
    _contract_cache["c"] = _check_contract(data, source)
    return _contract_cache["c"]


def __getattr__(name):
    if name == "CONTRACT_COLUMNS":
        return [c["name"] for c in contract()["columns"] if c["contract"]]
    if name == "EXTRA_COLUMNS":
        return [c["name"] for c in contract()["columns"] if not c["contract"]]
    if name == "ACCURACY":
        return contract()["accuracy"]
    if name == "DEFAULT_CHOICE_IMPLS":  # older contracts lack it: no default-choice rows then
        return list(contract().get("default_choice_impls", []))
    raise AttributeError(f"module 'tconv_results' has no attribute '{name}'")


def max_taps_1d(k: int, stride: int, dil: int) -> int:
    """Most taps of a kernel dimension that reach one output (bench/tolerance.hpp)."""
    return max(sum(1 for t in range(k) if (t * dil) % stride == r) for r in range(stride))


def reduction_length(p) -> int:
    """K: products summed into one output at most (the contract's reduction_length)."""
    return (int(p["c_in"]) // int(p["groups"]) * max_taps_1d(int(p["k_h"]), int(p["stride_h"]),
                                                             int(p["dil_h"]))
            * max_taps_1d(int(p["k_w"]), int(p["stride_w"]), int(p["dil_w"])))


def rel_l2_bound(dtype: str, p) -> float:
    """The contract's rel_l2 bound for dtype on problem p."""
    dt = contract()["accuracy"]["dtypes"]
    if dtype not in dt:
        raise ValueError(f"no tolerance for dtype '{dtype}'")
    b = dt[dtype]
    k = max(reduction_length(p), 1)
    return min(float(b["cap"]), float(b["base"]) + float(b["per_sqrt_k"]) * math.sqrt(k))


def judge_accuracy(dtype: str, p, rel_l2: float, max_abs_err: float, max_abs_ref: float,
                   all_finite: bool):
    """(status, accuracy, reason) by the contract's policy, as bench/tolerance.hpp's
    judge_accuracy: passed/full within the bounds, passed/reduced within reduced_precision_factor
    times them, else incorrect; NaN or Inf never passes."""
    acc = contract()["accuracy"]
    if not all_finite:
        return "incorrect", "", "NaN or Inf in the output"
    rel_bound = rel_l2_bound(dtype, p)
    point = float(acc["pointwise_factor"])

    def why(scale):
        rb = rel_bound * scale
        if not rel_l2 <= rb:
            return f"rel_l2_err {rel_l2:.3g} > tolerance {rb:.3g}"
        ab = point * rb * max_abs_ref
        if not max_abs_err <= ab:
            return (f"max_abs_err {max_abs_err:.3g} > tolerance {ab:.3g} ({point * rb:.3g} * "
                    f"max|ref| {max_abs_ref:.3g})")
        return ""

    strict = why(1.0)
    if not strict:
        return "passed", "full", ""
    factor = float(acc["reduced_precision_factor"])
    loose = why(factor)
    if loose:
        return "incorrect", "", loose
    return "passed", "reduced", (f"reduced accuracy: {strict} (within the reduced-precision "
                                 f"bound, {factor:g}x)")


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


def host_memory_available() -> int:
    """Bytes this process may still allocate, as core/memory.cpp counts them: MemAvailable of
    /proc/meminfo and what the cgroup's memory.max leaves, capped by TCONV_HOST_MEMORY_BYTES when
    that is set. A very large number where neither can be read."""
    avail = 1 << 62
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            mx = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            cur = int(f.read().strip())
        if mx.isdigit():
            avail = min(avail, max(0, int(mx) - cur))
    except (OSError, ValueError):
        pass
    cap = os.environ.get("TCONV_HOST_MEMORY_BYTES", "")
    if cap:
        if not cap.isdigit() or int(cap) == 0:
            raise UserError(f"TCONV_HOST_MEMORY_BYTES='{cap}': expected a positive integer")
        avail = min(avail, int(cap))
    return avail


def format_bytes(n: float) -> str:
    """"12.3 GiB", as the bench writes sizes."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n:.0f} B"


def require_host_memory(nbytes: float, what: str) -> None:
    """UserError('<what> needs N of host memory, M is available') when nbytes will not fit: checked
    before a reader sizes anything from its input."""
    avail = host_memory_available()
    if nbytes > avail:
        raise UserError(f"{what} needs {format_bytes(nbytes)} of host memory, "
                        f"{format_bytes(avail)} is available")


def check_input_file(path: str, what: str, factor: float = 1.0) -> int:
    """A file the user names must exist, be a regular file (not a FIFO or a device, which could be
    read without end) and fit in memory `factor` times over. Returns its size."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, not a {what}")
    if not os.path.isfile(path):
        raise UserError(f"{path}: {what} is not a regular file")
    size = os.path.getsize(path)
    require_host_memory(size * factor, f"{path}: {what}")
    return size


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


def pad_end(p, axis: str) -> int:
    """End padding of axis "h" or "w" (begin is pad_<axis>)."""
    return p[f"pad_{axis}"] - p[f"out_pad_{axis}"]


def pytorch_pads(p) -> bool:
    """Whether PyTorch's (padding, output_padding) describes the problem (Problem::pytorch_pads)."""
    return all(0 <= p[f"out_pad_{a}"] < max(p[f"stride_{a}"], p[f"dil_{a}"]) for a in ("h", "w"))


def set_pads(p, axis: str, begin: int, end: int) -> None:
    """Begin/end padding of one axis (Problem::set_pads_h/w)."""
    p[f"pad_{axis}"], p[f"out_pad_{axis}"] = begin, begin - end
    p["begin_end"] = True


def validate_problem(p) -> str:
    """Empty when valid, else one sentence (the essential rules of Problem::validate())."""
    begin_end = bool(p.get("begin_end"))
    mins = {f: 1 for f in PROBLEM_FIELDS}
    for f in ("pad_h", "pad_w", "out_pad_h", "out_pad_w"):
        mins[f] = 0
    for f in PROBLEM_FIELDS:
        if begin_end and f in ("out_pad_h", "out_pad_w"):
            continue  # begin - end, any sign
        if p[f] < mins[f]:
            return f"{f} = {p[f]} must be >= {mins[f]}"
    if p["c_in"] % p["groups"] or p["c_out"] % p["groups"]:
        return (f"c_in = {p['c_in']} and c_out = {p['c_out']} must be divisible by "
                f"groups = {p['groups']}")
    if begin_end:
        if h_out(p) < 1 or w_out(p) < 1:
            return (f"output size {h_out(p)}x{w_out(p)} must be at least 1x1 (begin + end "
                    f"padding too large)")
        return ""
    if p["out_pad_h"] >= max(p["stride_h"], p["dil_h"]):
        return "out_pad_h must be smaller than max(stride_h, dil_h)"
    if p["out_pad_w"] >= max(p["stride_w"], p["dil_w"]):
        return "out_pad_w must be smaller than max(stride_w, dil_w)"
    if h_out(p) < 1 or w_out(p) < 1:
        return f"output size {h_out(p)}x{w_out(p)} must be at least 1x1 (padding too large)"
    return ""


# ---- shapes files (the format of tconv_bench --shape / --shapes-file, bench/shapes.hpp) -----------

# The keys, in the order the writers below put them. k, stride, pad, out_pad and dil are "N" (both
# dimensions) or "H:W"; bias is 0/1; count (>= 1) is how many layers of a model share the shape.
SHAPE_FILE_KEYS = ["name", "n", "c_in", "h_in", "w_in", "c_out", "k", "stride", "pad", "out_pad",
                   "dil", "groups", "bias", "count"]
# pad_end (begin/end padding: pad is then the begin, pad_end the end; not with out_pad) is written,
# as a last column, only by a file with a shape outside PyTorch's form, so other files keep their
# header. `l` (a 1-D shape: H = 1, W = l, the pairs W-only; bench/shapes.hpp) is read, never
# written: the writers give h_in = 1 and the H:W pairs instead, which the bench reads as the same
# problem.
SHAPE_FILE_READ_KEYS = SHAPE_FILE_KEYS + ["pad_end", "l"]
SHAPE_FILE_REQUIRED = ["c_in", "h_in", "w_in", "c_out", "k"]  # h_in and w_in, or l instead
_SHAPE_PAIRS = {"k": ("k_h", "k_w"), "stride": ("stride_h", "stride_w"),
                "pad": ("pad_h", "pad_w"), "out_pad": ("out_pad_h", "out_pad_w"),
                "dil": ("dil_h", "dil_w")}
_SHAPE_DEFAULTS = {"n": 1, "stride": 1, "pad": 0, "out_pad": 0, "dil": 1, "groups": 1}
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def valid_shape_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))


def shape_name_from(text: str, fallback: str) -> str:
    """A name the bench accepts (letters, digits, '_', '-', '.') made from any text."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_")
    return s or fallback


def _pair_text(h: int, w: int) -> str:
    return str(h) if h == w else f"{h}:{w}"


def shape_file_row(shape) -> dict:
    """A shape (dict: name, the PROBLEM_FIELDS, bias, count) as the shapes-file cells."""
    row = {"name": shape["name"], "n": str(shape["n"]), "c_in": str(shape["c_in"]),
           "h_in": str(shape["h_in"]), "w_in": str(shape["w_in"]), "c_out": str(shape["c_out"]),
           "groups": str(shape["groups"]), "bias": "1" if shape["bias"] else "0",
           "count": str(shape.get("count", 1))}
    for key, (fh, fw) in _SHAPE_PAIRS.items():
        row[key] = _pair_text(shape[fh], shape[fw])
    row["pad_end"] = ""
    if not pytorch_pads(shape):
        row["out_pad"] = ""
        row["pad_end"] = _pair_text(pad_end(shape, "h"), pad_end(shape, "w"))
    return row


def shapes_file_text(shapes) -> str:
    """The text of a shapes file (header line, one line per shape)."""
    keys = SHAPE_FILE_KEYS + (["pad_end"] if not all(pytorch_pads(s) for s in shapes) else [])
    lines = [",".join(keys)]
    for s in shapes:
        r = shape_file_row(s)
        lines.append(",".join(r[k] for k in keys))
    return "\n".join(lines) + "\n"


def write_text_atomic(path: str, text: str, mode: str = "w") -> None:
    """Writes a whole file through a temporary file in the same folder and a rename: readers see
    the old file or the new one, never half of one."""
    import tempfile

    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8",
                                                             "newline": ""})) as f:
            f.write(text)
        mask = os.umask(0)  # mkstemp makes the file 0600: give it the usual permissions
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _shape_int(key, text, where):
    t = str(text).strip()
    if not re.fullmatch(r"[+-]?[0-9]+", t):
        raise UserError(f"{where}: '{key}={text}': expected an integer")
    return int(t)


def parse_shapes_file_text(text: str, source: str):
    """The shapes of a shapes file (the rules of bench/shapes.cpp: header of known keys, empty cell
    = default, '#' lines and blank lines skipped; a 1-D row gives l = L instead of h_in and w_in,
    which means H = 1, W = L, with k, stride, pad, out_pad and dil one value each acting on W).
    Returns dicts: name, the PROBLEM_FIELDS, bias (bool), count (int)."""
    import csv as _csv

    known = SHAPE_FILE_READ_KEYS
    header, shapes, names = None, [], set()
    for line_no, line in enumerate(text.splitlines(), start=1):
        t = line.strip()
        if not t or t.startswith("#"):
            continue
        fields = [f.strip() for f in next(_csv.reader([t]))]
        where = f"{source}:{line_no}"
        if header is None:
            for h in fields:
                if h not in known:
                    raise UserError(f"{where}: unknown column '{h}' in the header (known: "
                                    f"{', '.join(known)})")
            if len(set(fields)) != len(fields):
                raise UserError(f"{where}: a column is named twice in the header")
            missing = [k for k in ("c_in", "c_out", "k") if k not in fields]
            if "l" not in fields:
                missing += [k for k in ("h_in", "w_in") if k not in fields]
            if missing:
                raise UserError(f"{where}: missing required column(s): {', '.join(missing)}")
            header = fields
            continue
        if len(fields) != len(header):
            raise UserError(f"{where}: {len(fields)} fields, the header has {len(header)}")
        kv = {k: v for k, v in zip(header, fields) if v != ""}
        one_d = "l" in kv
        if one_d and ("h_in" in kv or "w_in" in kv):
            raise UserError(f"{where}: 'l' (a 1-D shape) cannot be given with 'h_in' or 'w_in'")
        required = ["c_in", "c_out", "k"] + ([] if one_d else ["h_in", "w_in"])
        for k in required:
            if k not in kv:
                raise UserError(f"{where}: missing required value '{k}'"
                                + (" (or 'l' for a 1-D shape)" if k in ("h_in", "w_in") else ""))
        s = {"name": str(len(shapes) + 1), "bias": False, "count": 1}
        for key in ("n", "c_in", "c_out", "groups"):
            s[key] = _shape_int(key, kv[key], where) if key in kv else _SHAPE_DEFAULTS[key]
        if one_d:
            s["h_in"], s["w_in"] = 1, _shape_int("l", kv["l"], where)
        else:
            s["h_in"], s["w_in"] = _shape_int("h_in", kv["h_in"], where), \
                _shape_int("w_in", kv["w_in"], where)
        for key, (fh, fw) in _SHAPE_PAIRS.items():
            v = kv.get(key)
            if v is None:
                s[fh] = s[fw] = _SHAPE_DEFAULTS[key]
            else:
                parts = v.split(":")
                if len(parts) == 1:
                    s[fh] = s[fw] = _shape_int(key, v, where)
                elif len(parts) == 2 and not one_d:
                    s[fh], s[fw] = _shape_int(key, parts[0], where), \
                        _shape_int(key, parts[1], where)
                elif one_d:
                    raise UserError(f"{where}: '{key}={v}': a 1-D shape (l=) takes one value")
                else:
                    raise UserError(f"{where}: '{key}={v}': expected N or H:W")
            if one_d:  # ConvTranspose1d = ConvTranspose2d with H = 1 and a 1-tall kernel
                s[fh] = {"k": 1, "stride": 1, "pad": 0, "out_pad": 0, "dil": 1}[key]
        if "pad_end" in kv:
            if "out_pad" in kv:
                raise UserError(f"{where}: 'out_pad' cannot be given with 'pad_end' (the end "
                                f"padding already says where the output ends: use pad_end - "
                                f"out_pad)")
            v = kv["pad_end"]
            parts = v.split(":")
            if one_d and len(parts) != 1:
                raise UserError(f"{where}: 'pad_end={v}': a 1-D shape (l=) takes one value")
            if len(parts) > 2:
                raise UserError(f"{where}: 'pad_end={v}': expected N or H:W")
            ends = [_shape_int("pad_end", e, where) for e in parts]
            end_h, end_w = (0, ends[0]) if one_d else (ends[0], ends[-1])
            set_pads(s, "h", s["pad_h"], end_h)
            set_pads(s, "w", s["pad_w"], end_w)
        if "bias" in kv:
            b = _shape_int("bias", kv["bias"], where)
            if b not in (0, 1):
                raise UserError(f"{where}: 'bias={kv['bias']}': expected 0 or 1")
            s["bias"] = b == 1
        if "count" in kv:
            c = _shape_int("count", kv["count"], where)
            if c < 1:
                raise UserError(f"{where}: 'count={kv['count']}': expected an integer >= 1")
            s["count"] = c
        if "name" in kv:
            if not valid_shape_name(kv["name"]):
                raise UserError(f"{where}: name '{kv['name']}': use letters, digits, '_', '-' "
                                f"and '.' only")
            s["name"] = kv["name"]
        why = validate_problem(s)
        if why:
            raise UserError(f"{where}: invalid problem: {why}")
        if s["name"] in names:
            raise UserError(f"{where}: shape name '{s['name']}' given twice")
        names.add(s["name"])
        shapes.append(s)
    if header is None:
        raise UserError(f"{source}: no header line")
    if not shapes:
        raise UserError(f"{source}: no shapes (header only)")
    return shapes


def read_shapes_file(path: str):
    check_input_file(path, "shapes file", 4)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    return parse_shapes_file_text(text, path)


def problem_key(p, bias) -> tuple:
    """What identifies a problem across files: the PROBLEM_FIELDS as ints, then bias."""
    return tuple(int(p[f]) for f in PROBLEM_FIELDS) + (bool(bias),)


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

def expand_csv_paths(paths):
    """The paths as given, each folder replaced by the .csv files directly in it (sorted by name),
    so that a sharded run's folder of shard CSVs reads as one set of rows. UserError for a folder
    without one."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            files = sorted(os.path.join(p, f) for f in os.listdir(p)
                           if f.endswith(".csv") and not f.startswith(".")
                           and os.path.isfile(os.path.join(p, f)))
            if not files:
                raise UserError(f"{p}: a folder with no .csv file in it")
            out += files
        else:
            out.append(p)
    return out


def read_csv_checked(path: str, required):
    """One results CSV as a pandas DataFrame: text columns as str ('' when empty), numeric columns
    as float (NaN when empty or unparsable); a folder reads as all its CSVs (load_results). UserError
    on a missing file, missing columns or no rows."""
    import pandas as pd

    if os.path.isdir(path):
        return load_results([path], required)
    # pandas holds a text frame of several times the file's bytes.
    check_input_file(path, "results CSV", 8)
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
    # The problem's fields are integers wherever given: a row with "inf" or "2.5" there describes
    # no problem, and every formula downstream would take it (int(inf) raises, int(2.5) lies).
    for c in PROBLEM_FIELDS:
        if c not in df.columns:
            continue
        col = df[c]
        bad = col.notna() & ~(col.abs() < 2**53) | (col.notna() & (col != col.round()))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise UserError(f"{path}: row {i + 2}: {c} = '{col.iloc[i]}' is not an integer")
    return df


def load_results(paths, required):
    """All result CSVs concatenated, with a 'source' column naming the file of each row. A folder
    stands for the CSVs in it (expand_csv_paths): the shards of a sharded run."""
    import pandas as pd

    if not paths:
        raise UserError("no results CSV given")
    frames = []
    for p in expand_csv_paths(paths):
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


# ---- fixtures -----------------------------------------------------------------------------------

# A row whose gpu column contains the word "fixture" (tests/fixtures: "FIXTURE (not a
# measurement)") was made by hand or by a test: its times are not measurements.
FIXTURE_GPU = re.compile(r"\bfixture\b", re.IGNORECASE)


def fixture_banner(df) -> str:
    """The warning every report and plot carries when any row is a fixture, else ''."""
    if df is None or "gpu" not in df.columns:
        return ""
    marked = df["gpu"].map(lambda g: bool(FIXTURE_GPU.search(str(g))))
    if not marked.any():
        return ""
    names = ", ".join(f"'{g}'" for g in sorted(set(df.loc[marked, "gpu"])))
    return (f"FIXTURE, NOT A MEASUREMENT: {int(marked.sum())} of {len(df)} rows come from a "
            f"fixture (gpu {names}); their times are invented, not measured on a GPU.")


def stamp_fixture_banner(fig, banner: str) -> None:
    """The fixture banner across the top of a matplotlib figure, white on red, above everything
    else (savefig with bbox_inches="tight" keeps it)."""
    if not banner:
        return
    import textwrap

    # Above the highest thing already drawn (a two-line title reaches past the figure's top), so
    # that the banner never covers the plot's own title: the box's padding (0.6 x 9 pt) plus 2 pt
    # of air below the text's baseline.
    fig.canvas.draw()
    top_in = fig.get_tightbbox(fig.canvas.get_renderer()).y1
    y = max(1.0, top_in / fig.get_figheight()) + (0.6 * 9 + 2) / 72 / fig.get_figheight()
    fig.text(0.5, y, textwrap.fill(banner, 80), ha="center", va="bottom", fontsize=9,
             color="white", fontweight="bold", transform=fig.transFigure,
             bbox=dict(facecolor="#cc0000", edgecolor="#cc0000", boxstyle="square,pad=0.6"))


# ---- merging shards -----------------------------------------------------------------------------

ROW_KEY = ["suite", "shape", "dtype", "layout", "impl"]


def merge_results(paths, out_path) -> int:
    """Writes the rows of the given results CSVs (folders: their CSVs) into out_path, atomically:
    the shards of one sharded run become the run's CSV. Standard library only (runs on a GPU node
    without pandas). Every input must have the same header (one bench version) and a row key
    (suite, shape, dtype, layout, impl) may appear once in all of them: shards are disjoint, so a
    repeated key means two different runs were mixed. Returns the number of rows written."""
    import csv
    import io

    out_abs = os.path.abspath(out_path)
    files = [p for p in expand_csv_paths(paths) if os.path.abspath(p) != out_abs]
    if not files:
        raise UserError("no results CSV to merge")
    header, header_src, rows, seen = None, None, [], {}
    for p in files:
        if not os.path.isfile(p):
            raise UserError(f"{p}: no such file")
        with open(p, newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            h = next(r, None)
            if h is None:
                raise UserError(f"{p}: empty file (no header)")
            if header is None:
                header, header_src = h, p
                missing = [c for c in ROW_KEY if c not in header]
                if missing:
                    raise UserError(f"{p}: missing column(s): {', '.join(missing)}")
                idx = [header.index(c) for c in ROW_KEY]
            elif h != header:
                raise UserError(f"{p}: its header differs from {header_src}'s (results of "
                                f"another version cannot be merged)")
            for n, row in enumerate(r, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise UserError(f"{p}:{n}: {len(row)} fields, the header has {len(header)}")
                key = tuple(row[i] for i in idx)
                if key in seen:
                    raise UserError(f"{p}:{n}: row {'/'.join(key)} is also in {seen[key]} "
                                    f"(shards of one run never share a row)")
                seen[key] = p
                rows.append(row)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write_text_atomic(out_path, buf.getvalue())
    return len(rows)
