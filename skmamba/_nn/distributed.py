"""Data-parallel training with ``torch.distributed``: one network, its batches split over ranks.

Knows torch only. :func:`train` is the entry point of every fit: it trains in the calling
process, or on the process group that ``torchrun`` set up, or spawns ``n_processes`` local
processes. In a group, every rank draws the same seeded order of windows, takes its share of
each global batch (so the effective batch is ``batch_size`` for any number of ranks), and the
gradients are summed with weights that make them the gradient of the global batch's mean
loss; losses and validation losses are summed over the ranks too, so every rank takes the
same optimiser steps and stops at the same epoch, and the final weights are broadcast from
rank 0. A group of one process is not a group: the single-process code runs, bit for bit.
"""

import contextlib
import dataclasses
import os
import pickle
import socket
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from . import training
from .windows import SeriesWindows

__all__ = ["DistributedContext", "launcher_context", "train"]


@dataclasses.dataclass(frozen=True)
class DistributedContext:
    """One rank's view of a data-parallel group, as :func:`~skmamba._nn.training.train_network`
    uses it.

    Parameters
    ----------
    rank, world_size : int
        This process's rank and the number of processes in the group.
    seed : int
        The fit's seed; with the epoch and the rank it seeds each rank's dropout stream.
    device : torch.device
        Where this rank trains (the collectives run on tensors there).
    group : torch.distributed.ProcessGroup, optional
        The group to use; None is the default group.

    Examples
    --------
    Sharding needs no group; the first ranks take one window more when a batch does not
    split evenly:

    >>> import torch
    >>> from skmamba._nn.distributed import DistributedContext
    >>> batch = torch.arange(5)
    >>> [DistributedContext(r, 2, seed=0, device=torch.device("cpu")).shard(batch).tolist()
    ...  for r in range(2)]
    [[0, 1, 2], [3, 4]]
    """

    rank: int
    world_size: int
    seed: int
    device: torch.device
    group: object = None

    def shard(self, starts):
        """This rank's contiguous share of a batch of window starts (possibly empty)."""
        return torch.tensor_split(starts, self.world_size)[self.rank]

    def seed_epoch(self, epoch):
        """Seed this rank's global torch RNG (dropout, random routing) for ``epoch``.

        Ranks draw different masks for their different windows; the stream depends only on
        the seed, the epoch and the rank, so a resumed fit draws what it would have drawn.
        """
        mixed = ((int(self.seed) * 1_000_003 + int(epoch)) * 1_000_033 + self.rank) % 2**63
        torch.manual_seed(mixed)

    def all_reduce_gradients(self, params, finite=True):
        """Sum every parameter's gradient over the ranks, in one collective.

        A parameter no rank computed a gradient for keeps ``grad=None``, as in one process
        (the optimiser then skips it). Returns False when any rank reported a non-finite
        loss through ``finite``.
        """
        pieces, flags = [], []
        for p in params:
            pieces.append(p.grad.reshape(-1).float() if p.grad is not None
                          else torch.zeros(p.numel(), device=p.device))
            flags.append(p.grad is not None)
        flags.append(not finite)
        buffer = torch.cat(pieces + [torch.tensor(flags, dtype=torch.float32,
                                                  device=self.device)])
        dist.all_reduce(buffer, group=self.group)
        counts = buffer[-len(flags):]
        offset = 0
        for p, used in zip(params, counts.tolist()):
            n = p.numel()
            p.grad = (buffer[offset: offset + n].view_as(p).to(p.dtype).clone()
                      if used > 0 else None)
            offset += n
        return counts[-1].item() == 0

    def sum(self, values):
        """Sum numbers over the ranks (float64); every rank gets the same list back."""
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, group=self.group)
        return t.tolist()

    def broadcast_object(self, obj):
        """Rank 0's ``obj`` on every rank (pickled between this job's own processes)."""
        holder = [obj]
        dist.broadcast_object_list(holder, src=self._global_rank0(), group=self.group,
                                   device=self.device if self.device.type == "cuda" else None)
        return holder[0]

    def broadcast_module(self, module):
        """Overwrite every floating-point parameter and buffer with rank 0's, in place."""
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point():
                dist.broadcast(t.data, src=self._global_rank0(), group=self.group)

    def load_checkpoint(self, path):
        """Rank 0 reads the checkpoint at ``path`` (or finds none) and every rank gets it.

        Only rank 0's file system needs to hold the file, and all ranks resume from the
        same state even if the file changes meanwhile.
        """
        from . import checkpoint

        state = checkpoint.load_checkpoint(path) if self.rank == 0 else None
        return self.broadcast_object(state)

    def _global_rank0(self):
        return 0 if self.group is None else dist.get_global_rank(self.group, 0)


