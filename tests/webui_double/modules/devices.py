"""Minimal ``modules.devices``: no torch, so everything is the CPU and a no-op."""

device = "cpu"
cpu = "cpu"
dtype = "float32"


def torch_gc() -> None:
    pass


def get_optimal_device() -> str:
    return device
