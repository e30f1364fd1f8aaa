"""docs/adding-an-implementation.md against the code: the example it gives (one file, one registry
line, one CMake line) is added to a temporary build, the file compiled with the build's own flags,
the registry with the line added, linked as `tconv` is, and `tconv list` must show it with the
claims of its can_implement. And every registered implementation is one CMake line, as it says."""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import REPO, require_binary

DOC = os.path.join(REPO, "docs", "adding-an-implementation.md")


def doc_blocks():
    """The three example pieces, each the fenced block after its marker."""
    text = open(DOC, encoding="utf-8").read()

    def block(marker):
        m = re.search(re.escape(marker) + r"\s*\n```[a-z]*\n(.*?)```", text, re.S)
        assert m, f"{DOC} lacks the block after {marker}"
        return m.group(1)

    path = re.search(r"<!-- example-file: (\S+) -->", text)
    assert path, f"{DOC} lacks the example's file marker"
    marker = path.group(0)
    return path.group(1), block(marker), block("<!-- example-registry -->").strip(), \
        block("<!-- example-cmake -->").strip()


def kernels_sources():
    """The source paths CMakeLists.txt gives tconv_kernels (add_library and target_sources)."""
    text = open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8").read()
    return set(re.findall(r"^\s+(kernels/\S+\.(?:cu|cpp))\)?\s*$", text, re.M))


def test_the_docs_pieces_have_the_forms_the_code_uses():
    path, source, registry_line, cmake_line = doc_blocks()
    factory = re.fullmatch(r"TCONV_IMPL\((make_\w+)\)", registry_line)
    assert factory, registry_line
    assert f"std::unique_ptr<Implementation> {factory.group(1)}()" in source
    assert cmake_line == path and path.startswith("kernels/") and path.endswith(".cu")
    # Every line of the real registry has that form, and every factory's file is one line of
    # tconv_kernels' sources.
    sources = kernels_sources()
    for line in open(os.path.join(REPO, "kernels", "registry.def"), encoding="utf-8"):
        line = line.strip()
        if not line.startswith("TCONV_IMPL"):
            continue
        name = re.fullmatch(r"TCONV_IMPL\((make_\w+)\)", line).group(1)
        out = subprocess.run(["grep", "-rl", "--include=*.cu", "--include=*.cpp",
                              f"std::unique_ptr<Implementation> {name}()",
                              os.path.join(REPO, "kernels")], capture_output=True, text=True)
        files = [os.path.relpath(f, REPO) for f in out.stdout.split()]
        assert files, f"{name}: no file defines it"
        assert any(f in sources for f in files), f"{name}: {files} not in tconv_kernels' sources"


def flags_make(build, target):
    """The variables of a Makefile generator's flags.make for a target."""
    path = os.path.join(build, "CMakeFiles", f"{target}.dir", "flags.make")
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent (not a Makefile-generator build)")
    out = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"(\w+) = (.*)$", line.rstrip("\n"))
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_the_example_builds_into_tconv_and_is_listed(tmp_path):
    tconv = require_binary("tconv")
    build = os.path.dirname(tconv)
    link_txt = os.path.join(build, "CMakeFiles", "tconv.dir", "link.txt")
    if not os.path.exists(link_txt):
        pytest.skip(f"{link_txt} is absent (not a Makefile-generator build)")
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    if not os.path.exists(nvcc):
        pytest.skip("nvcc is not installed")
    path, source, registry_line, _ = doc_blocks()
    flags = flags_make(build, "tconv_kernels")

    # The temporary tree: the example's file, and the registry with its line added.
    tree = tmp_path / "tree"
    (tree / os.path.dirname(path)).mkdir(parents=True)
    (tree / path).write_text(source)
    registry = open(os.path.join(REPO, "kernels", "registry.def"), encoding="utf-8").read()
    (tree / "kernels" / "registry.def").write_text(registry + registry_line + "\n")
    (tree / "kernels" / "common").mkdir()
    shutil.copy(os.path.join(REPO, "kernels", "common", "registry.cpp"),
                tree / "kernels" / "common" / "registry.cpp")

    def run(cmd, cwd):
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"{' '.join(cmd)}\n{out.stdout}\n{out.stderr}"

    # The file with the kernels' CUDA flags, for one architecture only (it never runs here).
    cuda_flags = [f for f in shlex.split(flags["CUDA_FLAGS"]) if not f.startswith("--generate-code")]
    cuda_includes = shlex.split(flags["CUDA_INCLUDES"])
    example_o = str(tmp_path / "example.o")
    run([nvcc, *shlex.split(flags["CUDA_DEFINES"]), f"-I{tree}", *cuda_includes, *cuda_flags,
         "-arch=sm_80", "-c", str(tree / path), "-o", example_o], cwd=build)
    # The registry with the C++ flags, the temporary tree first on the include path.
    cxx = shlex.split(open(os.path.join(build, "CMakeFiles", "tconv.dir", "link.txt")).read())[0]
    registry_o = str(tmp_path / "registry.o")
    run([cxx, *shlex.split(flags["CXX_DEFINES"]), f"-I{tree}", *shlex.split(flags["CXX_INCLUDES"]),
         *shlex.split(flags["CXX_FLAGS"]), "-c", str(tree / "kernels" / "common" / "registry.cpp"),
         "-o", registry_o], cwd=build)
    # tconv's own link line, the two objects first, so that they take the place of the
    # library's registry.
    link = shlex.split(open(link_txt, encoding="utf-8").read())
    out_at = link.index("-o")
    toy = str(tmp_path / "tconv")
    link[out_at + 1] = toy
    link[out_at:out_at] = [example_o, registry_o]
    run(link, cwd=build)

    name = re.search(r'name\(\) const override \{ return "(\w+)"; \}', source).group(1)
    listed = subprocess.run([toy, "list", "--markdown"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    row = [line for line in listed.stdout.splitlines() if f"`{name}`" in line]
    assert len(row) == 1, listed.stdout
    cells = [c.strip() for c in row[0].strip("|").split("|")]
    assert cells[1:] == ["gpu", "the example: one thread per output element", "fp32", "nchw"], cells
    # Everything the real tconv lists is still there, in the same order, the example last.
    real = subprocess.run([tconv, "list", "--markdown"], capture_output=True, text=True, timeout=60)
    assert listed.stdout.splitlines()[:-1] == real.stdout.splitlines()