# ---------------------------------------------------------------------------- entry point
def train(build, windows, train_starts, val_starts, *, options, seed, device):
    """Build and train a network: in this process, on torchrun's group, or on spawned ranks.

    Parameters
    ----------
    build : callable or torch.nn.Module
        A picklable factory of a freshly initialised network (e.g. a
        :func:`functools.partial` of a network class), called inside the seeded block; or a
        network that is already built (fine-tuning), which always trains in this process.
    windows : SeriesWindows
    train_starts, val_starts : array-like of int or None
    options : skmamba._nn.options.TrainingOptions
        ``options.n_processes > 1`` spawns that many processes on this machine.
    seed : int
    device : torch.device

    Returns
    -------
    network : torch.nn.Module
        The trained network, on the CPU, in eval mode (rank 0's weights, the same on every
        rank).
    result : skmamba._nn.training.TrainingResult

    Notes
    -----
    The modes, first match wins: ``build`` is a network: this process. A process group is
    initialised already, or ``torchrun``'s environment (``WORLD_SIZE`` > 1, ``RANK``) is
    set: train with this group (initialised here from the environment when needed, NCCL
    for CUDA, gloo for the CPU), every rank returns the same network. ``options.n_processes``
    > 1: spawn that many processes (gloo on the CPU; NCCL with ``cuda:0`` ...
    ``cuda:{n-1}``), each with ``torch.get_num_threads() // n_processes`` threads, and
    return rank 0's network here. Otherwise: this process, exactly as without this module.
    Under a group, ``options.checkpoint_path`` gets the group size appended, so a run
    resumes only from a checkpoint written by a group of the same size.

    Examples
    --------
    >>> import functools, numpy as np, torch
    >>> from skmamba._nn.distributed import train
    >>> from skmamba._nn.options import TrainingOptions
    >>> from skmamba._nn.training import SeriesWindows
    >>> opts = TrainingOptions(max_epochs=1, batch_size=8, lr=1e-2, lr_decay=1.0,
    ...                        loss="mse", optimizer="adam", optimizer_kwargs=None,
    ...                        patience=None, verbose=0)
    >>> class Last(torch.nn.Linear):
    ...     def forward(self, x, x_mark=None, exog=None):
    ...         return super().forward(x.transpose(1, 2)).transpose(1, 2), None
    >>> w = SeriesWindows(np.sin(np.arange(40.0))[:, None], seq_len=6, pred_len=2)
    >>> net, result = train(functools.partial(Last, 6, 2), w, np.arange(30), None,
    ...                     options=opts, seed=0, device=torch.device("cpu"))
    >>> result.n_epochs, next(net.parameters()).device.type
    (1, 'cpu')
    """
    device = torch.device(device)
    if not isinstance(build, torch.nn.Module):
        ctx = launcher_context(seed, device)
        if ctx is not None:
            return _train_on_rank(build, windows, train_starts, val_starts, options, ctx)
        if options.n_processes > 1:
            return _train_spawned(build, windows, train_starts, val_starts, options, seed,
                                  device)
    with training.seeded(seed, device) as generator:
        network = (build if isinstance(build, torch.nn.Module) else build()).to(device)
        result = training.train_network(
            network, windows, train_starts, val_starts, options=options, generator=generator,
        )
    return network.cpu().eval(), result


def launcher_context(seed, device):
    """This process's :class:`DistributedContext` when it runs in a group of several ranks.

    A group exists when ``torch.distributed`` is initialised already (by the user's script
    or an earlier fit), or is initialised here from ``torchrun``'s environment variables
    (``WORLD_SIZE`` > 1 and ``RANK``; the rendezvous ``MASTER_ADDR``/``MASTER_PORT``), with
    NCCL when ``device`` is CUDA and gloo otherwise. On CUDA each rank trains on
    ``cuda:LOCAL_RANK``. A CPU fit in an NCCL group communicates through a gloo group
    made for it once.

    Parameters
    ----------
    seed : int
    device : torch.device

    Returns
    -------
    DistributedContext or None
        None outside a group or in a group of one.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.distributed import launcher_context
    >>> launcher_context(0, torch.device("cpu")) is None   # a plain process
    True
    """
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        env_world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if env_world <= 1 or "RANK" not in os.environ:
            return None
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    world = dist.get_world_size()
    if world <= 1:
        return None
    group = None
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK",
                                                         torch.cuda.current_device())))
        torch.cuda.set_device(device)
    elif dist.get_backend() == "nccl":
        group = _cpu_group()
    return DistributedContext(dist.get_rank(), world, int(seed), device, group)


_CPU_GROUP = []


def _cpu_group():
    # Made once per process: creating a group is a collective every rank must join.
    if not _CPU_GROUP:
        _CPU_GROUP.append(dist.new_group(backend="gloo"))
    return _CPU_GROUP[0]


def _train_on_rank(build, windows, train_starts, val_starts, options, ctx):
    """Train on this rank of a group; every rank returns the same network on the CPU."""
    if options.checkpoint_path is not None:
        options = dataclasses.replace(
            options, checkpoint_path=_group_checkpoint_path(options.checkpoint_path,
                                                            ctx.world_size))
    if windows.values.device != ctx.device:
        windows = _windows_on(_windows_payload(windows), ctx.device)
    with training.seeded(ctx.seed, ctx.device) as generator:
        network = build().to(ctx.device)
        # The same seed gives the same initial weights everywhere; made exact regardless.
        ctx.broadcast_module(network)
        result = training.train_network(
            network, windows, train_starts, val_starts, options=options, generator=generator,
            distributed=ctx,
        )
    return network.cpu().eval(), result


