"""A pod's volumes as host directories: planned purely, then written under its state dir.

Every volume becomes a host path a runtime can mount (Docker) or point at (processes):

- ``emptyDir``: ``<pod dir>/volumes/<name>/``, created empty once, mode 0777 as the
  kubelet makes it (any user may write), and kept across container restarts
  (deleted with the pod's directory). ``medium: Memory`` is not honoured (the
  directory is on disk).
- ``hostPath``: the path itself; ``DirectoryOrCreate`` / ``FileOrCreate`` create it,
  ``Directory`` / ``File`` must exist.
- ``configMap`` / ``secret``: ``<pod dir>/volumes/<name>/`` holding one file per key
  (or per ``items`` entry, at its ``path``), with ``defaultMode`` / the item's ``mode``.
  The files are (re)written before every container start, so a restart sees the
  current data; unlike the kubelet, orbit does not refresh them while a container runs.

With the pod's ``securityContext.fsGroup``, the volumes orbit writes are handed to
that group as the kubelet's ``SetVolumeOwnership`` does: every file and directory is
group-owned by it, files get group read (+write for an emptyDir) permission, and
directories group ``rwx`` plus the setgid bit, so what a container creates in them
belongs to the group too. An emptyDir is handed over when it is created, configMap
and secret files each time they are written; a ``hostPath`` is left as it is. Changing
a group needs root (or membership of the group): where orbit may not, the volumes keep
orbit's own group.

A ConfigMap or Secret that is missing (and not ``optional``) raises
:class:`~orbit.runtimes.RuntimeFailure` with reason ``FailedMount`` and the kubelet's
message; the agent retries with backoff and shows ``ContainerCreating``.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import attrs

from orbit.api import ConfigMap, KeyToPath, Volume
from orbit.runtimes import RuntimeFailure

from ._launch import ConfigSources

__all__ = ["FAILED_MOUNT", "VolumePlan", "fs_group_mode", "materialise", "plan_volumes"]

FAILED_MOUNT = "FailedMount"
_EMPTY_DIR_MODE = 0o777
_RW_MASK, _RO_MASK, _EXEC_MASK = 0o660, 0o440, 0o110


@attrs.frozen(kw_only=True)
class VolumePlan:
    """What one volume becomes on the host.

    ``kind`` "dir" is a directory under the pod's dir (emptyDir), "files" a directory
    holding ``files`` (relative path -> (content, mode)), "host" the existing
    ``host_path`` (with ``create`` "dir" or "file" when it is to be created).
    """

    name: str
    kind: Literal["dir", "files", "host"]
    files: Mapping[str, tuple[bytes, int]] = attrs.field(factory=dict)
    host_path: str = ""
    create: Literal["", "dir", "file"] = ""
    must_exist: bool = False


def _fail(volume: str, message: str) -> RuntimeFailure:
    message = f'MountVolume.SetUp failed for volume "{volume}" : {message}'
    return RuntimeFailure(FAILED_MOUNT, message)


def _files(
    volume: str,
    kind: str,
    *,
    data: Mapping[str, bytes],
    items: Sequence[KeyToPath],
    default_mode: int,
    optional: bool,
) -> dict[str, tuple[bytes, int]]:
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    files: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item.key not in data:
            if optional:
                continue
            raise _fail(volume, f"{kind} references non-existent config key: {item.key}")
        mode = item.mode if item.mode is not None else default_mode
        files[item.path or item.key] = (data[item.key], mode)
    return files


def _config_map_bytes(config_map: ConfigMap) -> dict[str, bytes]:
    data = config_map.decoded_binary_data()
    data.update({key: value.encode() for key, value in config_map.data.items()})
    return data


def _plan(volume: Volume, namespace: str, sources: ConfigSources) -> VolumePlan:
    name = volume.name
    if volume.host_path is not None:
        kind = volume.host_path.type
        create: Literal["", "dir", "file"] = (
            "dir" if kind == "DirectoryOrCreate" else "file" if kind == "FileOrCreate" else ""
        )
        must = kind in ("Directory", "File", "Socket", "CharDevice", "BlockDevice")
        return VolumePlan(
            name=name, kind="host", host_path=volume.host_path.path, create=create, must_exist=must
        )
    if volume.config_map is not None:
        source = volume.config_map
        found = sources.config_map(namespace, source.name)
        optional = bool(source.optional)
        if found is None:
            if optional:
                return VolumePlan(name=name, kind="files")
            raise _fail(name, f'configmap "{source.name}" not found')
        data = _config_map_bytes(found)
        files = _files(
            name,
            "configMap",
            data=data,
            items=source.items,
            default_mode=source.default_mode,
            optional=optional,
        )
        return VolumePlan(name=name, kind="files", files=files)
    if volume.secret is not None:
        secret_source = volume.secret
        secret = sources.secret(namespace, secret_source.secret_name)
        optional = bool(secret_source.optional)
        if secret is None:
            if optional:
                return VolumePlan(name=name, kind="files")
            raise _fail(name, f'secret "{secret_source.secret_name}" not found')
        mode = secret_source.default_mode
        files = _files(
            name,
            "secret",
            data=secret.decoded_data(),
            items=secret_source.items,
            default_mode=mode,
            optional=optional,
        )
        return VolumePlan(name=name, kind="files", files=files)
    return VolumePlan(name=name, kind="dir")  # emptyDir, and sources orbit ignores


def plan_volumes(
    volumes: Sequence[Volume], namespace: str, sources: ConfigSources
) -> list[VolumePlan]:
    """What each of a pod's volumes becomes on the host (reads sources, writes nothing)."""
    return [_plan(volume, namespace, sources) for volume in volumes]


