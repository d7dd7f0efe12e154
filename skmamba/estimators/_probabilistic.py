"""Probabilistic forecasts through sktime's API: quantiles, intervals, variance, distributions.

Where the numbers come from depends on the training ``loss``:

- ``"normal"`` / ``"studentt"``: the network's distribution output, mapped to the units of
  ``y`` (location through the scaler, scale stretched by its standard deviation);
- ``"quantile"``: the network's quantiles at ``quantile_levels``, linearly interpolated for
  other levels; levels outside the trained range are refused;
- point losses: split-conformal intervals. After training, the absolute errors of the
  validation windows (``validation_size > 0``), or else of the training windows, are kept
  per horizon step and column, in standardised units (``calibration_residuals_``, sorted
  over the windows; a panel pools the windows of all its series); the interval of coverage
  ``c`` is the point forecast plus or minus their ``ceil((n + 1) c) / n`` empirical
  quantile, times the series' standard deviation. These
  are marginal intervals (valid on average over forecast origins, not conditionally), and
  with training windows, which the network has fitted, they are too narrow.

Steps beyond ``pred_len_`` come from roll-out: the spread of block ``b`` (0-based) is
widened by ``sqrt(b + 1)``, a heuristic for the compounding of errors, not a calibrated one.
"""

import numpy as np
import pandas as pd
from scipy import stats

from .._nn import training
from .._nn.heads import DISTRIBUTION_LOSSES

__all__ = ["ProbabilisticMixin"]

# Calibration keeps at most this many windows (evenly spaced), so fitted models stay small.
_MAX_CALIBRATION_WINDOWS = 1000


