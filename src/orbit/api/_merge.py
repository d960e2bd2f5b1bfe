"""Three-way merge for ``apply``: the live object, the last applied manifest and the
new one, as kubectl's client-side apply does it.

A field the user removed from their manifest since the last apply is removed; a field
set by someone else (a controller, an autoscaler changing ``spec.replicas``) and never
part of the user's manifests is kept; everything in the new manifest wins. Maps merge
key by key; lists are replaced whole (orbit has no strategic-merge keys: a list in the
manifest is the list).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["three_way_merge"]


def three_way_merge(
    live: Mapping[str, Any], last_applied: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge ``new`` into ``live``, deleting what ``last_applied`` had and ``new`` lacks."""
    result = dict(live)
    for key in last_applied:
        if key not in new:
            result.pop(key, None)
    for key, value in new.items():
        current = live.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            previous = last_applied.get(key)
            result[key] = three_way_merge(
                current, previous if isinstance(previous, Mapping) else {}, value
            )
        else:
            result[key] = value
    return result
