"""List, then watch, one kind for the proxy; list again when the watch expires.

The controllers share informers (``orbit.controllers.Informers``), but the proxy sits
beside the controllers, not above them, and needs only two kinds: this is the informer
pattern in a dozen lines. A handler sees the whole kind after every list (so it can
tell what was deleted while it was not watching) and every event in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from orbit.errors import ResourceExpired
from orbit.store import EventType, KindRef, Store

__all__ = ["follow"]

_log = logging.getLogger("orbit.net")


async def follow(
    store: Store,
    kind: KindRef,
    resource_version: str,
    *,
    listed: Callable[[list[Any]], None],
    changed: Callable[[EventType, Any], None],
) -> None:
    """Hand ``changed`` every event of ``kind`` after ``resource_version`` (the caller
    listed up to there); after an expired watch, hand ``listed`` a fresh list and go
    on from it. Returns when the store closes its watches."""
    while True:
        try:
            async with store.watch(kind, resource_version=resource_version) as watch:
                async for event in watch:
                    _guarded(changed, event.type, event.object)
            return
        except ResourceExpired:
            _log.warning("the proxy's %s watch expired: listing again", kind)
            items, resource_version = store.list(kind)
            _guarded(listed, items)


def _guarded(handler: Callable[..., None], *args: Any) -> None:
    """A failing handler is logged; the watch goes on."""
    try:
        handler(*args)
    except Exception:
        _log.exception("the service proxy failed to handle a change")
