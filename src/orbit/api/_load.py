"""Manifests in and out: ``load_manifests`` turns YAML/dicts into typed, defaulted,
validated objects; ``dump`` turns an object back into a Kubernetes-shaped dict.

Loading is all-or-nothing: every document is decoded and validated, and if any has a
problem a single :class:`~orbit.errors.ValidationError` lists every issue of every
document (paths prefixed with the document's index, ``[2].spec.replicas``, when the
source held several). Warnings (unknown or ignored fields) never stop a load.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from orbit.errors import Issue, ValidationError

from ._autoscaling import AUTOSCALING_V1, HorizontalPodAutoscaler, from_autoscaling_v1
from ._codec import DecodeContext, decode_into, encode
from ._meta import all_kinds, kind_for, kind_info, lookup_kind
from ._validation import validate

__all__ = [
    "Decoded",
    "Document",
    "ManifestWarning",
    "decode_documents",
    "decode_object",
    "prefixed",
    "dump",
    "load_manifests",
    "read_documents",
]

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestWarning(UserWarning):
    """A manifest loaded, but something in it is ignored (an unknown field, or a
    Kubernetes field orbit does not honour)."""


@attrs.frozen
class Document:
    """One manifest document and where it came from (for error paths and messages)."""

    data: Any
    prefix: str  # "" for a single document, "[i]" in a multi-document source
    origin: str  # a file name or "<input>"


def _yaml_documents(text: str) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise ValidationError([("", f"invalid YAML: {exc}")]) from exc


def _expand_lists(items: Sequence[Any]) -> Iterator[Any]:
    for item in items:
        is_list = isinstance(item, Mapping) and str(item.get("kind", "")).endswith("List")
        if is_list and isinstance(item.get("items"), list):
            yield from _expand_lists(item["items"])
        else:
            yield item


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _MANIFEST_SUFFIXES)
    return [path]


def _raw_documents(source: Any) -> tuple[list[Any], str]:
    if isinstance(source, os.PathLike):
        path = Path(source)
        if not path.exists():
            raise ValidationError([("", f"no such file or directory: {path}")])
        docs = []
        for file in _files(path):
            docs.extend(_yaml_documents(file.read_text()))
        return docs, str(path)
    if isinstance(source, str):
        looks_like_path = "\n" not in source and source.strip().endswith(_MANIFEST_SUFFIXES)
        if looks_like_path or ("\n" not in source and os.path.isdir(source)):
            return _raw_documents(Path(source))
        return _yaml_documents(source), "<input>"
    if isinstance(source, bytes):
        return _yaml_documents(source.decode()), "<input>"
    if isinstance(source, Mapping):
        return [source], "<input>"
    if isinstance(source, Sequence):
        return list(source), "<input>"
    raise TypeError(f"cannot load manifests from {type(source).__name__}")


def read_documents(source: Any) -> list[Document]:
    """Split a source (YAML text, a file or directory path, a dict, a list, a ``kind:
    List``) into documents, each with the path prefix its issues will carry."""
    raw, origin = _raw_documents(source)
    docs = list(_expand_lists(raw))
    if len(docs) == 1:
        return [Document(docs[0], "", origin)]
    return [Document(doc, f"[{index}]", origin) for index, doc in enumerate(docs)]


def _kind_issue(api_version: str, kind: str) -> Issue:
    info = lookup_kind(kind) if kind else None
    if info is not None and info.kind == kind:
        served = ", ".join((info.api_version, *info.aliases))
        return Issue(
            "apiVersion",
            f'Unsupported value: "{api_version}": orbit serves {kind} as {served}',
        )
    supported = ", ".join(sorted(k.kind for k in all_kinds()))
    return Issue(
        "kind",
        f'Unsupported value: "{kind}": orbit does not run this kind (supported kinds: {supported})',
    )


@attrs.frozen
class Decoded:
    """The outcome of decoding one document: the object (``None`` if it could not be
    built at all), its issues and its warnings, paths prefixed with the document's
    place in the source."""

    document: Document
    object: Any | None
    issues: tuple[Issue, ...]
    warnings: tuple[str, ...]


def decode_object(data: Any) -> tuple[Any | None, list[Issue], list[str]]:
    """Decode and validate one manifest dict: (object or None, issues, warnings)."""
    ctx = DecodeContext()
    if not isinstance(data, Mapping):
        ctx.issue("", f"a manifest must be an object, not {type(data).__name__}")
        return None, ctx.issues, ctx.warnings
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not api_version:
        ctx.issue("apiVersion", "Required value")
    if not isinstance(kind, str) or not kind:
        ctx.issue("kind", "Required value")
    if ctx.issues:
        return None, ctx.issues, ctx.warnings
    assert isinstance(api_version, str)
    assert isinstance(kind, str)
    info = kind_for(api_version, kind)
    if info is None:
        return None, [_kind_issue(api_version, kind)], ctx.warnings
    body = {key: value for key, value in data.items() if key not in ("apiVersion", "kind")}
    if api_version == AUTOSCALING_V1 and info.cls is HorizontalPodAutoscaler:
        body, converted_issues = from_autoscaling_v1(body)
        ctx.issues.extend(converted_issues)
    obj = decode_into(info.cls, body, "", ctx)
    decode_paths = [issue.path for issue in ctx.issues]
    ctx.issues.extend(i for i in validate(obj) if not _under_any(i.path, decode_paths))
    return obj, ctx.issues, ctx.warnings


def _under_any(path: str, roots: Sequence[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one: a field the decoder already
    rejected keeps its default, and validating that default would report it twice."""
    return any(path == root or path.startswith((f"{root}.", f"{root}[")) for root in roots)


def prefixed(prefix: str, path: str) -> str:
    """A field path inside the document at ``prefix`` (``[2]`` + ``spec`` -> ``[2].spec``)."""
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def decode_documents(docs: Sequence[Document]) -> list[Decoded]:
    """Decode and validate every document (paths carry the document prefix)."""
    results = []
    for doc in docs:
        obj, issues, notes = decode_object(doc.data)
        results.append(
            Decoded(
                document=doc,
                object=obj,
                issues=tuple(Issue(prefixed(doc.prefix, i.path), i.message) for i in issues),
                warnings=tuple(f"{doc.prefix} {w}" if doc.prefix else w for w in notes),
            )
        )
    return results


def load_manifests(source: Any, *, on_warning: Callable[[str], None] | None = None) -> list[Any]:
    """Typed, defaulted and validated objects from manifests.

    Args:
        source: YAML text (one or more documents; empty documents are skipped), a path
            to a file or directory (``str`` ending in .yaml/.yml/.json, or a
            ``PathLike``), a dict, a list of dicts, or a ``kind: List``.
        on_warning: called with each warning; by default each becomes a
            :class:`ManifestWarning` through :mod:`warnings`.

    Raises:
        ValidationError: listing every issue of every document; nothing is returned
            unless every document is valid.
    """
    decoded = decode_documents(read_documents(source))
    for note in (w for d in decoded for w in d.warnings):
        if on_warning is not None:
            on_warning(note)
        else:
            warnings.warn(note, ManifestWarning, stacklevel=2)
    issues = [issue for d in decoded for issue in d.issues]
    if issues:
        raise ValidationError(issues)
    return [d.object for d in decoded]


def dump(obj: Any) -> dict[str, Any]:
    """A Kubernetes-shaped dict for an API object, without defaulted fields:
    ``load_manifests(dump(obj))[0] == obj``."""
    info = kind_info(obj)
    body = encode(obj)
    return {"apiVersion": info.api_version, "kind": info.kind, **body}
