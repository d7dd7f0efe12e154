"""sktime's distributed backends with skmamba: ``evaluate``, ``ForecastingGridSearchCV``,
``ForecastingRandomizedSearchCV`` and backtests of a global panel model on a real dask
``LocalCluster`` (two
worker processes) and on a local ray instance give the serial numbers, the workers run one
torch thread each, and forecasters fitted on a worker pickle and predict identically.

Nothing is mocked. The dask tests need the ``dask`` extra (``dask[distributed]``,
``pyarrow``), the ray tests the ``ray`` extra; each group is skipped without its extra.
Each cluster lives for its test class only, so at most one runs at a time.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import (
    ForecastingGridSearchCV,
    ForecastingRandomizedSearchCV,
)
from sktime.performance_metrics.forecasting import MeanAbsoluteError
from sktime.split import ExpandingWindowSplitter, SlidingWindowSplitter

from skmamba import SMambaForecaster

pytestmark = [
    # sktime's own search objects announce a future default of theirs.
    pytest.mark.filterwarnings("ignore:.*remember_data:FutureWarning"),
    # one pytest-xdist worker for the whole file under --dist loadgroup (.ci/test.sh): the
    # clusters start one after the other instead of side by side on a two-core machine.
    pytest.mark.xdist_group("backends"),
]

FH = list(range(1, 6))  # the test parameters train a 5-step horizon
GRID = {"lr": [1e-3, 1e-2], "d_model": [8, 16]}


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(**overrides):
    return SMambaForecaster(**{**SMambaForecaster.get_test_params()[0], **WINDOWS, **overrides})


@pytest.fixture(scope="module")
def airline():
    return load_airline()


@pytest.fixture(scope="module")
def panel(airline):
    """Two monthly series as an sktime panel: one global network learns from both."""
    return pd.concat({"a": airline.to_frame(), "b": 1.5 * airline.to_frame() - 40.0},
                     names=["series", "month"])


def expanding_cv():
    return ExpandingWindowSplitter(fh=FH, initial_window=126, step_length=6)  # 3 folds


def sliding_cv():
    return SlidingWindowSplitter(fh=FH, window_length=96, step_length=12,
                                 start_with_window=True)  # 3 folds on the first 132 months


def run_evaluate(y, backend=None, backend_params=None):
    return evaluate(tiny(), expanding_cv(), y, scoring=MeanAbsoluteError(),
                    return_data=True, return_model=True, backend=backend,
                    backend_params=backend_params)


def grid_search(backend=None, backend_params=None):
    return ForecastingGridSearchCV(tiny(), sliding_cv(), GRID, scoring=MeanAbsoluteError(),
                                   backend=backend, backend_params=backend_params)


def randomized_search(backend=None, backend_params=None):
    return ForecastingRandomizedSearchCV(tiny(), sliding_cv(), GRID, n_iter=3,
                                         scoring=MeanAbsoluteError(), random_state=0,
                                         backend=backend, backend_params=backend_params)


# Serial references, computed once in this process (one torch thread: tests/conftest.py).
@pytest.fixture(scope="module")
def serial_evaluate(airline):
    return run_evaluate(airline)


@pytest.fixture(scope="module")
def serial_grid(airline):
    return grid_search().fit(airline.iloc[:132], fh=FH)


@pytest.fixture(scope="module")
def serial_randomized(airline):
    return randomized_search().fit(airline.iloc[:132], fh=FH)


@pytest.fixture(scope="module")
def serial_panel_evaluate(panel):
    return run_evaluate(panel)


def assert_search_equal(search, reference):
    name = "mean_test_MeanAbsoluteError"
    scores = reference.cv_results_.sort_values("params", key=lambda p: p.map(str))
    other = search.cv_results_.sort_values("params", key=lambda p: p.map(str))
    assert list(other["params"]) == list(scores["params"])
    assert scores[name].nunique() == len(scores)  # the candidates really differ
    np.testing.assert_allclose(other[name], scores[name], rtol=1e-12, atol=0)
    assert search.best_params_ == reference.best_params_
    pd.testing.assert_series_equal(search.predict(), reference.predict(), rtol=1e-12, atol=0)


# One cluster per test class (torn down when the class is done): at most one runs at a time.
@pytest.fixture(scope="class")
def client():
    pytest.importorskip("pyarrow")  # dask.dataframe (evaluate's results) needs it
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None, host="127.0.0.1")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="class")
def ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")  # loopback only
    yield ray
    ray.shutdown()


class _BackendChecks:
    """The checks every backend passes; a subclass provides ``backend`` and ``params``."""

    backend = None

    def test_workers_run_one_torch_thread(self, worker_threads):
        # torch reads OMP_NUM_THREADS when imported; the numba scan splits its batch over
        # torch.get_num_threads() threads, so this one number bounds both.
        assert worker_threads == [1, 1]

    def test_evaluate_matches_serial(self, airline, params, serial_evaluate):
        result = run_evaluate(airline, self.backend, params)
        assert len(result) == len(serial_evaluate) == 3
        np.testing.assert_allclose(result["test_MeanAbsoluteError"],
                                   serial_evaluate["test_MeanAbsoluteError"],
                                   rtol=1e-12, atol=0)
        for ours, theirs in zip(result["y_pred"], serial_evaluate["y_pred"]):
            pd.testing.assert_series_equal(ours, theirs, rtol=1e-12, atol=0)

    def test_forecaster_fitted_on_worker_pickles_and_predicts_identically(
            self, airline, params, serial_evaluate):
        result = run_evaluate(airline, self.backend, params)
        for remote, local in zip(result["fitted_forecaster"],
                                 serial_evaluate["fitted_forecaster"]):
            assert isinstance(remote, SMambaForecaster) and remote.is_fitted
            restored = pickle.loads(pickle.dumps(remote))
            # fh is passed every time: predict(fh=...) replaces a forecaster's stored fh,
            # and the serial models are shared with the other backend's tests.
            for fh in (FH, list(range(1, 13))):  # 12 steps: beyond the trained 5, rolled out
                pred = remote.predict(fh=fh)
                pd.testing.assert_series_equal(restored.predict(fh=fh), pred,
                                               check_exact=True)
                pd.testing.assert_series_equal(pred, local.predict(fh=fh), rtol=1e-12, atol=0)

    def test_grid_search_matches_serial(self, airline, params, serial_grid):
        search = grid_search(self.backend, params).fit(airline.iloc[:132], fh=FH)
        assert len(search.cv_results_) == 4
        assert_search_equal(search, serial_grid)

    def test_randomized_search_matches_serial(self, airline, params, serial_randomized):
        search = randomized_search(self.backend, params).fit(airline.iloc[:132], fh=FH)
        assert len(search.cv_results_) == 3
        assert_search_equal(search, serial_randomized)

    def test_panel_backtest_matches_serial_and_pickles(self, panel, params,
                                                       serial_panel_evaluate):
        # Each fold fits one global network on both series, on a worker.
        result = run_evaluate(panel, self.backend, params)
        assert len(result) == len(serial_panel_evaluate) == 3
        for ours, theirs in zip(result["y_pred"], serial_panel_evaluate["y_pred"]):
            pd.testing.assert_frame_equal(ours, theirs, rtol=1e-12, atol=0)
        fitted = result["fitted_forecaster"].iloc[-1]
        assert fitted.series_keys_ == [("a",), ("b",)]
        restored = pickle.loads(pickle.dumps(fitted))
        pd.testing.assert_frame_equal(restored.predict(), fitted.predict(), check_exact=True)


class TestDask(_BackendChecks):
    """A ``distributed.LocalCluster`` of two single-threaded worker processes."""

    backend = "dask"

    @pytest.fixture
    def params(self, client):
        import dask

        # dask.compute uses the active client. The setting keeps evaluate's object columns
        # (y_pred, fitted_forecaster) objects: dask.dataframe would turn them into strings.
        with dask.config.set({"dataframe.convert-string": False}):
            yield {}

    @pytest.fixture
    def worker_threads(self, client):
        def threads():
            import torch

            return torch.get_num_threads()

        return sorted(client.run(threads).values())


class TestRay(_BackendChecks):
    """A local ray instance with two CPUs, started once and kept across sktime's calls."""

    backend = "ray"

    @pytest.fixture
    def params(self, ray):
        return {"shutdown_ray": False}  # sktime would shut our instance down after each call

    @pytest.fixture
    def worker_threads(self, ray):
        @ray.remote
        def threads(_):
            import torch

            return torch.get_num_threads()

        return sorted(ray.get([threads.remote(i) for i in range(2)]))
