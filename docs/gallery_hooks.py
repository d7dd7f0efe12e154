"""Sphinx-Gallery hooks, referenced by name from ``conf.py`` (so the config pickles)."""

import warnings


def quiet_sktime(gallery_conf, fname, when=None):
    """Before each example: hide sktime 1.2's note about a future ``remember_data`` default.

    sktime prints it on every forecaster construction (clones inside searches included),
    which would bury the examples' output. sktime's own warning-suppression context
    (``_SuppressWarningPattern``) re-enables all FutureWarnings when it exits instead of
    restoring the caller's filters; it is made to restore them here, so the filter holds.
    """
    from sktime.utils import warnings as sktime_warnings

    pattern = sktime_warnings._SuppressWarningPattern
    if not getattr(pattern, "_skmamba_docs_restores", False):

        def __enter__(self):
            self._saved_filters = list(warnings.filters)
            warnings.filterwarnings(
                "ignore", category=self.warning_type, message=self.message_pattern
            )

        def __exit__(self, exc_type, exc_val, exc_tb):
            warnings.filters[:] = self._saved_filters
            mutated = getattr(warnings, "_filters_mutated", None)
            if mutated is not None:  # clears the "already shown" registries
                mutated()

        pattern.__enter__, pattern.__exit__ = __enter__, __exit__
        pattern._skmamba_docs_restores = True
    warnings.filterwarnings(
        "ignore", message="The default of config ``remember_data``", category=FutureWarning
    )
