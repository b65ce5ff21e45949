"""Minimal ``modules.devices``: no torch; the device is named as on a GPU machine, so that a
model left on ``cpu`` (A1111's unload) is told apart from one on the device."""

device = "cuda"
cpu = "cpu"
dtype = "float32"


def torch_gc() -> None:
    pass


def get_optimal_device() -> str:
    return device
