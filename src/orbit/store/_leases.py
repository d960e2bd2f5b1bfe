"""Node leases: heartbeats kept in memory, not written to the store.

Kubernetes' kubelets renew a Lease object every 10 s so the API server is not flooded
with node status writes; orbit goes one step further and keeps leases out of the store
altogether (a thousand simulated nodes renewing every 10 virtual seconds would be most
of the store's writes). The cluster owns one :class:`Leases` table: its heartbeat loop
renews the lease of every node whose runtime answers, and the node lifecycle controller
reads it to turn silent nodes NotReady (``Ready=Unknown``, the unreachable taint).

Times are whatever one clock reading the caller uses (orbit uses ``clock.monotonic()``)
and must not go backwards: the table keeps nodes in renewal order, so finding the
stale ones costs only as many steps as there are stale nodes.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Leases"]


class Leases:
    """When each node last renewed its lease, and which ones were declared lost."""

    def __init__(self) -> None:
        self._renewed: dict[str, float] = {}  # oldest renewal first
        self._expired: set[str] = set()

    def renew(self, node: str, now: float) -> bool:
        """Record a heartbeat of ``node`` at ``now``; True if the node had been
        declared lost (:meth:`mark_expired`): it is back, and should report again."""
        self._renewed.pop(node, None)
        self._renewed[node] = now
        if node in self._expired:
            self._expired.discard(node)
            return True
        return False

    def renew_many(self, nodes: Iterable[str], now: float) -> set[str]:
        """:meth:`renew` for several nodes at once; returns those that are back.

        When they are every node in the table (a healthy cluster's heartbeat round),
        the table is rebuilt in their order at once instead of moved node by node.
        """
        names = nodes if isinstance(nodes, list) else list(nodes)
        renewed = self._renewed
        if len(names) == len(renewed) and (
            list(renewed) == names or renewed.keys() == set(names)  # same order: cheaper
        ):
            self._renewed = dict.fromkeys(names, now)
        else:
            for node in names:
                renewed.pop(node, None)
                renewed[node] = now
        if not self._expired:
            return set()
        back = self._expired.intersection(names)
        self._expired -= back
        return back

    def renewed_at(self, node: str) -> float | None:
        """When ``node`` last renewed, or None if it never did (or was forgotten)."""
        return self._renewed.get(node)

    def mark_expired(self, node: str) -> None:
        """Note that ``node`` was declared lost (the lifecycle controller does)."""
        if node in self._renewed:
            self._expired.add(node)

    def expired(self, node: str) -> bool:
        """Whether ``node`` is declared lost and has not renewed since."""
        return node in self._expired

    def forget(self, node: str) -> None:
        """Drop ``node``'s lease (the node was removed)."""
        self._renewed.pop(node, None)
        self._expired.discard(node)

    def stale(self, before: float) -> list[tuple[str, float]]:
        """The nodes last renewed before ``before``, oldest first."""
        found = []
        for node, renewed in self._renewed.items():
            if renewed >= before:
                break
            found.append((node, renewed))
        return found

    def __len__(self) -> int:
        return len(self._renewed)

    def __contains__(self, node: object) -> bool:
        return node in self._renewed
