"""Autoscaling: the HorizontalPodAutoscaler, its metric sources and the node-pool autoscaler.

- :class:`HPAController` runs Kubernetes' ``reconcileAutoscaler`` over
  ``autoscaling/v2`` HorizontalPodAutoscalers; its arithmetic is two pure modules, the
  replica calculator (:func:`resource_replicas` and its siblings) and the behavior
  normalization (:func:`normalize`), both ports of Kubernetes' own code.
- Metrics come through a :class:`MetricsClient`: :class:`ClusterMetrics` reads the
  runtimes' usage (Resource), scrapes each pod's Prometheus endpoint (Pods) and runs
  PromQL instant queries against a Prometheus server (Object, External).
- :class:`NodePoolAutoscaler` adds nodes from :class:`NodePool` templates when pods
  are unschedulable (planned with the real scheduler, a pool chosen by an expander)
  and drains and removes nodes that stay underused; nodes come from a
  :class:`NodeProvider` (:class:`SimNodeProvider`, :class:`DockerNodeProvider`).

See ``docs/autoscaling.md``.
"""

from ._behavior import Limited as Limited
from ._behavior import Recommendation as Recommendation
from ._behavior import ScaleEvent as ScaleEvent
from ._behavior import normalize as normalize
from ._behavior import record_scale_event as record_scale_event
from ._docker_provider import DockerNodeProvider as DockerNodeProvider
from ._expanders import EXPANDERS as EXPANDERS
from ._expanders import Expander as Expander
from ._expanders import Option as Option
from ._hpa import SCALABLE_KINDS as SCALABLE_KINDS
from ._hpa import HPAController as HPAController
from ._load import Diurnal as Diurnal
from ._load import SharedLoad as SharedLoad
from ._load import Spike as Spike
from ._load import diurnal as diurnal
from ._load import random_spikes as random_spikes
from ._nodepool import NODE_POOL_LABEL as NODE_POOL_LABEL
from ._nodepool import NodePool as NodePool
from ._nodepool_actuator import NodeHost as NodeHost
from ._nodepool_autoscaler import NodePoolAutoscaler as NodePoolAutoscaler
from ._nodepool_plan import ScaleUpPlan as ScaleUpPlan
from ._nodepool_plan import plan_scale_up as plan_scale_up
from ._nodepool_scaledown import ScaleDownRules as ScaleDownRules
from ._nodepool_scaledown import find_unneeded as find_unneeded
from ._promql import PROMQL_ANNOTATION_PREFIX as PROMQL_ANNOTATION_PREFIX
from ._promql import instant_query as instant_query
from ._promql import promql_for as promql_for
from ._providers import NodeProvider as NodeProvider
from ._providers import SimNodeProvider as SimNodeProvider
from ._replicas import PodInfo as PodInfo
from ._replicas import Proposal as Proposal
from ._replicas import ReplicaCalcError as ReplicaCalcError
from ._replicas import Sample as Sample
from ._replicas import Tuning as Tuning
from ._replicas import external_per_pod_replicas as external_per_pod_replicas
from ._replicas import external_replicas as external_replicas
from ._replicas import object_per_pod_replicas as object_per_pod_replicas
from ._replicas import object_replicas as object_replicas
from ._replicas import pods_metric_replicas as pods_metric_replicas
from ._replicas import raw_resource_replicas as raw_resource_replicas
from ._replicas import resource_replicas as resource_replicas
from ._sources import ClusterMetrics as ClusterMetrics
from ._sources import MetricsClient as MetricsClient
from ._sources import MetricsError as MetricsError

__all__ = [
    "ClusterMetrics",
    "Diurnal",
    "DockerNodeProvider",
    "EXPANDERS",
    "Expander",
    "HPAController",
    "Limited",
    "MetricsClient",
    "MetricsError",
    "NODE_POOL_LABEL",
    "NodeHost",
    "NodePool",
    "NodePoolAutoscaler",
    "NodeProvider",
    "Option",
    "PROMQL_ANNOTATION_PREFIX",
    "PodInfo",
    "Proposal",
    "Recommendation",
    "ReplicaCalcError",
    "SCALABLE_KINDS",
    "Sample",
    "ScaleDownRules",
    "ScaleEvent",
    "ScaleUpPlan",
    "SharedLoad",
    "SimNodeProvider",
    "Spike",
    "Tuning",
    "diurnal",
    "external_per_pod_replicas",
    "external_replicas",
    "find_unneeded",
    "instant_query",
    "normalize",
    "object_per_pod_replicas",
    "object_replicas",
    "plan_scale_up",
    "pods_metric_replicas",
    "promql_for",
    "random_spikes",
    "raw_resource_replicas",
    "record_scale_event",
    "resource_replicas",
]
