"""Torch modules and the training loop. Knows torch and skmamba._kernels; never pandas."""
