"""GPU discovery for the runtimes that run on a real machine: NVML, else nvidia-smi.

Kubernetes learns a node's GPUs from NVIDIA's device plugin, which asks NVML (the
NVIDIA Management Library, ``libnvidia-ml.so.1``, installed with the driver). orbit has
no device plugin, so a runtime asks the same library itself, through ``ctypes``:
``nvmlInit_v2``, ``nvmlDeviceGetCount_v2``, then each device's handle
(``nvmlDeviceGetHandleByIndex_v2``) and UUID (``nvmlDeviceGetUUID``), and
``nvmlShutdown``. Where the library is missing or does not initialise (no driver
loaded), it runs ``nvidia-smi --query-gpu=index,uuid --format=csv,noheader``; where that
is missing or fails too, the machine has no GPU that orbit can see.

What is discovered: NVIDIA GPUs only (no AMD, Intel or other devices), each with its
index and UUID; not their memory, model, MIG partitions or health. A device that
answers the count but not its UUID is named by its index.

The library's loader is a parameter, so the logic is tested with fakes where no GPU
exists (as on orbit's CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any, Literal

import anyio
import attrs

__all__ = [
    "GpuInventory",
    "NVML_LIBRARY",
    "discover_gpus",
    "nvidia_smi_gpus",
    "nvml_gpus",
    "parse_nvidia_smi",
]

NVML_LIBRARY = "libnvidia-ml.so.1"
_NVML_SUCCESS = 0
_UUID_BUFFER = 96  # NVML_DEVICE_UUID_V2_BUFFER_SIZE


@attrs.frozen
class GpuInventory:
    """The GPUs found (``(index, uuid)``, by index) and who told: ``"nvml"``,
    ``"nvidia-smi"`` or ``"none"``."""

    gpus: tuple[tuple[int, str], ...] = ()
    source: Literal["nvml", "nvidia-smi", "none"] = "none"

    @property
    def uuids(self) -> tuple[str, ...]:
        return tuple(uuid for _, uuid in self.gpus)


def _load_cdll(name: str) -> Any:
    import ctypes  # noqa: PLC0415 - only when GPUs are looked for

    return ctypes.CDLL(name)


def nvml_gpus(load: Callable[[str], Any] = _load_cdll) -> list[tuple[int, str]] | None:
    """``(index, uuid)`` of each GPU NVML reports; ``None`` when the library cannot be
    loaded or initialised (then nvidia-smi is the next to ask)."""
    import ctypes  # noqa: PLC0415 - only when GPUs are looked for

    try:
        library = load(NVML_LIBRARY)
        if library.nvmlInit_v2() != _NVML_SUCCESS:
            return None
    except (OSError, AttributeError):
        return None
    try:
        count = ctypes.c_uint(0)
        if library.nvmlDeviceGetCount_v2(ctypes.pointer(count)) != _NVML_SUCCESS:
            return None
        gpus: list[tuple[int, str]] = []
        for index in range(count.value):
            handle = ctypes.c_void_p()
            uuid = ctypes.create_string_buffer(_UUID_BUFFER)
            named = (
                library.nvmlDeviceGetHandleByIndex_v2(index, ctypes.pointer(handle))
                == _NVML_SUCCESS
                and library.nvmlDeviceGetUUID(handle, uuid, _UUID_BUFFER) == _NVML_SUCCESS
                and uuid.value
            )
            gpus.append((index, uuid.value.decode("ascii", "replace") if named else str(index)))
        return gpus
    except AttributeError:  # a library without the v2 entry points: too old a driver
        return None
    finally:
        library.nvmlShutdown()


def parse_nvidia_smi(text: str) -> list[tuple[int, str]]:
    """``(index, uuid)`` pairs from ``nvidia-smi --query-gpu=index,uuid
    --format=csv,noheader``; lines that do not parse are skipped."""
    gpus: list[tuple[int, str]] = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and parts[1]:
            gpus.append((int(parts[0]), parts[1]))
    return sorted(gpus)


async def nvidia_smi_gpus(binary: str | None = None) -> list[tuple[int, str]] | None:
    """``(index, uuid)`` of each GPU from ``nvidia-smi``; ``None`` when it is missing,
    fails or does not answer within 10 s."""
    binary = binary or shutil.which("nvidia-smi")
    if binary is None:
        return None
    command = [binary, "--query-gpu=index,uuid", "--format=csv,noheader"]
    with anyio.move_on_after(10):
        try:
            result = await anyio.run_process(command, check=False)
        except OSError:
            return None
        if result.returncode == 0:
            return parse_nvidia_smi(result.stdout.decode("utf-8", errors="replace"))
    return None


async def discover_gpus(
    load: Callable[[str], Any] = _load_cdll, smi: str | None = None
) -> GpuInventory:
    """NVML first (in a worker thread: initialising it can take a while), then
    nvidia-smi, else no GPUs."""
    found = await anyio.to_thread.run_sync(nvml_gpus, load)
    if found is not None:
        return GpuInventory(tuple(sorted(found)), "nvml")
    found = await nvidia_smi_gpus(smi)
    if found is not None:
        return GpuInventory(tuple(found), "nvidia-smi")
    return GpuInventory()
