"""The Python code blocks of the documentation pages run as written.

Each page's ``.. code-block:: python`` blocks are executed in order, in one namespace (a
page's later blocks continue its earlier ones), in a temporary working directory. The pages
keep their examples small enough for this: short series and small or default models.
"""

import re
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Pages whose code is run, with the marks of their test.
PAGES = {
    "index.rst": (),
    "user_guide/saving.rst": (),
    "user_guide/horizons.rst": (),
    "user_guide/panels.rst": (),
    "user_guide/reproducibility.rst": (),
    "user_guide/exogenous.rst": (),
    "user_guide/probabilistic.rst": (),
    "user_guide/tuning.rst": (pytest.mark.slow,),  # two grid searches, ~30 fits
}
#: Pages with Python blocks that are not run here, and why.
NOT_RUN = {
    "user_guide/gpu.rst": "needs a CUDA device; the kernels' own tests cover the calls",
    "user_guide/scaling.rst": "starts dask and ray clusters; tests/test_backends.py covers it",
}

_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block:: python[ \t]*$")


def python_blocks(text):
    """The source of every ``.. code-block:: python`` in an rst text, dedented, in order."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match:
            continue
        outer = len(match["indent"])
        body = []
        j = i + 1
        # directive options (":caption: ..."), then the indented body, blank lines included
        while j < len(lines) and re.match(r"^\s+:\w[\w-]*:", lines[j]):
            j += 1
        while j < len(lines):
            current = lines[j]
            if current.strip() and len(current) - len(current.lstrip()) <= outer:
                break
            body.append(current)
            j += 1
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return blocks


def markdown_python_blocks(text):
    """The source of every fenced ```` ```python ```` block of a Markdown text, in order."""
    return [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```$", text, re.M | re.S)]


def test_python_blocks_parser():
    text = (".. code-block:: python\n\n   a = 1\n\n   if a:\n       b = 2\n\nText.\n\n"
            "* item\n\n  .. code-block:: python\n     :caption: c\n\n     c = 3\n")
    assert python_blocks(text) == ["a = 1\n\nif a:\n    b = 2\n", "c = 3\n"]


def test_every_page_with_python_code_is_covered():
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.rst")
             if "_build" not in p.parts and python_blocks(p.read_text())}
    pages -= {p for p in pages if p.startswith(("auto_examples/", "generated/", "_generated/"))}
    assert pages <= set(PAGES) | set(NOT_RUN), sorted(pages - set(PAGES) - set(NOT_RUN))


@pytest.mark.parametrize(
    "page", [pytest.param(page, marks=marks, id=page) for page, marks in PAGES.items()])
def test_page_code_runs(page, tmp_path, monkeypatch):
    import torch

    blocks = python_blocks((DOCS / page).read_text())
    assert blocks, f"{page} has no Python code block"
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace = {"__name__": f"docs_snippet_{page}"}
    try:
        with warnings.catch_warnings():
            # sktime's own estimators (the grid searches) announce a future default
            warnings.filterwarnings("ignore", message=".*remember_data", category=FutureWarning)
            for number, block in enumerate(blocks, 1):
                code = compile(block, f"{page} (block {number})", "exec")
                exec(code, namespace)  # noqa: S102 - the documentation's own code
    finally:
        torch.set_num_threads(threads)


def test_readme_usage_runs(tmp_path, monkeypatch):
    blocks = markdown_python_blocks((ROOT / "README.md").read_text())
    assert blocks, "README.md has no Python code block"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_snippet"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"README.md (block {number})", "exec"), namespace)  # noqa: S102
