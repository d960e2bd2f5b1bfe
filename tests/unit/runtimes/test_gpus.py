"""GPU discovery without a GPU: NVML through a fake library (what ``ctypes`` would hand
back), nvidia-smi's output, and the order they are asked in. No machine orbit's CI runs
on has an NVIDIA GPU, so this is where the discovery logic is tested."""

from __future__ import annotations

import ctypes
import stat
from pathlib import Path
from typing import Any

import pytest

from orbit.runtimes._gpus import (
    NVML_LIBRARY,
    GpuInventory,
    discover_gpus,
    nvidia_smi_gpus,
    nvml_gpus,
    parse_nvidia_smi,
)

pytestmark = pytest.mark.anyio

UUIDS = ["GPU-11111111-2222-3333-4444-555555555555", "GPU-66666666-7777-8888-9999-000000000000"]


class FakeNvml:
    """The entry points orbit calls, answering as NVML does (0 is NVML_SUCCESS)."""

    def __init__(
        self, uuids: list[str], *, init: int = 0, uuid_fails: tuple[int, ...] = ()
    ) -> None:
        self.uuids, self.init, self.uuid_fails = uuids, init, uuid_fails
        self.calls: list[str] = []

    def nvmlInit_v2(self) -> int:
        self.calls.append("init")
        return self.init

    def nvmlDeviceGetCount_v2(self, count: Any) -> int:
        count.contents.value = len(self.uuids)
        return 0

    def nvmlDeviceGetHandleByIndex_v2(self, index: int, handle: Any) -> int:
        handle.contents.value = 1000 + index
        return 0

    def nvmlDeviceGetUUID(self, handle: ctypes.c_void_p, buffer: Any, size: int) -> int:
        index = (handle.value or 0) - 1000
        if index in self.uuid_fails:
            return 999  # NVML_ERROR_UNKNOWN
        assert size == 96
        buffer.value = self.uuids[index].encode()
        return 0

    def nvmlShutdown(self) -> int:
        self.calls.append("shutdown")
        return 0


def loader(library: object | None) -> Any:
    def load(name: str) -> object:
        assert name == NVML_LIBRARY
        if library is None:
            raise OSError(f"{name}: cannot open shared object file")
        return library

    return load


def test_nvml_lists_each_device_with_its_uuid_and_shuts_down() -> None:
    library = FakeNvml(UUIDS)
    assert nvml_gpus(loader(library)) == [(0, UUIDS[0]), (1, UUIDS[1])]
    assert library.calls == ["init", "shutdown"]


def test_a_device_without_a_uuid_is_named_by_its_index() -> None:
    assert nvml_gpus(loader(FakeNvml(UUIDS, uuid_fails=(1,)))) == [(0, UUIDS[0]), (1, "1")]


def test_nvml_missing_or_not_initialising_is_none() -> None:
    assert nvml_gpus(loader(None)) is None
    failing = FakeNvml(UUIDS, init=9)  # NVML_ERROR_DRIVER_NOT_LOADED
    assert nvml_gpus(loader(failing)) is None
    assert failing.calls == ["init"]  # nothing to shut down


def test_nvml_without_the_v2_entry_points_is_none() -> None:
    class Old:
        def nvmlInit_v2(self) -> int:
            return 0

        def nvmlShutdown(self) -> int:
            return 0

    assert nvml_gpus(loader(Old())) is None


def test_parse_nvidia_smi_output() -> None:
    text = f"1, {UUIDS[1]}\n0, {UUIDS[0]}\nNo devices were found\n\n"
    assert parse_nvidia_smi(text) == [(0, UUIDS[0]), (1, UUIDS[1])]


def fake_smi(tmp_path: Path, output: str, code: int = 0) -> str:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '%s' '{output}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


async def test_discovery_asks_nvml_first(tmp_path: Path) -> None:
    smi = fake_smi(tmp_path, f"0, {UUIDS[1]}\n")
    found = await discover_gpus(loader(FakeNvml(UUIDS)), smi)
    assert found == GpuInventory(((0, UUIDS[0]), (1, UUIDS[1])), "nvml")
    assert found.uuids == tuple(UUIDS)


async def test_discovery_falls_back_to_nvidia_smi_then_to_none(tmp_path: Path) -> None:
    smi = fake_smi(tmp_path, f"0, {UUIDS[1]}\n")
    assert await discover_gpus(loader(None), smi) == GpuInventory(((0, UUIDS[1]),), "nvidia-smi")
    broken = fake_smi(tmp_path, "NVIDIA-SMI has failed", code=9)
    assert await nvidia_smi_gpus(broken) is None
    assert await discover_gpus(loader(None), broken) == GpuInventory()
    assert await discover_gpus(loader(None), str(tmp_path / "absent")) == GpuInventory()