def materialise(
    plans: Sequence[VolumePlan], pod_dir: str, *, fs_group: int | None = None
) -> dict[str, str]:
    """Create the volumes on disk under ``pod_dir``; returns volume name -> host path.

    Files of configMap / secret volumes are replaced atomically (write then rename);
    files no longer in the plan are removed. With ``fs_group``, what orbit writes is
    handed to that group (see the module docstring).
    """
    paths: dict[str, str] = {}
    for plan in plans:
        if plan.kind == "host":
            paths[plan.name] = _host(plan)
            continue
        target = Path(pod_dir, "volumes", plan.name)
        created = not target.is_dir()
        target.mkdir(parents=True, exist_ok=True)
        if plan.kind == "files":
            _write_files(target, plan.files)
            if fs_group is not None:
                _hand_over(target, fs_group, read_only=True)
        elif created:
            os.chmod(target, _EMPTY_DIR_MODE)  # whatever the umask: the kubelet's mode
            if fs_group is not None:
                _hand_over(target, fs_group, read_only=False)
        paths[plan.name] = str(target)
    return paths


def fs_group_mode(mode: int, *, is_dir: bool, read_only: bool) -> int:
    """A file's mode once handed to the fsGroup: the kubelet's ``changeFilePermission``
    adds group read (and write unless the volume is read-only) to everything, and to
    directories group search and the setgid bit."""
    mask = _RO_MASK if read_only else _RW_MASK
    if is_dir:
        mask |= stat.S_ISGID | _EXEC_MASK
    return mode | mask


def _hand_over(root: Path, group: int, *, read_only: bool) -> None:
    """Give the tree under ``root`` to ``group`` (symlinks: the link, not its target);
    where orbit may not change the group, the tree is left as it is."""
    for directory, _, names in os.walk(root):
        for path in (directory, *(os.path.join(directory, n) for n in names)):
            try:
                os.lchown(path, -1, group)
                info = os.lstat(path)
                if not stat.S_ISLNK(info.st_mode):
                    mode = fs_group_mode(
                        stat.S_IMODE(info.st_mode),
                        is_dir=stat.S_ISDIR(info.st_mode),
                        read_only=read_only,
                    )
                    os.chmod(path, mode)
            except PermissionError:
                return  # not root and not in the group: nothing here can change
            except FileNotFoundError:
                continue  # removed meanwhile (a container wrote and deleted it)


def _host(plan: VolumePlan) -> str:
    path = Path(plan.host_path)
    if plan.create == "dir":
        path.mkdir(parents=True, exist_ok=True)
    elif plan.create == "file" and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    elif plan.must_exist and not path.exists():
        raise _fail(plan.name, f"hostPath type check failed: {plan.host_path} does not exist")
    return str(path)


def _write_files(target: Path, files: Mapping[str, tuple[bytes, int]]) -> None:
    wanted = set()
    for relative, (content, mode) in files.items():
        path = (target / relative).resolve()
        if target.resolve() not in path.parents:
            raise _fail(target.name, f"invalid path {relative!r}: outside the volume")
        wanted.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".orbit-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    for existing in target.rglob("*"):
        if existing.is_file() and existing.resolve() not in wanted:
            existing.unlink()
