"""The selective scan and its backends. Knows torch and (lazily) triton, nothing else."""

from .interface import BACKENDS, selective_scan, triton_available
from .reference import selective_scan_ref

__all__ = ["selective_scan", "selective_scan_ref", "triton_available", "BACKENDS"]