class ProbabilisticMixin:
    """sktime's probabilistic methods for :class:`~skmamba.estimators.BaseMambaForecaster`.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from skmamba.estimators import MixMambaForecaster
    >>> f = MixMambaForecaster(d_model=8, max_epochs=2, random_state=0)
    >>> f = f.fit(load_airline(), fh=range(1, 13))
    >>> intervals = f.predict_interval(coverage=[0.8, 0.95])
    >>> intervals.shape
    (12, 4)
    >>> bool((intervals.iloc[:, 2] <= intervals.iloc[:, 0]).all())  # 95% contains 80%
    True
    """

    # ------------------------------------------------------------------ shared pieces
    def _point(self, raw):
        """The point forecast (the median for distributions and quantiles), scaled units."""
        if self.loss not in DISTRIBUTION_LOSSES:
            return raw
        if self.loss == "quantile":
            return self._interpolate(raw, 0.5)
        return raw[..., 0]

    def _interpolate(self, q, level):
        """Quantile ``level`` from quantiles ``q`` (..., n_levels) at ``quantile_levels``."""
        levels = np.asarray(self.quantile_levels, dtype=np.float64)
        if len(levels) == 1:
            return q[..., 0]
        j = min(max(int(np.searchsorted(levels, level)), 1), len(levels) - 1)
        lo, hi = levels[j - 1], levels[j]
        w = float(np.clip((level - lo) / (hi - lo), 0.0, 1.0))
        return (1 - w) * q[..., j - 1] + w * q[..., j]

    def _calibrate(self, windows, starts, device):
        """Keep the absolute errors of calibration windows (point losses only)."""
        if self.loss in DISTRIBUTION_LOSSES:
            self.calibration_residuals_ = None
            return
        starts = np.asarray(starts)
        if len(starts) > _MAX_CALIBRATION_WINDOWS:
            pick = np.linspace(0, len(starts) - 1, _MAX_CALIBRATION_WINDOWS).round()
            starts = starts[pick.astype(np.int64)]
        x, x_mark, exog, y = windows.batch(starts)
        with training.seeded(self.seed_, device):
            forecast = training.predict_batches(
                self.network_.to(device), x, x_mark, exog,
                batch_size=self._predict_batch_size,
            )
        self.network_.cpu()
        # Standardised units, so the windows of a panel's series can be pooled.
        errors = np.abs(forecast - y.cpu().numpy())
        # Sorted over the windows once, so every interval reads its quantile directly.
        self.calibration_residuals_ = np.sort(errors.astype(np.float32), axis=0)

    def _spread_factor(self, horizon):
        """sqrt(block + 1) per step: roll-out blocks widen (see the module docstring)."""
        return np.sqrt(np.arange(horizon) // self.pred_len_ + 1.0)[:, None]

    def _unit_stats(self):
        """Per-series mean and std shaped (n_series, 1, C), to broadcast over steps."""
        return self._stats("scale_mean_")[:, None], self._stats("scale_std_")[:, None]

    def _quantiles_at(self, raw, levels):
        """(n_series, horizon, C, len(levels)) quantiles in the units of y, from ``raw``."""
        mean, std = self._unit_stats()
        horizon = raw.shape[1]
        widen = self._spread_factor(horizon)
        point = self._point(raw) * std + mean
        out = np.empty(point.shape + (len(levels),))
        for i, level in enumerate(levels):
            if self.loss == "quantile":
                trained = self.quantile_levels
                if not trained[0] <= level <= trained[-1]:
                    raise ValueError(
                        f"{type(self).__name__}: quantile level {level} lies outside the "
                        f"trained quantile_levels [{trained[0]}, {trained[-1]}]; refit with "
                        f"quantile_levels spanning it."
                    )
                offset = (self._interpolate(raw, level) - self._point(raw)) * std
            elif self.loss == "normal":
                offset = stats.norm.ppf(level) * raw[..., 1] * std
            elif self.loss == "studentt":
                offset = stats.t.ppf(level, raw[..., 2]) * raw[..., 1] * std
            else:
                offset = np.sign(level - 0.5) * self._conformal(abs(2 * level - 1), horizon) * std
            out[..., i] = point + widen * offset
        return out

    def _conformal(self, coverage, horizon):
        """Half-width (horizon, C) of the split-conformal interval, standardised units."""
        res = self.calibration_residuals_  # sorted over the windows at calibration
        n = res.shape[0]
        level = min(1.0, np.ceil((n + 1) * coverage) / n)
        # The "higher" empirical quantile, read from the sorted errors (as np.quantile's
        # method="higher" picks it) instead of partitioning them on every call.
        width = res[min(n - 1, int(np.ceil(level * (n - 1))))].astype(np.float64)
        return width[np.arange(horizon) % self.pred_len_]

    def _variance_at(self, raw):
        """(n_series, horizon, C) variance in the units of y, from a roll-out ``raw``."""
        std = self._unit_stats()[1]
        horizon = raw.shape[1]
        widen2 = self._spread_factor(horizon) ** 2
        if self.loss == "normal":
            return widen2 * (raw[..., 1] * std) ** 2
        if self.loss == "studentt":
            df = raw[..., 2]
            return widen2 * (raw[..., 1] * std) ** 2 * df / (df - 2)
        if self.loss == "quantile":
            # The normal distribution with the same outer quantiles.
            lo, hi = self.quantile_levels[0], self.quantile_levels[-1]
            q = self._quantiles_at(raw, [lo, hi])
            z = stats.norm.ppf(hi) - stats.norm.ppf(lo)
            return ((q[..., 1] - q[..., 0]) / z) ** 2 if z > 0 else np.zeros(q.shape[:3])
        res = self.calibration_residuals_.astype(np.float64)
        return widen2 * np.mean(res**2, axis=0)[np.arange(horizon) % self.pred_len_] * std**2

    # ------------------------------------------------------------------ sktime methods
    # Each method rolls the network out once and derives everything from that output.
    def _predict_quantiles(self, fh, X, alpha):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        levels = [float(a) for a in alpha]
        raw = self._roll_out(int(steps.max()), X)
        q = self._quantiles_at(raw, levels)[:, steps - 1]
        columns = pd.MultiIndex.from_product([list(self.columns_), levels])
        # (steps, C, levels) -> columns ordered variable-major, as sktime expects.
        return self._as_output(q.reshape(q.shape[0], len(steps), -1), steps, fh, columns)

    def _predict_var(self, fh, X=None, cov=False):
        if cov:
            raise NotImplementedError(
                f"{type(self).__name__}: predict_var(cov=True) is not available; the "
                "forecasts are marginal per step."
            )
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        var = self._variance_at(self._roll_out(int(steps.max()), X))[:, steps - 1]
        return self._as_output(var, steps, fh, self.columns_)

    def _predict_proba(self, fh, X, marginal=True):
        from skpro.distributions import Normal, TDistribution

        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        columns = self.columns_
        index = self._output_index(steps, fh)  # a panel's: every series' steps
        horizon = int(steps.max())
        raw = self._roll_out(horizon, X)
        mean, std = self._unit_stats()

        def rows(a):  # (n_series, n_steps, C) -> (n_series * n_steps, C)
            return a.reshape(-1, a.shape[-1])

        if self.loss == "studentt":
            widen = self._spread_factor(horizon)[steps - 1]
            params = raw[:, steps - 1]
            mu = params[..., 0] * std + mean
            sigma = widen * params[..., 1] * std
            return TDistribution(mu=rows(mu), sigma=rows(sigma), df=rows(params[..., 2]),
                                 index=index, columns=columns)
        # Normal: exact for loss="normal"; for quantile and point losses the normal with
        # the forecast's median and variance (documented as an approximation).
        mu = self._point(raw[:, steps - 1]) * std + mean
        sigma = np.sqrt(self._variance_at(raw)[:, steps - 1])
        return Normal(mu=rows(mu), sigma=rows(sigma), index=index, columns=columns)
