"""The ``orbit.dev/ports`` annotation: where the node agent published each of a pod's
ports (``{"http": "127.0.0.1:41234", "8080": "[::1]:41235"}``). The node agent writes
it; the endpoints controller, the cluster and users read it. One name and one parser
for all of them."""

from __future__ import annotations

import json

__all__ = ["PORTS_ANNOTATION", "parse_port_addresses"]

PORTS_ANNOTATION = "orbit.dev/ports"


def parse_port_addresses(text: str | None) -> dict[str, tuple[str, int]]:
    """Port key -> (host, host port) from an ``orbit.dev/ports`` value; an IPv6 host
    loses its brackets (``[::1]:80`` -> ``("::1", 80)``); an entry whose port is not a
    number, or a value that is not a JSON object, is skipped. The host may be empty
    for an entry written without one."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    found: dict[str, tuple[str, int]] = {}
    if not isinstance(raw, dict):
        return found
    for key, where in raw.items():
        host, _, port = str(where).rpartition(":")
        if port.isdigit():
            found[str(key)] = (host.removeprefix("[").removesuffix("]"), int(port))
    return found
