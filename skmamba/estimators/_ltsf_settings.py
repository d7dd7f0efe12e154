"""Settings for the ETTh long-term forecasting cells, chosen on the validation rows only.

``paper_params`` gives each model's published configuration. The entries here are what a
search by ``benchmarks/ltsf.py`` found better for one dataset and horizon, scored on the
validation rows of the ETTh protocol (rows 8640-11520) and never on the test rows;
``benchmarks/README.md`` ("Past the papers") records the search space, the budget and the
test scores of the chosen settings, and ``benchmarks/results/ltsf.md`` every setting run.
Each entry lists only what differs from the model's ``paper_params``, and ``BEST`` names the
model whose chosen settings had the lowest validation MSE in the cell.
"""

# The longer lookback the search chose where it chose one, always with a smaller step (at the
# papers' lr 1e-3 a lookback of 336 overfits after the first epoch).
_LONG = {"seq_len": 336, "lr": 1e-4}

#: (dataset, horizon) -> {model class name: overrides of its paper_params}; an empty entry
#: means the search kept the paper's setting. Models absent from a cell were not searched
#: there (their published budget did not fit the search's CPU time).
TUNED = {
    ("ETTh1", 96): {"SMambaForecaster": {}, "MATForecaster": _LONG,
                    "MixMambaForecaster": {"eval_routing": "sampled"}},
    ("ETTh1", 192): {"SMambaForecaster": {}, "MATForecaster": _LONG,
                     "MixMambaForecaster": {}},
    ("ETTh1", 336): {"SMambaForecaster": {}, "MATForecaster": _LONG,
                     "MixMambaForecaster": {}},
    ("ETTh1", 720): {"SMambaForecaster": {}, "MATForecaster": _LONG,
                     "MixMambaForecaster": {}},
    ("ETTh2", 96): {"SMambaForecaster": {}, "MATForecaster": _LONG,
                    "MixMambaForecaster": _LONG},
    ("ETTh2", 192): {"SMambaForecaster": {}, "MATForecaster": {}, "MixMambaForecaster": {}},
    ("ETTh2", 336): {"SMambaForecaster": {}, "MATForecaster": {}, "MixMambaForecaster": {}},
    ("ETTh2", 720): {"SMambaForecaster": {}, "MATForecaster": {}, "MixMambaForecaster": {}},
}

#: (dataset, horizon) -> the model class name with the lowest validation MSE.
BEST = {
    ("ETTh1", 96): "MATForecaster", ("ETTh1", 192): "MATForecaster",
    ("ETTh1", 336): "MATForecaster", ("ETTh1", 720): "MATForecaster",
    ("ETTh2", 96): "MixMambaForecaster", ("ETTh2", 192): "MixMambaForecaster",
    ("ETTh2", 336): "MATForecaster", ("ETTh2", 720): "MATForecaster",
}


def tuned_overrides(model, dataset, horizon):
    """The chosen overrides of ``model``'s paper settings for one cell (a copy)."""
    cell = TUNED.get((dataset, horizon))
    if cell is None:
        cells = ", ".join(f"({d!r}, {h})" for d, h in sorted(TUNED))
        raise ValueError(
            f"no tuned settings for dataset={dataset!r}, horizon={horizon!r}; the searched "
            f"cells are {cells}. Use paper_params(dataset) for the published setting."
        )
    if model not in cell:
        raise ValueError(
            f"{model} has no tuned settings for {dataset} at horizon {horizon} (the search "
            f"there covered {sorted(cell)}); use {model}.paper_params({dataset!r})."
        )
    return dict(cell[model])


def best_ltsf_forecaster(dataset, horizon, **params):
    """The forecaster that did best on the validation rows of one ETTh cell, unfitted.

    The model and its settings are the search's choice for the cell (see
    ``tuned_params``); ``pred_len`` is the horizon, and ``params`` override anything.

    Parameters
    ----------
    dataset : {"ETTh1", "ETTh2"}
        The benchmark data set.
    horizon : {96, 192, 336, 720}
        The forecast horizon.
    **params
        Constructor arguments that replace the chosen ones (e.g. ``random_state``).

    Returns
    -------
    BaseMambaForecaster
        An unfitted forecaster.

    Raises
    ------
    ValueError
        If the search did not cover the cell.

    Examples
    --------
    >>> from skmamba.estimators import best_ltsf_forecaster
    >>> f = best_ltsf_forecaster("ETTh1", 336, random_state=0)
    >>> type(f).__name__, f.seq_len, f.pred_len
    ('MATForecaster', 336, 336)
    """
    from . import MODELS  # the registry imports this module's users

    name = BEST.get((dataset, horizon))
    if name is None:
        cells = ", ".join(f"({d!r}, {h})" for d, h in sorted(BEST))
        raise ValueError(
            f"no searched cell dataset={dataset!r}, horizon={horizon!r}; choose one of {cells}"
        )
    cls = next(c for c in MODELS.values() if c.__name__ == name)
    return cls(**{**cls.tuned_params(dataset, horizon), "pred_len": horizon, **params})
