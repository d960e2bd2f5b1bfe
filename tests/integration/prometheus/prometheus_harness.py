"""A real Prometheus server for tests: Debian's ``prometheus`` binary on a free
loopback port, its storage and config in the test's temporary directory.

The config scrapes every second the targets listed in a ``file_sd_configs`` JSON file
(re-read every second and on change), which the test rewrites with
:meth:`PrometheusServer.set_targets` / :meth:`PrometheusServer.set_target_groups`;
``extra_scrape_configs`` adds jobs of the test's own (plain dicts, written as YAML).
``--web.enable-lifecycle`` is on, so :meth:`PrometheusServer.reload` re-reads the config.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import yaml

from orbit.autoscaling._http import MetricsError, http_get, parse_base_url
from orbit.autoscaling._promql import instant_query

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
JOB = "orbit-test"
"""The job label of the targets in the file_sd file."""


def prometheus_binary() -> str | None:
    """The prometheus executable, or None when it is not installed."""
    return PROMETHEUS if os.access(PROMETHEUS, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrometheusServer:
    """One Prometheus process (see the module docstring)."""

    def __init__(
        self, workdir: Path, *, extra_scrape_configs: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = parse_base_url(self.url)
        self.targets_path = workdir / "targets.json"
        self.config_path = workdir / "prometheus.yml"
        self.log_path = workdir / "prometheus.log"
        self.extra_scrape_configs = list(extra_scrape_configs)
        self.process: anyio.abc.Process | None = None

    def write_config(self) -> None:
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "file_sd_configs": [
                        {"files": [str(self.targets_path)], "refresh_interval": "1s"}
                    ],
                },
                *self.extra_scrape_configs,
            ],
        }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def set_target_groups(self, groups: Sequence[Mapping[str, Any]]) -> None:
        """Write the file_sd file (``[{"targets": [...], "labels": {...}}]``) atomically."""
        scratch = self.targets_path.with_suffix(".tmp")
        scratch.write_text(json.dumps(list(groups)))
        scratch.replace(self.targets_path)

    def set_targets(self, targets: Sequence[str], labels: Mapping[str, str] | None = None) -> None:
        """Scrape ``targets`` (``host:port``), each series labelled with ``labels``."""
        self.set_target_groups([{"targets": list(targets), "labels": dict(labels or {})}])

    async def start(self, *, ready_within_s: float = 30.0) -> None:
        """Start the server and wait until ``/-/ready`` answers 200."""
        self.write_config()
        if not self.targets_path.exists():
            self.set_target_groups([])
        with self.log_path.open("wb") as log:
            self.process = await anyio.open_process(
                [
                    PROMETHEUS,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        with anyio.move_on_after(ready_within_s):
            while self.process.returncode is None:
                try:
                    answer = await http_get("127.0.0.1", self.port, "/-/ready", timeout_s=1.0)
                except MetricsError:
                    answer = None
                if answer is not None and answer.status == 200:
                    return
                await anyio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"prometheus did not become ready; its log:\n{self.log()}")

    def reload(self) -> None:
        """Rewrite the config (after changing ``extra_scrape_configs``) and make the
        server re-read it (SIGHUP, the same as ``POST /-/reload``)."""
        self.write_config()
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    async def query_until_present(self, promql: str, *, deadline_s: float = 20.0) -> int:
        """Poll ``promql`` until it returns data (milli value); fail after ``deadline_s``."""
        return await self.query_until(promql, lambda _: True, deadline_s=deadline_s)

    async def query_until(self, promql: str, accept: Any, *, deadline_s: float = 20.0) -> int:
        """Poll ``promql`` until ``accept(value_milli)`` holds; fail after ``deadline_s``
        with the last error or value."""
        last: object = None
        with anyio.move_on_after(deadline_s):
            while True:
                try:
                    value, _ = await instant_query(self.base, promql, timeout_s=2.0)
                except MetricsError as exc:
                    last = exc
                else:
                    if accept(value):
                        return value
                    last = value
                await anyio.sleep(0.2)
        raise AssertionError(f"{promql}: still {last!r} after {deadline_s}s; log:\n{self.log()}")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            process.terminate()
            with anyio.move_on_after(10.0):
                await process.wait()
            if process.returncode is None:
                process.kill()
        await process.aclose()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
