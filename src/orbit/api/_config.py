"""ConfigMaps and Secrets (core ``v1``): configuration that pods read as environment
variables (``configMapKeyRef``, ``secretKeyRef``, ``envFrom``) or files (volumes).

Neither has a spec: ``data`` and friends sit next to ``metadata``. As on the wire in
Kubernetes, ``binaryData`` and a Secret's ``data`` hold base64 text; ``decoded_*``
methods give the bytes. A Secret's ``stringData`` is write-only, as in Kubernetes: it is
base64-encoded and merged into ``data`` (winning over keys already there) when the
object is built, and is always empty afterwards, so it never appears in a dump or in
the store.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import attrs

from ._meta import EMPTY_MAP, ObjectMeta, TypedObject, register_kind

__all__ = [
    "ConfigMap",
    "Secret",
]


def _decode_all(data: Mapping[str, str]) -> dict[str, bytes]:
    """Decode base64 values; line breaks are allowed (as Go's decoder allows them)."""
    return {
        key: base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
        for key, value in data.items()
    }


@register_kind("v1", plural="configmaps", short_names=("cm",))
@attrs.frozen(kw_only=True)
class ConfigMap(TypedObject):
    """Plain configuration: UTF-8 ``data`` and base64 ``binary_data`` (keys may not
    appear in both; validation checks that)."""

    metadata: ObjectMeta = ObjectMeta()
    data: Mapping[str, str] = EMPTY_MAP
    binary_data: Mapping[str, str] = EMPTY_MAP
    immutable: bool | None = None

    def decoded_binary_data(self) -> dict[str, bytes]:
        """``binary_data`` as bytes (``binascii.Error``, a ``ValueError``, if a value
        is not base64; validation rejects such objects before they are stored)."""
        return _decode_all(self.binary_data)


@register_kind("v1", plural="secrets")
@attrs.frozen(kw_only=True)
class Secret(TypedObject):
    """Sensitive configuration; ``type`` is free-form (``Opaque`` by default,
    ``kubernetes.io/tls``, ``kubernetes.io/dockerconfigjson``...)."""

    metadata: ObjectMeta = ObjectMeta()
    type: str = "Opaque"
    data: Mapping[str, str] = EMPTY_MAP
    string_data: Mapping[str, str] = EMPTY_MAP
    immutable: bool | None = None

    def __attrs_post_init__(self) -> None:
        if not self.string_data:
            return
        encoded = {
            key: base64.b64encode(value.encode()).decode("ascii")
            for key, value in self.string_data.items()
        }
        object.__setattr__(self, "data", {**self.data, **encoded})
        object.__setattr__(self, "string_data", EMPTY_MAP)

    def decoded_data(self) -> dict[str, bytes]:
        """``data`` as bytes (``binascii.Error``, a ``ValueError``, if a value is not
        base64; validation rejects such objects before they are stored)."""
        return _decode_all(self.data)
