"""Weights-only files: exact round trips, and refusal of anything that is not plain data."""

import io
import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.datasets import load_airline
from sktime.exceptions import NotFittedError
from sktime.forecasting.naive import NaiveForecaster

import skmamba
from skmamba import load_weights, save_weights
from skmamba.estimators import MODELS, MATForecaster, MixMambaForecaster

# Code that a malicious file would run when unpickled: it only records that it ran.
CALLS = []


def _record(what):
    CALLS.append(what)
    return what


class Payload:
    """Unpickling this object calls ``_record``: a stand-in for ``os.system``."""

    def __reduce__(self):
        return _record, ("code from the file ran",)


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(cls, which=0, **overrides):
    return cls(**{**cls.get_test_params()[which], **WINDOWS, **overrides})


def hourly(n_rows, columns=("a", "b"), seed=0):
    """A multivariate hourly frame (DatetimeIndex with freq "h")."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    index = pd.date_range("2024-01-01", periods=n_rows, freq="h", name="time")
    data = {c: np.sin(t / (3 + i)) + 0.1 * rng.standard_normal(n_rows)
            for i, c in enumerate(columns)}
    return pd.DataFrame(data, index=index)


def airline_case(cls, which=0):
    y = load_airline()  # PeriodIndex, monthly, a named Series
    return tiny(cls, which), y, None


def timestar_with_x():
    y = hourly(160, columns=("load",))
    X = hourly(160, columns=("temp", "price"), seed=1)
    return tiny(MODELS["TimeStarMamba"]), y, X


def datetime_case():
    return tiny(MODELS["SMamba"]), hourly(160), None


def tz_case():
    y = hourly(160).tz_localize("UTC").tz_convert("Europe/Berlin")  # local time, freq "h"
    return tiny(MODELS["MAT"]), y, None


def range_index_case():
    y = pd.DataFrame({"v": np.cos(np.arange(150) / 5.0), "w": np.arange(150) % 7.0})
    return tiny(MODELS["FMamba"]), y, None


CASES = {
    **{f"{name}-period": (lambda cls=cls: airline_case(cls)) for name, cls in MODELS.items()},
    "MixMamba-quantile": lambda: airline_case(MixMambaForecaster, 2),
    "MAT-studentt": lambda: airline_case(MATForecaster, 2),
    "TimeStarMamba-X-datetime": timestar_with_x,
    "SMamba-datetime": datetime_case,
    "MAT-datetime-tz": tz_case,
    "FMamba-range": range_index_case,
}


def roundtrip(forecaster, tmp_path):
    path = tmp_path / "model.zip"
    save_weights(forecaster, path)
    return load_weights(path)


def _rows(data, start, stop):
    return None if data is None else data.iloc[start:stop]


def assert_same(a, b):
    """Bit-for-bit equal values, and the same index, columns or name."""
    assert type(a) is type(b)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    pd.testing.assert_index_equal(a.index, b.index, exact=True)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_index_equal(a.columns, b.columns, exact=True)
    else:
        assert a.name == b.name


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_predicts_identically(case, tmp_path):
    forecaster, y, X = CASES[case]()
    n_fit = 120
    forecaster.fit(y.iloc[:n_fit], X=_rows(X, 0, n_fit), fh=[1, 2, 3])
    loaded = roundtrip(forecaster, tmp_path)

    assert type(loaded) is type(forecaster)
    assert loaded.get_params() == forecaster.get_params()  # tuples stay tuples
    assert type(loaded.quantile_levels) is tuple
    pd.testing.assert_index_equal(loaded.cutoff, forecaster.cutoff, exact=True)
    assert getattr(loaded.cutoff, "freq", None) == getattr(forecaster.cutoff, "freq", None)
    pd.testing.assert_index_equal(loaded.fh.to_pandas(), forecaster.fh.to_pandas(), exact=True)
    assert (loaded.fh.is_relative, loaded.fh.freq) == (forecaster.fh.is_relative,
                                                       forecaster.fh.freq)
    assert loaded.is_fitted and not loaded.network_.training
    for name in ("scale_mean_", "scale_std_", "calibration_residuals_", "exog_mean_"):
        if getattr(forecaster, name, None) is not None:
            np.testing.assert_array_equal(getattr(loaded, name), getattr(forecaster, name))
    pd.testing.assert_index_equal(loaded.columns_, forecaster.columns_, exact=True)
    assert loaded.history_ == forecaster.history_
    pd.testing.assert_frame_equal(loaded._y_context[0].frame(), forecaster._y_context[0].frame())

    def check(X_future):
        # the stored fh: that of fit, then (sktime) the last one given to predict
        assert_same(loaded.predict(X=X_future), forecaster.predict(X=X_future))
        long = range(1, 13)  # beyond pred_len_: rolled out
        assert_same(loaded.predict(fh=long, X=X_future), forecaster.predict(fh=long, X=X_future))
        assert_same(loaded.predict_interval(fh=long, X=X_future, coverage=[0.5, 0.9]),
                    forecaster.predict_interval(fh=long, X=X_future, coverage=[0.5, 0.9]))

    check(_rows(X, n_fit, n_fit + 12))
    for model in (forecaster, loaded):  # append rows, then fine-tune on new ones
        model.update(y.iloc[n_fit:n_fit + 6], X=_rows(X, n_fit, n_fit + 6),
                     update_params=False)
    check(_rows(X, n_fit + 6, n_fit + 18))
    for model in (forecaster, loaded):
        model.update(y.iloc[n_fit + 6:n_fit + 12], X=_rows(X, n_fit + 6, n_fit + 12),
                     update_params=True)
    check(_rows(X, n_fit + 12, n_fit + 24))


@pytest.fixture(scope="module")
def saved():
    """A small fitted forecaster and the bytes of its weights-only file."""
    forecaster = tiny(MODELS["SMamba"]).fit(load_airline().iloc[:100], fh=[1, 2, 3])
    buffer = io.BytesIO()
    save_weights(forecaster, buffer)
    return forecaster, buffer.getvalue()


def members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rebuild(data, **replace):
    """The file ``data`` with some members replaced (names with '/' given as '__')."""
    content = members(data)
    content.update({k.replace("__", "/"): v for k, v in replace.items()})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, value in content.items():
            archive.writestr(name, value)
    return out.getvalue()


def with_meta(data, change):
    meta = json.loads(members(data)["meta.json"])
    change(meta)
    return rebuild(data, **{"meta.json": json.dumps(meta).encode()})


def first_tensor_member(data):
    return json.loads(members(data)["meta.json"])["network"]["tensors"][0][1]["member"]


def test_loading_uses_no_unpickler(saved, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_weights must not unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    forecaster, data = saved
    np.testing.assert_array_equal(load_weights(io.BytesIO(data)).predict(),
                                  forecaster.predict())


def _object_array_npy():
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _torch_saved():
    buffer = io.BytesIO()
    torch.save({"weight": Payload()}, buffer)
    return buffer.getvalue()


PAYLOADS = {
    "pickle": (lambda: pickle.dumps(Payload()), "pickle"),
    "object-npy": (_object_array_npy, "not a plain numeric array"),
    "torch-save": (_torch_saved, "not a NumPy .npy array"),
}


@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("member", ["tensor", "context"])
def test_member_carrying_code_is_refused(saved, payload, member):
    _, data = saved
    make, message = PAYLOADS[payload]
    meta = json.loads(members(data)["meta.json"])
    if member == "tensor":
        name = first_tensor_member(data)
    else:
        name = meta["contexts"]["_y_context"][0]["data"][0]["member"]
    tampered = rebuild(data, **{name.replace("/", "__"): make()})
    CALLS.clear()
    with pytest.raises(ValueError, match=message) as info:
        load_weights(io.BytesIO(tampered))
    assert name in str(info.value)
    assert CALLS == [], "code from the file ran"
    # the payloads are real: unpickling them does run the code
    if payload == "pickle":
        pickle.loads(make())
        assert CALLS == ["code from the file ran"]


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.99])
def test_truncated_file_is_refused(saved, cut):
    _, data = saved
    with pytest.raises(ValueError, match="truncated or corrupt|corrupt"):
        load_weights(io.BytesIO(data[:int(len(data) * cut)]))


def test_corrupted_member_is_refused(saved):
    _, data = saved
    stored = members(data)[first_tensor_member(data)]
    out = bytearray(rebuild(data))  # uncompressed members: their bytes appear as they are
    position = bytes(out).find(stored) + len(stored) - 4
    out[position:position + 4] = bytes(b ^ 0xFF for b in out[position:position + 4])
    with pytest.raises(ValueError, match="corrupt"):  # the zip's CRC check
        load_weights(io.BytesIO(bytes(out)))


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Payload()))
    CALLS.clear()
    with pytest.raises(ValueError, match="not a weights-only skmamba file"):
        load_weights(path)
    assert CALLS == []


@pytest.mark.parametrize("name", ["Popen", "os.system", "NaiveForecaster",
                                  "BaseMambaForecaster", None])
def test_unknown_class_is_refused(saved, name):
    _, data = saved
    tampered = with_meta(data, lambda meta: meta.update({"class": name}))
    with pytest.raises(ValueError, match="unknown forecaster class"):
        load_weights(io.BytesIO(tampered))


@pytest.mark.parametrize("attribute", ["predict", "_tags", "__class__", "_network", "lr"])
def test_state_may_not_replace_class_attributes(saved, attribute):
    _, data = saved
    tampered = with_meta(data, lambda meta: meta["state"].update({attribute: 1}))
    with pytest.raises(ValueError, match="attribute"):
        load_weights(io.BytesIO(tampered))


def _tensor(values):
    return lambda data: rebuild(data, **{first_tensor_member(data).replace("/", "__"):
                                         _npy(values)})


def _y_index(node):
    return lambda data: with_meta(data, lambda m: m["contexts"]["_y_context"][0].update(
        {"index": {**node, "values": m["contexts"]["_y_context"][0]["index"]["ordinals"]}}))


TAMPERING = {
    "format": (lambda d: with_meta(d, lambda m: m.update({"format": "pickle"})),
               "does not name the format"),
    "version": (lambda d: with_meta(d, lambda m: m.update({"format_version": 99})),
                "version 99 is not supported"),
    "json": (lambda d: rebuild(d, **{"meta.json": b"{not json"}), "not valid JSON"),
    "no meta": (lambda d: rebuild(d, **{"meta.json": b""}), "not valid JSON"),
    "extra member": (lambda d: rebuild(d, **{"evil.py": b"import os"}),
                     "unexpected members"),
    "value type": (lambda d: with_meta(d, lambda m: m["state"].update(
        {"seq_len_": {"type": "import", "module": "os"}})), "unknown value type 'import'"),
    "parameter": (lambda d: with_meta(d, lambda m: m["params"].update({"no_such": 1})),
                  "no parameters"),
    "missing state": (lambda d: with_meta(d, lambda m: m["state"].pop("scale_std_")),
                      "lacks"),
    "shape": (_tensor(np.zeros((2, 3), dtype=np.float32)), "rebuilt network needs"),
    "dtype": (_tensor(np.zeros(1, dtype=np.float64)), "rebuilt network needs"),
    "tz path": (_y_index({"type": "index", "kind": "datetime", "name": None, "unit": "ns",
                          "tz": "dateutil//etc/passwd", "freq": None}),
                "not a tz database name"),
    "missing member": (lambda d: with_meta(d, lambda m: m["network"]["tensors"][0][1].update(
        {"member": "arrays/none.npy"})), "lacks"),
}


@pytest.mark.parametrize("problem", list(TAMPERING))
def test_other_tampering_is_refused(saved, problem):
    _, data = saved
    tamper, message = TAMPERING[problem]
    with pytest.raises(ValueError, match=message):
        load_weights(io.BytesIO(tamper(data)))


def _npy(values):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, values, allow_pickle=False)
    return buffer.getvalue()


def test_unfitted_forecaster_is_refused(tmp_path):
    with pytest.raises(NotFittedError, match="save_weights"):
        save_weights(tiny(MODELS["MAT"]), tmp_path / "model.zip")
    assert not (tmp_path / "model.zip").exists()


def test_only_skmamba_forecasters_are_saved(tmp_path):
    naive = NaiveForecaster().fit(load_airline(), fh=[1])
    with pytest.raises(TypeError, match="skmamba forecasters"):
        save_weights(naive, tmp_path / "model.zip")


def test_parameters_that_are_not_json_are_refused(tmp_path):
    f = tiny(MODELS["SMamba"], random_state=np.random.RandomState(0))
    f.fit(load_airline().iloc[:60], fh=[1, 2])
    with pytest.raises(ValueError, match="random_state=RandomState"):
        save_weights(f, tmp_path / "model.zip")
    assert not (tmp_path / "model.zip").exists()


def test_panel_fits_round_trip_without_pretrained_state(tmp_path):
    index = pd.MultiIndex.from_product([["a", "b"], pd.RangeIndex(40)], names=["id", "t"])
    y = pd.DataFrame({"y": np.sin(np.arange(80) / 3.0)}, index=index)
    f = tiny(MODELS["SMamba"], seq_len=8, pred_len=2, fine_tune_epochs=1)
    f.pretrain(y, fh=[1, 2]).fit(y, fh=[1, 2])
    save_weights(f, tmp_path / "panel.zip")
    loaded = load_weights(tmp_path / "panel.zip")
    pd.testing.assert_frame_equal(loaded.predict(), f.predict())
    assert loaded.series_keys_ == [("a",), ("b",)]
    assert not hasattr(loaded, "pretrained_network_")  # what predict needs, nothing more
    new = y.groupby(level=0).tail(1)
    new.index = pd.MultiIndex.from_product([["a", "b"], [40]], names=["id", "t"])
    loaded.update(new, update_params=False)
    assert loaded.predict().index.get_level_values("t").unique().tolist() == [41, 42]


def test_version_1_files_still_load(saved):
    forecaster, data = saved

    def as_version_1(meta):  # one context frame, no panel state, as version 1 wrote it
        meta["format_version"] = 1
        meta["contexts"]["_y_context"] = meta["contexts"]["_y_context"][0]
        for name in ("series_keys_", "_index_names"):
            meta["state"].pop(name)

    loaded = load_weights(io.BytesIO(with_meta(data, as_version_1)))
    pd.testing.assert_series_equal(loaded.predict(), forecaster.predict())


def test_loading_keeps_the_global_torch_generator(saved):
    _, data = saved
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_weights(io.BytesIO(data))
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


def test_exported_from_the_package():
    assert {"save_weights", "load_weights"} <= set(skmamba.__all__)
