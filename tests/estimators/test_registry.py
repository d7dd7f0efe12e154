"""The model registry, and each architecture parameter written once (estimator <-> network)."""

import inspect

import pytest

import skmamba
from skmamba.estimators import MODELS, BaseMambaForecaster
from skmamba.estimators._common_params import COMMON_PARAMETERS

# What the base passes to every network besides the architecture.
NETWORK_DATA_ARGS = {"seq_len", "pred_len", "n_channels", "n_mark", "n_exog", "output"}


def test_registry_lists_every_public_forecaster():
    public = {name for name in dir(skmamba) if name.endswith("Forecaster")}
    assert public == {cls.__name__ for cls in MODELS.values()}
    assert skmamba.estimators.__all__ == [cls.__name__ for cls in MODELS.values()] + [
        "best_ltsf_forecaster"]
    for cls in MODELS.values():
        assert issubclass(cls, BaseMambaForecaster) and cls._network is not None


@pytest.mark.parametrize("cls", list(MODELS.values()), ids=list(MODELS))
def test_network_arguments_are_the_estimator_architecture_parameters(cls):
    est = inspect.signature(cls.__init__).parameters
    net = inspect.signature(cls._network.__init__).parameters
    arch = set(est) - {"self"} - set(COMMON_PARAMETERS) - set(cls._loss_parameters)
    net_args = set(net) - {"self"}
    assert net_args == arch | NETWORK_DATA_ARGS, (
        f"{cls._network.__name__} takes {sorted(net_args - NETWORK_DATA_ARGS)}, "
        f"{cls.__name__} has architecture parameters {sorted(arch)}"
    )
    for name in net_args:
        p = net[name]
        # Keyword-only and without a default: the estimator's signature holds the default.
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert p.default is inspect.Parameter.empty, name


@pytest.mark.parametrize("cls", list(MODELS.values()), ids=list(MODELS))
def test_every_common_parameter_is_in_the_signature_and_documented(cls):
    params = inspect.signature(cls.__init__).parameters
    assert set(COMMON_PARAMETERS) <= set(params)
    assert all(p.default is not inspect.Parameter.empty for p in list(params.values())[1:])
    for name, p in params.items():
        if name == "self":
            continue
        assert f"    {name} : " in cls.__doc__, f"{cls.__name__} does not document {name}"
        shown = f'"{p.default}"' if isinstance(p.default, str) else str(p.default)
        entries = [line for line in cls.__doc__.splitlines()
                   if line.startswith(f"    {name} : ")]
        assert len(entries) == 1, f"{cls.__name__} documents {name} {len(entries)} times"
        assert entries[0].endswith(f"default={shown}"), (
            f"{cls.__name__}: {entries[0].strip()!r} but the signature says {shown}"
        )
    for marker in ("{window_parameters}", "{training_parameters}", "{common_attributes}"):
        assert marker not in cls.__doc__


@pytest.mark.parametrize("cls", list(MODELS.values()), ids=list(MODELS))
def test_network_is_built_from_the_constructor_parameters(cls):
    f = cls(**cls.get_test_params()[0])
    f.seq_len_, f.pred_len_ = 8, 3
    net = f._build_network(n_channels=2, n_mark=0, n_exog=0)
    assert isinstance(net, cls._network)
