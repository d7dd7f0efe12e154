"""Data-parallel training (gloo, 2 processes on the CPU) follows one process.

The scenarios run on real process groups: one spawn runs every loss-curve scenario on both
ranks (each scenario trains through ``train_network`` with the rank's context, the code path
of every DDP fit), and the checkpoint test goes through :func:`skmamba._nn.distributed.train`,
which spawns its own processes.
"""

import functools
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from skmamba._nn import distributed
from skmamba._nn.distributed import DistributedContext, free_port
from skmamba._nn.heads import PointOutput
from skmamba._nn.networks import SMambaNet
from skmamba._nn.options import TrainingOptions
from skmamba._nn.training import SeriesWindows, TrainingDivergedError, seeded, train_network

pytestmark = pytest.mark.xdist_group("ddp")

SEQ, PRED = 16, 4


def options(**overrides):
    base = dict(max_epochs=3, batch_size=16, lr=2e-3, lr_decay=0.8, loss="mse",
                optimizer="adam", optimizer_kwargs=None, patience=None, verbose=0)
    return TrainingOptions(**{**base, **overrides})


def network(dropout=0.0):
    return SMambaNet(seq_len=SEQ, pred_len=PRED, n_channels=2, n_mark=0, n_exog=0,
                     output=PointOutput(), d_model=16, d_state=4, d_ff=16, e_layers=1,
                     dropout=dropout)


