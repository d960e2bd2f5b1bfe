"""DockerNodeProvider: a node pool's nodes as logical nodes on one Docker engine.

Each node the pool creates is an :class:`orbit.Node` with its own
:class:`~orbit.runtimes.DockerRuntime` client on the same engine (so removing one node
closes only its own connections), the template's capacity as its advertised capacity,
and the pool's labels and taints. "Booting" is checking that the engine answers;
releasing has nothing to do: the cluster stopped the node's containers when it removed
the node. This is what lets the node-pool autoscaler run end to end on one machine
with real containers; a cloud provider differs only in booting a machine first (see
:mod:`orbit.autoscaling._providers`).

This is the only module of the package that names ``DockerRuntime``; it imports it on
first use, so ``import orbit`` never loads aiodocker.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from orbit.node import Node as NodeConfig
from orbit.runtimes import NetworkMode

if TYPE_CHECKING:
    from ._nodepool import NodePool

__all__ = ["DockerNodeProvider"]


class DockerNodeProvider:
    """Logical nodes on a Docker engine (module docstring).

    Args:
        url: the engine (default: ``DOCKER_HOST`` or the local socket), as
            :class:`~orbit.runtimes.DockerRuntime` takes it.
        tls: TLS for a remote engine.
        network: the containers' network mode (``host`` by default).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        network: NetworkMode = "host",
    ) -> None:
        self.url = url
        self.tls = tls
        self.network: NetworkMode = network

    async def create(self, pool: NodePool, name: str) -> NodeConfig:
        """A node of the pool on its own client of the engine, once the engine answers
        (``RuntimeFailure`` when it does not)."""
        from orbit.runtimes import DockerRuntime  # noqa: PLC0415 (aiodocker only when used)

        runtime = DockerRuntime(self.url, tls=self.tls, network=self.network)
        try:
            await runtime.ping()
        except BaseException:
            await runtime.close()
            raise
        return pool.node_config(name, runtime)

    async def delete(self, pool: NodePool, name: str) -> None:
        """Nothing to release: the cluster stopped the node's containers and closed
        its engine client when it removed the node."""