def _group_checkpoint_path(path, world_size):
    root, ext = os.path.splitext(path)
    return f"{root}-ranks{world_size}{ext}"


def _windows_payload(windows):
    # Plain arrays travel to spawned processes by value; tensors from numpy cannot be moved
    # into shared memory.
    def arr(t):
        return None if t is None else t.detach().cpu().numpy()

    return {"values": arr(windows.values), "marks": arr(windows.marks),
            "exog": arr(windows.exog), "seq_len": windows.seq_len,
            "pred_len": windows.pred_len}


def _windows_on(payload, device):
    return SeriesWindows(payload["values"], payload["seq_len"], payload["pred_len"],
                         payload["marks"], payload["exog"], device=device)


def free_port():
    """A TCP port on 127.0.0.1 that is free now (for a local group's rendezvous).

    Examples
    --------
    >>> from skmamba._nn.distributed import free_port
    >>> 0 < free_port() < 65536
    True
    """
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: How many times a spawned group is started when a rank dies by a signal of its own.
_SPAWN_ATTEMPTS = 2


def _train_spawned(build, windows, train_starts, val_starts, options, seed, device):
    n = options.n_processes
    if device.type == "cuda" and torch.cuda.device_count() < n:
        raise ValueError(
            f"n_processes={n} with device={str(device)!r} needs one GPU per process, but "
            f"{torch.cuda.device_count()} are visible; lower n_processes or train on the CPU"
        )
    job = {
        "build": build, "windows": _windows_payload(windows),
        "train_starts": np.asarray(train_starts, dtype=np.int64),
        "val_starts": None if val_starts is None else np.asarray(val_starts, dtype=np.int64),
        "options": options, "seed": int(seed), "device_type": device.type,
        "threads": max(1, torch.get_num_threads() // n),
    }
    for attempt in range(_SPAWN_ATTEMPTS):
        job["port"] = free_port()
        with tempfile.TemporaryDirectory(prefix="skmamba-ddp-") as folder:
            try:
                mp.spawn(_spawned_rank, args=(n, job, folder), nprocs=n, join=True)
            # A rank whose error left the process group half torn down can die by a signal
            # (gloo aborts) after writing its error: report that error in both cases.
            except (mp.ProcessRaisedException, mp.ProcessExitedException) as err:
                original = _rank_error(folder, n)
                if original is not None:
                    raise original from err
                # A rank killed by a signal without an error of its own: on a busy 2-core
                # machine gloo sometimes aborts a rank ("terminate called without an
                # active exception"). Training is seeded, so the group starts again on a
                # fresh port and gives the same result.
                if isinstance(err, mp.ProcessExitedException) and attempt + 1 < _SPAWN_ATTEMPTS:
                    continue
                raise
            state = torch.load(os.path.join(folder, "result.pt"), map_location="cpu",
                               weights_only=True)
        break
    with training.seeded(seed, "cpu"):  # forked, so the caller's RNG stays untouched
        network = build()
    network.load_state_dict(state["network"])
    result = training.TrainingResult(state["history"], state["n_epochs"], state["best_epoch"])
    return network.cpu().eval(), result


def _spawned_rank(rank, world_size, job, folder):
    """What each spawned process runs: join the local group, train, rank 0 reports."""
    torch.set_num_threads(job["threads"])
    device = torch.device("cpu")
    if job["device_type"] == "cuda":
        device = torch.device("cuda", rank)
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend="nccl" if device.type == "cuda" else "gloo",
        init_method=f"tcp://127.0.0.1:{job['port']}", rank=rank, world_size=world_size,
    )
    try:
        ctx = DistributedContext(rank, world_size, job["seed"], device)
        windows = _windows_on(job["windows"], device)
        network, result = _train_on_rank(job["build"], windows, job["train_starts"],
                                         job["val_starts"], job["options"], ctx)
        if rank == 0:
            torch.save({"network": network.state_dict(), "history": result.history,
                        "n_epochs": result.n_epochs, "best_epoch": result.best_epoch},
                       os.path.join(folder, "result.pt"))
    except BaseException as err:
        # The parent re-raises the rank's own exception (a divergence, a bad input) rather
        # than torch's summary of it.
        with contextlib.suppress(Exception):
            with open(os.path.join(folder, f"error-{rank}.pkl"), "wb") as handle:
                pickle.dump(err, handle)
        raise
    finally:
        dist.destroy_process_group()


def _rank_error(folder, n):
    for rank in range(n):
        path = os.path.join(folder, f"error-{rank}.pkl")
        if os.path.exists(path):
            with contextlib.suppress(Exception), open(path, "rb") as handle:
                return pickle.load(handle)  # written by this job's own child process
    return None
