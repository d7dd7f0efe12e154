"""Training checkpoints: written atomically after every epoch, read without running code.

A checkpoint holds everything the next epoch depends on (weights, optimiser state, both
random streams, early-stopping state, history), so a fit resumed from one continues exactly
where the interrupted fit would have gone: on the CPU, bit for bit.
"""

import hashlib
import os
import tempfile

import numpy as np
import torch

__all__ = ["path_for", "save_checkpoint", "load_checkpoint", "remove_checkpoint"]


def save_checkpoint(path, state):
    """Write ``state`` to ``path`` atomically (a temporary file, then a rename).

    A process killed while writing leaves the previous checkpoint intact.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from skmamba._nn.checkpoint import load_checkpoint, save_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "run.pt")
    >>> save_checkpoint(path, {"epoch": 3, "w": torch.ones(2)})
    >>> load_checkpoint(path)["epoch"]
    3
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(path):
    """The state saved at ``path``, or None when there is none.

    Loaded with ``weights_only=True``: tensors, numbers, strings and containers only, so
    a checkpoint file cannot run code.

    Examples
    --------
    >>> from skmamba._nn.checkpoint import load_checkpoint
    >>> load_checkpoint("/nonexistent/run.pt") is None
    True
    """
    if path is None or not os.path.exists(path):
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"the training checkpoint {path} cannot be read ({err}); delete it to train "
            "from the start"
        ) from err


def remove_checkpoint(path):
    """Delete the checkpoint at ``path`` if there is one (after a completed fit)."""
    if path is not None and os.path.exists(path):
        os.remove(path)


def path_for(folder, name, *parts):
    """A checkpoint file in ``folder`` named by ``name`` and a hash of ``parts``.

    ``parts`` are what the training depends on (parameters as text, the seed, the data
    arrays; None allowed), so a different fit never resumes from another's checkpoint.

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba._nn.checkpoint import path_for
    >>> a = path_for("ckpt", "SMamba", "lr=0.001", 0, np.zeros(3))
    >>> a == path_for("ckpt", "SMamba", "lr=0.001", 0, np.zeros(3)), a.startswith("ckpt")
    (True, True)
    >>> a == path_for("ckpt", "SMamba", "lr=0.001", 0, np.ones(3))
    False
    """
    digest = hashlib.sha256(str(name).encode())
    for part in parts:
        if part is None:
            digest.update(b"\x00none")
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(str(part).encode())
        digest.update(b"\x00")
    return os.path.join(os.fspath(folder), f"{name}-{digest.hexdigest()[:24]}.pt")
