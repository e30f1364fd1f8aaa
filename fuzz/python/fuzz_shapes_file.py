"""atheris target: the scripts' shapes-file reader (tconv_results.read_shapes_file, the rules of
bench/shapes.cpp), and the shapes-file text it writes back, which must read as the same shapes.
Contract: a malformed file ends in tconv_results.UserError; anything else escaping is a finding.
scripts/fuzz.sh runs it."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

(tr,) = common.import_scripts("tconv_results")

PATH = os.path.join(tempfile.mkdtemp(prefix="tconv_fuzz_shapes_"), "shapes.csv")


def TestOneInput(data: bytes) -> None:
    with open(PATH, "wb") as f:
        f.write(data)
    try:
        shapes = tr.read_shapes_file(PATH)
    except tr.UserError:
        return
    back = tr.parse_shapes_file_text(tr.shapes_file_text(shapes), "written")
    keys = [(s["name"], tr.problem_key(s, s["bias"]), s["count"]) for s in shapes]
    if keys != [(s["name"], tr.problem_key(s, s["bias"]), s["count"]) for s in back]:
        raise AssertionError("shapes_file_text does not read back as the same shapes")

if __name__ == "__main__":
    common.main(TestOneInput)
