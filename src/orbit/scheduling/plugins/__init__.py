"""orbit's built-in scheduler plugins: Kubernetes' node-local plugins, exact to their
formulas and messages, plus GPU device assignment and the GPU-avoidance policy.

Each plugin has a registry factory ``Plugin.new(args, handle)``; profiles name them.
"""

from ._allocation import ResourceSpec as ResourceSpec
from ._allocation import UtilizationShapePoint as UtilizationShapePoint
from ._balanced import BalancedAllocationArgs as BalancedAllocationArgs
from ._balanced import NodeResourcesBalancedAllocation as NodeResourcesBalancedAllocation
from ._basic import DefaultBinder as DefaultBinder
from ._basic import NodeName as NodeName
from ._basic import PrioritySort as PrioritySort
from ._fit import NodeResourcesFit as NodeResourcesFit
from ._fit import NodeResourcesFitArgs as NodeResourcesFitArgs
from ._fit import ScoringStrategy as ScoringStrategy
from ._gpu import GPU_AVOIDANCE_WEIGHT as GPU_AVOIDANCE_WEIGHT
from ._gpu import GPUAvoidance as GPUAvoidance
from ._gpu import GPUDevices as GPUDevices
from ._interpod import InterPodAffinity as InterPodAffinity
from ._interpod import InterPodAffinityArgs as InterPodAffinityArgs
from ._node_affinity import NodeAffinity as NodeAffinity
from ._preemption import PREEMPTION_VICTIMS as PREEMPTION_VICTIMS
from ._preemption import DefaultPreemption as DefaultPreemption
from ._preemption import DefaultPreemptionArgs as DefaultPreemptionArgs
from ._preemption import PreemptionResult as PreemptionResult
from ._spread import PodTopologySpread as PodTopologySpread
from ._taints import NodeUnschedulable as NodeUnschedulable
from ._taints import TaintToleration as TaintToleration

__all__ = [
    "BalancedAllocationArgs",
    "DefaultBinder",
    "DefaultPreemption",
    "DefaultPreemptionArgs",
    "GPUAvoidance",
    "GPUDevices",
    "GPU_AVOIDANCE_WEIGHT",
    "InterPodAffinity",
    "InterPodAffinityArgs",
    "NodeAffinity",
    "NodeName",
    "NodeResourcesBalancedAllocation",
    "NodeResourcesFit",
    "NodeResourcesFitArgs",
    "NodeUnschedulable",
    "PREEMPTION_VICTIMS",
    "PodTopologySpread",
    "PreemptionResult",
    "PrioritySort",
    "ResourceSpec",
    "ScoringStrategy",
    "TaintToleration",
    "UtilizationShapePoint",
]
