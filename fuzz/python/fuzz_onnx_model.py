"""atheris target: shapes_from_onnx.py's reading of an ONNX model from bytes (parse_model,
extract and, for every node whose weight and bias are constants, the tensors --dump-tensors
writes). Contract: bad input ends in tconv_results.UserError (one line for the user) or in a
node skipped with its reason; anything else escaping is a finding. scripts/fuzz.sh runs it."""

import os
import sys
import tempfile

try:
    import atheris
except ImportError:  # the regression tests (tests/scripts) run TestOneInput without it
    atheris = None

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))

if atheris is not None:
    with atheris.instrument_imports(include=["tconv_results", "shapes_from_onnx"]):
        import shapes_from_onnx as sfo
        import tconv_results as tr
else:
    import shapes_from_onnx as sfo
    import tconv_results as tr

# External data is looked up in an empty folder: a fuzzed location must find nothing.
BASE_DIR = tempfile.mkdtemp(prefix="tconv_fuzz_onnx_")


def TestOneInput(data: bytes) -> None:
    try:
        model = sfo.parse_model(data, "fuzz.onnx")
        nodes, _ = sfo.extract(model, base_dir=BASE_DIR)
        for name, p, w_get, b_get in nodes:
            why = tr.validate_problem(p)
            if why:
                raise AssertionError(f"node {name}: extract returned an invalid problem: {why}")
            sfo.run_options(p)
            if w_get is not None:
                w_get()
            if b_get is not None:
                b_get()
    except tr.UserError:
        pass


def main() -> None:
    if atheris is None:
        sys.exit("atheris is not installed (python3 -m pip install atheris)")
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
