"""ProcessRuntime's pure pieces: /proc and nvidia-smi parsers, container ids and
records, and the log reader (tail offsets, line splitting) as properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.errors import NotFound
from orbit.runtimes import PortBinding, RuntimeFailure
from orbit.runtimes._gpus import parse_nvidia_smi
from orbit.runtimes._process import default_state_dir
from orbit.runtimes._process_logs import LineSplitter, read_chunk, tail_start
from orbit.runtimes._process_proc import (
    ProcStat,
    parse_meminfo_total,
    parse_stat,
    parse_vmrss,
)
from orbit.runtimes._process_records import (
    ContainerRecord,
    container_id,
    parse_container_id,
    read_record,
)

STAT = (
    "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 300 0 0 0 "
    "120 30 5 7 20 0 1 0 987654 10000000 500 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1"
)


def test_parse_stat_counts_fields_after_the_command_name() -> None:
    assert parse_stat(STAT) == ProcStat(
        pid=4242, state="S", pgid=4242, cpu_ticks=120 + 30 + 5 + 7, start_ticks=987654
    )


@pytest.mark.parametrize("text", ["", "4242 no parenthesis", "4242 (x) S 1"])
def test_parse_stat_rejects_garbage(text: str) -> None:
    assert parse_stat(text) is None


def test_parse_meminfo_and_vmrss() -> None:
    assert parse_meminfo_total("MemTotal:       24684096 kB\nMemFree: 1 kB\n") == 24684096 * 1024
    assert parse_meminfo_total("nothing\n") == 0
    assert parse_vmrss("Name:\tpython\nVmRSS:\t   10240 kB\n") == 10240 * 1024
    assert parse_vmrss("Name:\tkthread\n") == 0


def test_parse_nvidia_smi() -> None:
    text = (
        "1, GPU-8f7c7a36-1111-2222-3333-444444444444\n"
        "0, GPU-1a2b3c4d-5555-6666-7777-888888888888\n"
        "No devices were found\n\n"
    )
    assert parse_nvidia_smi(text) == [
        (0, "GPU-1a2b3c4d-5555-6666-7777-888888888888"),
        (1, "GPU-8f7c7a36-1111-2222-3333-444444444444"),
    ]


def test_container_ids_round_trip_and_reject_unsafe_parts() -> None:
    cid = container_id("0b1c-uid", "worker", 3)
    assert cid == "0b1c-uid/worker/3"
    assert parse_container_id(cid) == ("0b1c-uid", "worker", 3)
    with pytest.raises(RuntimeFailure):
        container_id("..", "worker", 0)
    with pytest.raises(RuntimeFailure):
        container_id("uid", "a/b", 0)
    for bad in ("uid/worker", "../x/0", "uid/worker/x", "uid/work er/0"):
        with pytest.raises(NotFound):
            parse_container_id(bad)


def test_record_round_trip(tmp_path: Path) -> None:
    record = ContainerRecord(
        id="u/c/0",
        pod_uid="u",
        name="c",
        restart_count=0,
        pid=123,
        start_ticks=456,
        started_at=1.5,
        log="/x.log",
        root="/r",
        cwd="/r",
        labels={"orbit.dev/cluster": "k"},
        ports=(PortBinding(name="http", container_port=80, host_port=31000),),
        cgroup={"version": 2, "dirs": {"": "/cg"}, "oom_baseline": 0},
    )
    path = tmp_path / "0.json"
    record.write(path)
    assert read_record(path) == record
    assert record.report().state == "running"
    assert read_record(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text('{"id": 1}')
    assert read_record(tmp_path / "bad.json") is None


def reference_tail(data: bytes, tail: int) -> bytes:
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines = lines[:-1]
        kept = lines[-tail:] if tail > 0 else []
        return b"\n".join(kept) + (b"\n" if kept else b"")
    kept = lines[-tail:] if tail > 0 else []
    return b"\n".join(kept)


@given(
    lines=st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    trailing=st.booleans(),
    tail=st.integers(min_value=0, max_value=40),
)
def test_tail_start_matches_splitting_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], trailing: bool, tail: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    path = tmp_path_factory.mktemp("log") / "0.log"
    path.write_bytes(data)
    assert data[tail_start(path, tail) :] == reference_tail(data, tail)
    assert tail_start(path, None) == 0


def test_tail_start_across_blocks(tmp_path: Path) -> None:
    data = b"".join(b"line %06d\n" % n for n in range(20000))  # 240 kB: several blocks
    path = tmp_path / "0.log"
    path.write_bytes(data)
    assert data[tail_start(path, 3) :] == b"line 019997\nline 019998\nline 019999\n"
    assert tail_start(path, 10**6) == 0
    assert tail_start(tmp_path / "absent.log", 5) == 0


@given(chunks=st.lists(st.binary(max_size=12), max_size=12))
def test_line_splitter_yields_what_splitting_the_whole_gives(chunks: list[bytes]) -> None:
    splitter = LineSplitter()
    got: list[str] = []
    for chunk in chunks:
        got.extend(splitter.feed(chunk))
    got.extend(splitter.flush())
    data = b"".join(chunks)
    expected = data.split(b"\n")
    if expected[-1] == b"":
        expected.pop()
    assert got == [line.decode("utf-8", errors="replace") for line in expected]


def test_read_chunk_from_offset(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(b"abcdef")
    assert read_chunk(path, 2) == (b"cdef", 6)
    assert read_chunk(path, 6) == (b"", 6)
    assert read_chunk(tmp_path / "absent", 0) == (b"", 0)


def test_default_state_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "orbit"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "orbit"
