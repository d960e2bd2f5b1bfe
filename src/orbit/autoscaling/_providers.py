"""Node providers: what makes and releases a node pool's machines.

A provider is cluster-autoscaler's *cloud provider* reduced to the two calls the
node-pool autoscaler makes. Adding a cloud means writing a class with these two
coroutines (no base class to inherit)::

    class MyCloudProvider:
        async def create(self, pool: NodePool, name: str) -> orbit.Node:
            # boot a machine (an instance of the pool's type), wait until its
            # container engine answers, and return the node that runs pods on it:
            machine = await my_cloud.boot(instance_type=..., name=name)
            runtime = orbit.DockerRuntime(f"tcp://{machine.address}:2376", tls=...)
            return pool.node_config(name, runtime)

        async def delete(self, pool: NodePool, name: str) -> None:
            # the cluster has drained and removed the node: release the machine
            await my_cloud.terminate(name)  # idempotent: it may be gone already

The autoscaler calls ``create`` when it decides to scale a pool up, hands the returned
node to the cluster (``Cluster.add_node``), and counts it as *upcoming* until then, so
it never asks twice for the same pods. ``create`` raising any exception is a failed
scale-up: the pool is backed off for a while and the pods may go to another pool.
``delete`` is called after the cluster stopped the node's agent and deleted its Node
object; it must tolerate names it did not create (nodes given to the cluster with the
pool's label) and names already released.

:class:`SimNodeProvider` makes simulated nodes, optionally after a boot delay on the
cluster's clock (what a cloud takes to boot a VM: about a minute); the Docker provider
(:mod:`orbit.autoscaling._docker_provider`) makes logical nodes on a local engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from orbit.clock import Clock, current_clock
from orbit.node import Node as NodeConfig
from orbit.runtimes import BehaviourHook, SimRuntime

if TYPE_CHECKING:
    from ._nodepool import NodePool

__all__ = ["NodeProvider", "SimNodeProvider"]


class NodeProvider(Protocol):
    """Makes and releases the nodes of a pool (module docstring)."""

    async def create(self, pool: NodePool, name: str) -> NodeConfig:
        """A new node of ``pool`` named ``name``, ready to be added to the cluster
        (``pool.node_config(name, runtime)`` gives it the pool's capacity, labels and
        taints). Raise to report that the machine could not be made."""
        ...

    async def delete(self, pool: NodePool, name: str) -> None:
        """Release node ``name`` of ``pool``, after the cluster removed it
        (idempotent; a name the provider never made is not an error)."""
        ...


class SimNodeProvider:
    """Simulated nodes: each a :class:`~orbit.runtimes.SimRuntime` with the template's
    capacity, made after ``boot_delay_s`` of the clock (virtual under ``simulate``).

    Args:
        boot_delay_s: how long a node takes to come up (cloud VMs: ~30-90 s).
        clock: whose time the delay runs on (default: the running loop's).
        fail: names for which ``create`` raises (to simulate a cloud refusing).
        behaviour: the behaviour hook every node's SimRuntime gets (what its
            containers do: a load model for what-if runs), as ``SimRuntime(behaviour=)``.
    """

    def __init__(
        self,
        *,
        boot_delay_s: float = 0.0,
        clock: Clock | None = None,
        fail: frozenset[str] = frozenset(),
        behaviour: BehaviourHook | None = None,
    ) -> None:
        if boot_delay_s < 0:
            raise ValueError("boot_delay_s must not be negative")
        self.boot_delay_s = boot_delay_s
        self._clock = clock
        self.fail = fail
        self.behaviour = behaviour
        self.created: list[str] = []
        self.deleted: list[str] = []

    async def create(self, pool: NodePool, name: str) -> NodeConfig:
        """Wait the boot delay, then return a simulated node of the pool's shape."""
        if self.boot_delay_s:
            await (self._clock or current_clock()).sleep(self.boot_delay_s)
        if name in self.fail:
            raise RuntimeError(f"simulated provider refused to create node {name!r}")
        capacity = {k: str(v) for k, v in (pool.template.capacity or {}).items()}
        self.created.append(name)
        return pool.node_config(name, SimRuntime(capacity, behaviour=self.behaviour))

    async def delete(self, pool: NodePool, name: str) -> None:
        """Nothing to release for a simulated node; the name is recorded."""
        self.deleted.append(name)
