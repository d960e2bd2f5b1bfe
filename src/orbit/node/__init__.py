"""The node agent: orbit's kubelet (bound pods -> runtime containers -> pod status).

One :class:`NodeAgent` per node runs a pod worker per bound pod; the cluster feeds all
agents from one shared pod watch (:class:`PodDispatcher`) and renews their leases from
one heartbeat loop (:class:`Heartbeat`). Pure parts: crash backoff
(:class:`RestartBackoff`), pod phase and conditions (:func:`pod_phase`,
:func:`pod_conditions`), container launches (:func:`build_launch`).
"""

from ._agent import RUNTIME_LABEL as RUNTIME_LABEL
from ._agent import NodeAgent as NodeAgent
from ._backoff import BACKOFF_INITIAL_ANNOTATION as BACKOFF_INITIAL_ANNOTATION
from ._backoff import BACKOFF_MAX_ANNOTATION as BACKOFF_MAX_ANNOTATION
from ._backoff import BACKOFF_RESET_ANNOTATION as BACKOFF_RESET_ANNOTATION
from ._backoff import RestartBackoff as RestartBackoff
from ._config import Node as Node
from ._config import parse_taint as parse_taint
from ._expand import expand as expand
from ._heartbeat import Heartbeat as Heartbeat
from ._informer import PodDispatcher as PodDispatcher
from ._launch import NODE_LABEL as NODE_LABEL
from ._launch import build_launch as build_launch
from ._lifecycle import pod_conditions as pod_conditions
from ._lifecycle import pod_phase as pod_phase
from ._podports import PORTS_ANNOTATION as PORTS_ANNOTATION
from ._ports import CountingPorts as CountingPorts
from ._ports import PortAllocator as PortAllocator
from ._ports import SocketPorts as SocketPorts
from ._ports import host_ports as host_ports

__all__ = [
    "BACKOFF_INITIAL_ANNOTATION",
    "BACKOFF_MAX_ANNOTATION",
    "BACKOFF_RESET_ANNOTATION",
    "CountingPorts",
    "Heartbeat",
    "NODE_LABEL",
    "Node",
    "NodeAgent",
    "PORTS_ANNOTATION",
    "PodDispatcher",
    "PortAllocator",
    "RUNTIME_LABEL",
    "RestartBackoff",
    "SocketPorts",
    "build_launch",
    "expand",
    "host_ports",
    "parse_taint",
    "pod_conditions",
    "pod_phase",
]