def series(n_rows, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    return (np.stack([np.sin(t / 5.0), np.cos(t / 7.0)], 1)
            + 0.2 * rng.standard_normal((n_rows, 2))).astype(np.float32)


def single():
    """One series: 300 training windows (not a multiple of the batch), 60 validation."""
    w = SeriesWindows(series(400, 0), SEQ, PRED)
    return w, np.arange(300), np.arange(320, 380)


def segments():
    """Two series end to end; no window crosses the boundary at row 250."""
    values = np.concatenate([series(250, 1), 3.0 + series(200, 2)])
    w = SeriesWindows(values, SEQ, PRED)
    width = SEQ + PRED
    first, second = np.arange(0, 250 - width + 1), np.arange(250, 450 - width + 1)
    return w, np.concatenate([first[:-30], second[:-30]]), np.concatenate(
        [first[-20:], second[-20:]])


#: name -> (data, network kwargs, option overrides)
SCENARIOS = {
    "single": (single, {}, {}),
    # Dropout alone moves the curves: one process with another dropout stream differs from
    # this one by up to ~0.6% here (batches of 32 and a low lr keep that floor under 1%).
    "dropout": (single, {"dropout": 0.05}, {"lr": 1e-3, "batch_size": 32}),
    "segments": (segments, {}, {}),
    # 40 steps of 22-batch epochs: the second epoch stops after 18 batches.
    "segments_max_steps": (segments, {}, {"max_epochs": None, "max_steps": 40}),
}


def fit(name, ctx=None):
    """Train scenario ``name``; returns the history and the flat final weights."""
    data, net_kwargs, overrides = SCENARIOS[name]
    windows, train_starts, val_starts = data()
    with seeded(0) as generator:
        net = network(**net_kwargs)
        if ctx is not None:
            ctx.broadcast_module(net)
        result = train_network(net, windows, train_starts, val_starts,
                               options=options(**overrides), generator=generator,
                               distributed=ctx)
    weights = torch.cat([p.detach().flatten() for p in net.parameters()])
    return result.history, weights


def _rank_main(rank, world_size, port, folder):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)
    try:
        ctx = DistributedContext(rank, world_size, seed=0, device=torch.device("cpu"))
        out = {name: fit(name, ctx) for name in SCENARIOS}
        out["checkpoint"] = interrupt_and_resume(ctx, folder)
        torch.save(out, os.path.join(folder, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def interrupt_and_resume(ctx, folder):
    """A fit that diverges in epoch 2, resumed from rank 0's checkpoint, and a plain fit,
    each as :func:`skmamba._nn.distributed.train` runs it on a rank."""
    windows, train_starts, val_starts = single()
    stop = os.path.join(folder, "stop")
    build = functools.partial(StopAfterFirstEpoch, stop)
    opts = options(checkpoint_path=os.path.join(folder, "run.pt"))

    def run(o):
        net, result = distributed._train_on_rank(build, windows, train_starts, val_starts,
                                                 o, ctx)
        return ([h["train_loss"] for h in result.history], [h["val_loss"] for h in
                result.history], [t for t in net.state_dict().values()])

    if ctx.rank == 0:
        open(stop, "w").close()
    dist.barrier()
    try:
        run(opts)
        error = ""
    except TrainingDivergedError as err:
        error = str(err)
    dist.barrier()
    files = sorted(os.listdir(folder))
    dist.barrier()
    if ctx.rank == 0:
        os.remove(stop)
    dist.barrier()
    resumed = run(opts)
    left = sorted(os.listdir(folder))
    plain = run(options())
    return {"error": error, "files": files, "left": left, "resumed": resumed,
            "plain": plain}


# Session scope: under xdist a worker may run other modules' tests between this module's,
# which would tear a module fixture down and spawn the group again.
@pytest.fixture(scope="session")
def two_ranks(tmp_path_factory):
    """Every scenario trained by a group of 2 processes: {rank: {name: (history, weights)}}."""
    folder = tmp_path_factory.mktemp("ddp")
    mp.spawn(_rank_main, args=(2, free_port(), str(folder)), nprocs=2, join=True)
    return {r: torch.load(folder / f"rank{r}.pt", weights_only=True) for r in range(2)}


def curve(history, key):
    return np.array([h[key] for h in history], dtype=np.float64)


@pytest.mark.parametrize("name", ["single", "segments"])
def test_two_processes_follow_one_process_without_dropout(two_ranks, name):
    history, weights = fit(name)
    for rank in range(2):
        ddp_history, ddp_weights = two_ranks[rank][name]
        for key in ("train_loss", "val_loss"):
            np.testing.assert_allclose(curve(ddp_history, key), curve(history, key),
                                       rtol=1e-5)
        torch.testing.assert_close(ddp_weights, weights, rtol=1e-4, atol=1e-5)
        assert [h["epoch"] for h in ddp_history] == [1, 2, 3]
    # The final weights are the same bits on every rank.
    assert torch.equal(two_ranks[0][name][1], two_ranks[1][name][1])


def test_two_processes_follow_one_process_with_dropout_within_one_percent(two_ranks):
    history, _ = fit("dropout")
    ddp_history, _ = two_ranks[0]["dropout"]
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(curve(ddp_history, key), curve(history, key), rtol=0.01)
    # Ranks draw their own masks, so the curves are close, not equal.
    assert curve(ddp_history, "train_loss")[0] != curve(history, "train_loss")[0]
    assert torch.equal(two_ranks[0]["dropout"][1], two_ranks[1]["dropout"][1])


def test_step_budget_under_ddp_matches_one_process(two_ranks):
    history, weights = fit("segments_max_steps")
    ddp_history, ddp_weights = two_ranks[1]["segments_max_steps"]
    assert [h["batches"] for h in ddp_history] == [h["batches"] for h in history]
    assert [h["batches"] for h in history] == [22, 18]  # 352 windows: 22 batches of 16
    np.testing.assert_allclose(curve(ddp_history, "val_loss"), curve(history, "val_loss"),
                               rtol=1e-5)
    torch.testing.assert_close(ddp_weights, weights, rtol=1e-4, atol=1e-5)


def test_shards_cover_each_batch_once_and_split_evenly():
    starts = torch.arange(7)
    shards = [DistributedContext(r, 3, 0, torch.device("cpu")).shard(starts)
              for r in range(3)]
    assert torch.equal(torch.cat(shards), starts)
    assert [len(s) for s in shards] == [3, 2, 2]
    # A batch smaller than the group leaves a rank nothing (its gradient counts as zero).
    assert len(DistributedContext(2, 3, 0, torch.device("cpu")).shard(torch.arange(2))) == 0


def test_epoch_seeds_differ_by_rank_and_epoch():
    def draw(rank, epoch):
        DistributedContext(rank, 2, 5, torch.device("cpu")).seed_epoch(epoch)
        return torch.rand(3)

    with torch.random.fork_rng():
        assert torch.equal(draw(0, 1), draw(0, 1))
        assert not torch.equal(draw(0, 1), draw(1, 1))
        assert not torch.equal(draw(0, 1), draw(0, 2))


def test_plain_process_has_no_group():
    assert distributed.launcher_context(0, torch.device("cpu")) is None


# ------------------------------------------------------------------ checkpoints
class StopAfterFirstEpoch(torch.nn.Module):
    """A linear forecaster with dropout whose training diverges in epoch 2 while
    ``stop_file`` exists: a real interruption after the first checkpoint, on every rank."""

    def __init__(self, stop_file):
        super().__init__()
        self.stop_file = stop_file
        self.lin = torch.nn.Linear(SEQ, PRED)
        self.drop = torch.nn.Dropout(0.1)
        self.calls = 0

    def forward(self, x, x_mark=None, exog=None):
        self.calls += self.training
        y = self.lin(self.drop(x.transpose(1, 2))).transpose(1, 2)
        if self.training and self.calls > 19 and os.path.exists(self.stop_file):
            y = y * float("nan")  # 19 batches per epoch: the first batch of epoch 2
        return y, None


def test_ddp_fit_resumes_from_rank_zeros_checkpoint_bit_for_bit(two_ranks):
    for rank in range(2):
        run = two_ranks[rank]["checkpoint"]
        assert "epoch 2, batch 1" in run["error"]  # every rank stopped at the same step
        # Rank 0 wrote the epoch-1 checkpoint, named for a group of 2; it is removed once
        # the resumed fit completes.
        assert "run-ranks2.pt" in run["files"]
        assert not any(name.startswith("run") for name in run["left"])
        resumed, plain = run["resumed"], run["plain"]
        assert resumed[0] == plain[0] and resumed[1] == plain[1]
        assert all(torch.equal(a, b) for a, b in zip(resumed[2], plain[2]))


def test_spawned_ranks_errors_reach_the_caller(tmp_path):
    windows, train_starts, val_starts = single()
    stop = tmp_path / "stop"
    stop.touch()
    opts = options(n_processes=2, checkpoint_path=str(tmp_path / "run.pt"))
    with pytest.raises(TrainingDivergedError, match="epoch 2, batch 1"):
        distributed.train(functools.partial(StopAfterFirstEpoch, str(stop)), windows,
                          train_starts, val_starts, options=opts, seed=3,
                          device=torch.device("cpu"))
    assert sorted(os.listdir(tmp_path)) == ["run-ranks2.pt", "stop"]
