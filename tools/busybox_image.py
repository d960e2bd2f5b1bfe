"""Build the local ``orbit-busybox:1`` image from Debian's ``busybox-static``, once.

No registry can be reached where orbit's tests and benchmarks run, so the one image
they use is made here, as DESIGN.md says: ``docker import`` of a root filesystem
holding ``/bin/busybox`` (a static binary from Debian's ``busybox-static`` package) with
a symlink per applet (``sh``, ``sleep``, ``httpd``, ``nc``, ``wget``, ``dd``, ``head``...),
``/etc/passwd`` and ``/etc/group`` (root and nobody) and a world-writable ``/tmp``. The
root filesystem is a tarball built in memory (every file with a fixed mtime and owner)
and piped to ``docker import -``, with ``--change`` for ``PATH``, ``Cmd ["sh"]`` and
``WorkingDir /``; the Docker CLI comes with Debian's ``docker.io``. The engine stamps an
imported image with the time of the import, so each build gets a new image id.

Used by ``tests/integration/docker`` and ``benchmarks/startup.py``:

    sys.path.insert(0, str(repo_root / "tools"))
    from busybox_image import IMAGE, ensure_busybox_image
    await ensure_busybox_image()          # builds only when the tag is absent

Run ``python tools/busybox_image.py [--force]`` to build it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import aiodocker

__all__ = [
    "BUSYBOX",
    "IMAGE",
    "IMPORT_CHANGES",
    "build_rootfs",
    "ensure_busybox_image",
    "import_command",
    "import_rootfs",
]

IMAGE = "orbit-busybox:1"
BUSYBOX = Path("/bin/busybox")
"""Debian's busybox-static installs its static binary here."""

_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed, so the layer is reproducible
_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_REQUIRED_APPLETS = (
    *("sh", "cat", "dd", "echo", "env", "head", "httpd", "id", "kill"),
    *("ls", "mkdir", "nc", "sleep", "touch", "tr", "wget", "yes"),
)
_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


def _applets(busybox: Path) -> list[str]:
    """Every applet the binary was built with (``busybox --list``), checked against
    the ones orbit's tests rely on."""
    listed = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    missing = sorted(set(_REQUIRED_APPLETS) - set(listed))
    if missing:
        raise RuntimeError(f"{busybox} lacks applets {missing}")
    return sorted(name for name in set(listed) if name not in {"busybox", "[", "[["})


def _entry(name: str, kind: bytes, mode: int, *, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = _MTIME, 0, 0, "root", "root"
    return info


def build_rootfs(busybox: Path = BUSYBOX) -> bytes:
    """The image's single layer: an uncompressed tar of the root filesystem."""
    if not busybox.is_file():
        raise FileNotFoundError(f"{busybox} is missing: apt-get install busybox-static")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for directory, mode in (
            ("bin", 0o755),
            ("dev", 0o755),
            ("etc", 0o755),
            ("proc", 0o555),
            ("root", 0o700),
            ("sys", 0o555),
            ("tmp", 0o1777),
            ("var", 0o755),
            ("www", 0o755),
        ):
            tar.addfile(_entry(directory, tarfile.DIRTYPE, mode))
        binary = busybox.read_bytes()
        tar.addfile(
            _entry("bin/busybox", tarfile.REGTYPE, 0o755, size=len(binary)), io.BytesIO(binary)
        )
        for applet in _applets(busybox):
            tar.addfile(_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
        for name, text in (("etc/passwd", _PASSWD), ("etc/group", _GROUP)):
            data = text.encode()
            tar.addfile(_entry(name, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
    return out.getvalue()


IMPORT_CHANGES = (f"ENV {_PATH}", 'CMD ["sh"]', "WORKDIR /")
"""The image config ``docker import --change`` sets (an imported image has none)."""


def import_command(tag: str = IMAGE, url: str | None = None) -> list[str]:
    """The ``docker import`` command line reading the root filesystem from stdin."""
    changes = [f"--change={change}" for change in IMPORT_CHANGES]
    host = ["--host", url] if url else []
    return ["docker", *host, "import", *changes, "-", tag]


async def import_rootfs(rootfs: bytes, tag: str = IMAGE, url: str | None = None) -> None:
    """``docker import`` the root filesystem tarball as ``tag``."""
    command = import_command(tag, url)
    if shutil.which(command[0]) is None:
        raise RuntimeError("the docker CLI is missing: apt-get install docker.io")
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, errors = await process.communicate(rootfs)
    if process.returncode != 0:
        message = errors.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(command)} failed: {message}")


async def ensure_busybox_image(
    url: str | None = None, *, tag: str = IMAGE, force: bool = False
) -> str:
    """Make sure the engine at ``url`` (None: the local one) has ``tag``; its image id.

    Builds and imports the image only when the tag is absent (or ``force``), so calling
    it at the start of every test session or benchmark run is cheap.
    """
    async with aiodocker.Docker(url=url) as docker:
        if not force:
            try:
                return str((await docker.images.inspect(tag))["Id"])
            except aiodocker.DockerError as error:
                if error.status != 404:
                    raise
        await import_rootfs(build_rootfs(), tag, url)
        return str((await docker.images.inspect(tag))["Id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="engine URL (default: the local one)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    args = parser.parse_args()
    image_id = asyncio.run(ensure_busybox_image(args.url, force=args.force))
    print(f"{IMAGE} {image_id}")


if __name__ == "__main__":
    main()
