"""Sphinx configuration of the skmamba documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (or
``bash .ci/docs.sh``). The gallery scripts in ``examples/`` are executed during the build.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))  # gallery_hooks

import skmamba  # noqa: E402

# -- project ------------------------------------------------------------------------------
project = "skmamba"
author = "skmamba developers"
copyright = "skmamba developers"
release = skmamba.__version__
version = release

# -- extensions -----------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

# autodoc / autosummary: the API pages are generated from the docstrings on every build.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
autoclass_content = "class"

# numpydoc renders the parameter tables; the class template lists the methods itself.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- sphinx-gallery -------------------------------------------------------------------------


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib", "seaborn", "gallery_hooks.quiet_sktime"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "show_memory": False,
    # "Examples using X" lists on the API pages.
    "doc_module": ("skmamba",),
    "backreferences_dir": "generated/backreferences",
}

# -- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skmamba {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path = []
html_show_sourcelink = True
