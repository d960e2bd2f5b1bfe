"""orbit's scheduler: where every pod runs.

A Kubernetes-shaped plugin framework (queue sort, pre-filter, filter, post-filter,
pre-score, score, reserve, bind) over an immutable-per-cycle :class:`Snapshot` of the
nodes, with numpy fast paths; Kubernetes' node-local plugins and GPU device
assignment in :mod:`orbit.scheduling.plugins`; profiles chosen per pod by
``spec.schedulerName``. See ``README.md`` in this package for the pipeline. This layer
imports nothing of orbit but ``orbit.api`` and ``orbit.errors``.
"""

from ._batch import BatchOutcome as BatchOutcome
from ._batch import place_batch as place_batch
from ._binding import bound_pod as bound_pod
from ._cycle import CycleState as CycleState
from ._cycle import StateKey as StateKey
from ._framework import Framework as Framework
from ._framework import Frameworks as Frameworks
from ._framework import num_feasible_nodes_to_find as num_feasible_nodes_to_find
from ._instrument import SchedulingInstrument as SchedulingInstrument
from ._interfaces import MAX_NODE_SCORE as MAX_NODE_SCORE
from ._interfaces import MIN_NODE_SCORE as MIN_NODE_SCORE
from ._interfaces import BindPlugin as BindPlugin
from ._interfaces import FilterPlugin as FilterPlugin
from ._interfaces import FrameworkHandle as FrameworkHandle
from ._interfaces import NormalizeScorePlugin as NormalizeScorePlugin
from ._interfaces import Plugin as Plugin
from ._interfaces import PostFilterPlugin as PostFilterPlugin
from ._interfaces import PreFilterExtensionsPlugin as PreFilterExtensionsPlugin
from ._interfaces import PreFilterPlugin as PreFilterPlugin
from ._interfaces import PreScorePlugin as PreScorePlugin
from ._interfaces import QueueSortPlugin as QueueSortPlugin
from ._interfaces import ReservePlugin as ReservePlugin
from ._interfaces import ScorePlugin as ScorePlugin
from ._interfaces import VectorFilterPlugin as VectorFilterPlugin
from ._interfaces import VectorScorePlugin as VectorScorePlugin
from ._nodeinfo import GPU_DEVICES_ANNOTATION as GPU_DEVICES_ANNOTATION
from ._nodeinfo import NodeInfo as NodeInfo
from ._nodeinfo import PodInfo as PodInfo
from ._nodeinfo import pod_key as pod_key
from ._pack import PackResult as PackResult
from ._pack import pack as pack
from ._placement import PlacementProblem as PlacementProblem
from ._placement import PlacementSolution as PlacementSolution
from ._placement import SpreadGroup as SpreadGroup
from ._profile import PluginRef as PluginRef
from ._profile import Profile as Profile
from ._profile import default_profiles as default_profiles
from ._queue import QueuedPod as QueuedPod
from ._queue import SchedulingQueue as SchedulingQueue
from ._queue import pod_priority as pod_priority
from ._queue import priority_less as priority_less
from ._registry import PluginFactory as PluginFactory
from ._registry import Registry as Registry
from ._registry import default_registry as default_registry
from ._resources import POD_MILLI as POD_MILLI
from ._resources import PodResources as PodResources
from ._resources import node_allocatable as node_allocatable
from ._resources import pod_resources as pod_resources
from ._result import Diagnosis as Diagnosis
from ._result import NodeScores as NodeScores
from ._result import NodeStatuses as NodeStatuses
from ._result import ScheduleResult as ScheduleResult
from ._result import fit_error_message as fit_error_message
from ._snapshot import LabelColumn as LabelColumn
from ._snapshot import NodeIndex as NodeIndex
from ._snapshot import Snapshot as Snapshot
from ._snapshot import TaintGroups as TaintGroups
from ._status import SUCCESS as SUCCESS
from ._status import Code as Code
from ._status import FilterAllResult as FilterAllResult
from ._status import PostFilterResult as PostFilterResult
from ._status import PreFilterResult as PreFilterResult
from ._status import Status as Status
from ._strategies import Strategy as Strategy
from ._strategies import register_strategy as register_strategy
from ._strategies import strategies as strategies
from ._strategies import unregister_strategy as unregister_strategy

__all__ = [
    "BatchOutcome",
    "BindPlugin",
    "Code",
    "CycleState",
    "Diagnosis",
    "FilterAllResult",
    "FilterPlugin",
    "Framework",
    "FrameworkHandle",
    "Frameworks",
    "GPU_DEVICES_ANNOTATION",
    "LabelColumn",
    "MAX_NODE_SCORE",
    "MIN_NODE_SCORE",
    "NodeIndex",
    "NodeInfo",
    "NodeScores",
    "NodeStatuses",
    "NormalizeScorePlugin",
    "POD_MILLI",
    "PackResult",
    "PlacementProblem",
    "PlacementSolution",
    "Plugin",
    "PluginFactory",
    "PluginRef",
    "PodInfo",
    "PodResources",
    "PostFilterPlugin",
    "PostFilterResult",
    "PreFilterExtensionsPlugin",
    "PreFilterPlugin",
    "PreFilterResult",
    "PreScorePlugin",
    "Profile",
    "QueueSortPlugin",
    "QueuedPod",
    "Registry",
    "ReservePlugin",
    "SUCCESS",
    "ScheduleResult",
    "SchedulingInstrument",
    "SchedulingQueue",
    "ScorePlugin",
    "Snapshot",
    "SpreadGroup",
    "StateKey",
    "Status",
    "Strategy",
    "TaintGroups",
    "VectorFilterPlugin",
    "VectorScorePlugin",
    "bound_pod",
    "default_profiles",
    "default_registry",
    "fit_error_message",
    "node_allocatable",
    "num_feasible_nodes_to_find",
    "pack",
    "place_batch",
    "pod_key",
    "pod_priority",
    "pod_resources",
    "priority_less",
    "register_strategy",
    "strategies",
    "unregister_strategy",
]
