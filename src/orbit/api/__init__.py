"""orbit's API: typed, immutable objects for every kind orbit runs, quantities,
label selectors, and manifest load/dump. This layer imports nothing of orbit but
``orbit.errors``."""

# Validators register themselves on import.
from . import _validate_all as _validate_all
from ._affinity import Affinity as Affinity
from ._affinity import NodeAffinity as NodeAffinity
from ._affinity import NodeSelector as NodeSelector
from ._affinity import NodeSelectorRequirement as NodeSelectorRequirement
from ._affinity import NodeSelectorTerm as NodeSelectorTerm
from ._affinity import PodAffinity as PodAffinity
from ._affinity import PodAffinityTerm as PodAffinityTerm
from ._affinity import PodAntiAffinity as PodAntiAffinity
from ._affinity import PreferredSchedulingTerm as PreferredSchedulingTerm
from ._affinity import Taint as Taint
from ._affinity import Toleration as Toleration
from ._affinity import TopologySpreadConstraint as TopologySpreadConstraint
from ._affinity import WeightedPodAffinityTerm as WeightedPodAffinityTerm
from ._autoscaling import (
    ACTIVATION_THRESHOLD_ANNOTATION_PREFIX as ACTIVATION_THRESHOLD_ANNOTATION_PREFIX,
)
from ._autoscaling import AUTOSCALING_V1 as AUTOSCALING_V1
from ._autoscaling import (
    DEFAULT_DOWNSCALE_STABILIZATION_SECONDS as DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
)
from ._autoscaling import DEFAULT_METRICS as DEFAULT_METRICS
from ._autoscaling import DEFAULT_SCALE_DOWN_RULES as DEFAULT_SCALE_DOWN_RULES
from ._autoscaling import DEFAULT_SCALE_UP_RULES as DEFAULT_SCALE_UP_RULES
from ._autoscaling import PROMQL_ANNOTATION_PREFIX as PROMQL_ANNOTATION_PREFIX
from ._autoscaling import ContainerResourceMetricSource as ContainerResourceMetricSource
from ._autoscaling import ContainerResourceMetricStatus as ContainerResourceMetricStatus
from ._autoscaling import CrossVersionObjectReference as CrossVersionObjectReference
from ._autoscaling import ExternalMetricSource as ExternalMetricSource
from ._autoscaling import ExternalMetricStatus as ExternalMetricStatus
from ._autoscaling import HorizontalPodAutoscaler as HorizontalPodAutoscaler
from ._autoscaling import HorizontalPodAutoscalerBehavior as HorizontalPodAutoscalerBehavior
from ._autoscaling import HorizontalPodAutoscalerCondition as HorizontalPodAutoscalerCondition
from ._autoscaling import HorizontalPodAutoscalerSpec as HorizontalPodAutoscalerSpec
from ._autoscaling import HorizontalPodAutoscalerStatus as HorizontalPodAutoscalerStatus
from ._autoscaling import HPAScalingPolicy as HPAScalingPolicy
from ._autoscaling import HPAScalingRules as HPAScalingRules
from ._autoscaling import MetricIdentifier as MetricIdentifier
from ._autoscaling import MetricSpec as MetricSpec
from ._autoscaling import MetricStatus as MetricStatus
from ._autoscaling import MetricTarget as MetricTarget
from ._autoscaling import MetricValueStatus as MetricValueStatus
from ._autoscaling import ObjectMetricSource as ObjectMetricSource
from ._autoscaling import ObjectMetricStatus as ObjectMetricStatus
from ._autoscaling import PodsMetricSource as PodsMetricSource
from ._autoscaling import PodsMetricStatus as PodsMetricStatus
from ._autoscaling import ResourceMetricSource as ResourceMetricSource
from ._autoscaling import ResourceMetricStatus as ResourceMetricStatus
from ._autoscaling import from_autoscaling_v1 as from_autoscaling_v1
from ._batch import CronJob as CronJob
from ._batch import CronJobSpec as CronJobSpec
from ._batch import CronJobStatus as CronJobStatus
from ._batch import Job as Job
from ._batch import JobCondition as JobCondition
from ._batch import JobSpec as JobSpec
from ._batch import JobStatus as JobStatus
from ._batch import JobTemplateSpec as JobTemplateSpec
from ._batch import PodFailurePolicy as PodFailurePolicy
from ._batch import PodFailurePolicyOnExitCodesRequirement as PodFailurePolicyOnExitCodesRequirement
from ._batch import PodFailurePolicyOnPodConditionsPattern as PodFailurePolicyOnPodConditionsPattern
from ._batch import PodFailurePolicyRule as PodFailurePolicyRule
from ._codec import encode as encode
from ._config import ConfigMap as ConfigMap
from ._config import Secret as Secret
from ._container import Capabilities as Capabilities
from ._container import ConfigMapEnvSource as ConfigMapEnvSource
from ._container import ConfigMapKeySelector as ConfigMapKeySelector
from ._container import Container as Container
from ._container import ContainerPort as ContainerPort
from ._container import EnvFromSource as EnvFromSource
from ._container import EnvVar as EnvVar
from ._container import EnvVarSource as EnvVarSource
from ._container import ExecAction as ExecAction
from ._container import GRPCAction as GRPCAction
from ._container import HTTPGetAction as HTTPGetAction
from ._container import HTTPHeader as HTTPHeader
from ._container import ObjectFieldSelector as ObjectFieldSelector
from ._container import Probe as Probe
from ._container import ResourceFieldSelector as ResourceFieldSelector
from ._container import ResourceRequirements as ResourceRequirements
from ._container import SecretEnvSource as SecretEnvSource
from ._container import SecretKeySelector as SecretKeySelector
from ._container import SecurityContext as SecurityContext
from ._container import TCPSocketAction as TCPSocketAction
from ._container import VolumeMount as VolumeMount
from ._cron import MISSED_SCHEDULES_LIMIT as MISSED_SCHEDULES_LIMIT
from ._cron import CronSchedule as CronSchedule
from ._cron import most_recent_missed as most_recent_missed
from ._cron import validate_schedule as validate_schedule
from ._cron import validate_time_zone as validate_time_zone
from ._event import Event as Event
from ._event import EventSeries as EventSeries
from ._event import EventSource as EventSource
from ._event import ObjectReference as ObjectReference
from ._fields import FieldRequirement as FieldRequirement
from ._fields import FieldSelector as FieldSelector
from ._fields import as_field_selector as as_field_selector
from ._fields import parse_field_selector as parse_field_selector
from ._labels import Requirement as Requirement
from ._labels import Selector as Selector
from ._labels import SelectorOperator as SelectorOperator
from ._labels import parse_selector as parse_selector
from ._load import Decoded as Decoded
from ._load import Document as Document
from ._load import ManifestWarning as ManifestWarning
from ._load import decode_documents as decode_documents
from ._load import decode_object as decode_object
from ._load import dump as dump
from ._load import load_manifests as load_manifests
from ._load import prefixed as prefixed
from ._load import read_documents as read_documents
from ._merge import three_way_merge as three_way_merge
from ._meta import EMPTY_MAP as EMPTY_MAP
from ._meta import ApiObject as ApiObject
from ._meta import KindInfo as KindInfo
from ._meta import ObjectMeta as ObjectMeta
from ._meta import OwnerReference as OwnerReference
from ._meta import TypedObject as TypedObject
from ._meta import all_kinds as all_kinds
from ._meta import kind_info as kind_info
from ._meta import lookup_kind as lookup_kind
from ._meta import register_kind as register_kind
from ._meta import resolve_kind as resolve_kind
from ._names import DNS1035_LABEL_MAX_LENGTH as DNS1035_LABEL_MAX_LENGTH
from ._names import DNS1123_LABEL_MAX_LENGTH as DNS1123_LABEL_MAX_LENGTH
from ._names import DNS1123_SUBDOMAIN_MAX_LENGTH as DNS1123_SUBDOMAIN_MAX_LENGTH
from ._names import LABEL_VALUE_MAX_LENGTH as LABEL_VALUE_MAX_LENGTH
from ._names import QUALIFIED_NAME_MAX_LENGTH as QUALIFIED_NAME_MAX_LENGTH
from ._names import TOTAL_ANNOTATION_SIZE_LIMIT_BYTES as TOTAL_ANNOTATION_SIZE_LIMIT_BYTES
from ._names import is_c_identifier as is_c_identifier
from ._names import is_config_map_key as is_config_map_key
from ._names import is_dns1035_label as is_dns1035_label
from ._names import is_dns1123_label as is_dns1123_label
from ._names import is_dns1123_subdomain as is_dns1123_subdomain
from ._names import is_env_var_name as is_env_var_name
from ._names import is_qualified_name as is_qualified_name
from ._names import is_valid_label_value as is_valid_label_value
from ._names import is_valid_port_name as is_valid_port_name
from ._names import is_valid_port_num as is_valid_port_num
from ._names import max_len_error as max_len_error
from ._names import regex_error as regex_error
from ._names import validate_annotations as validate_annotations
from ._names import validate_annotations_size as validate_annotations_size
from ._names import validate_labels as validate_labels
from ._node import Namespace as Namespace
from ._node import NamespaceSpec as NamespaceSpec
from ._node import NamespaceStatus as NamespaceStatus
from ._node import Node as Node
from ._node import NodeAddress as NodeAddress
from ._node import NodeCondition as NodeCondition
from ._node import NodeSpec as NodeSpec
from ._node import NodeStatus as NodeStatus
from ._node import NodeSystemInfo as NodeSystemInfo
from ._pod import ConfigMapVolumeSource as ConfigMapVolumeSource
from ._pod import ContainerState as ContainerState
from ._pod import ContainerStateRunning as ContainerStateRunning
from ._pod import ContainerStateTerminated as ContainerStateTerminated
from ._pod import ContainerStateWaiting as ContainerStateWaiting
from ._pod import ContainerStatus as ContainerStatus
from ._pod import EmptyDirVolumeSource as EmptyDirVolumeSource
from ._pod import HostPathVolumeSource as HostPathVolumeSource
from ._pod import KeyToPath as KeyToPath
from ._pod import Pod as Pod
from ._pod import PodCondition as PodCondition
from ._pod import PodSecurityContext as PodSecurityContext
from ._pod import PodSpec as PodSpec
from ._pod import PodStatus as PodStatus
from ._pod import PodTemplateSpec as PodTemplateSpec
from ._pod import SecretVolumeSource as SecretVolumeSource
from ._pod import Volume as Volume
from ._policy import Condition as Condition
from ._policy import PodDisruptionBudget as PodDisruptionBudget
from ._policy import PodDisruptionBudgetSpec as PodDisruptionBudgetSpec
from ._policy import PodDisruptionBudgetStatus as PodDisruptionBudgetStatus
from ._ports import PORTS_ANNOTATION as PORTS_ANNOTATION
from ._ports import parse_port_addresses as parse_port_addresses
from ._quantity import CPU as CPU
from ._quantity import EPHEMERAL_STORAGE as EPHEMERAL_STORAGE
from ._quantity import GPU as GPU
from ._quantity import HUGEPAGES_PREFIX as HUGEPAGES_PREFIX
from ._quantity import INTEGER_RESOURCE_NAMES as INTEGER_RESOURCE_NAMES
from ._quantity import MEMORY as MEMORY
from ._quantity import PODS as PODS
from ._quantity import STANDARD_RESOURCE_NAMES as STANDARD_RESOURCE_NAMES
from ._quantity import STORAGE as STORAGE
from ._quantity import Format as Format
from ._quantity import Quantity as Quantity
from ._quantity import ResourceList as ResourceList
from ._quantity import is_extended_resource_name as is_extended_resource_name
from ._quantity import parse_quantity as parse_quantity
from ._quantity import parse_resource_list as parse_resource_list
from ._quota import LimitRange as LimitRange
from ._quota import LimitRangeItem as LimitRangeItem
from ._quota import LimitRangeSpec as LimitRangeSpec
from ._quota import ResourceQuota as ResourceQuota
from ._quota import ResourceQuotaSpec as ResourceQuotaSpec
from ._quota import ResourceQuotaStatus as ResourceQuotaStatus
from ._selector import LabelSelector as LabelSelector
from ._selector import LabelSelectorRequirement as LabelSelectorRequirement
from ._selector import as_selector as as_selector
from ._selector import selector_from_label_selector as selector_from_label_selector
from ._selector import validate_label_selector as validate_label_selector
from ._service import ClientIPConfig as ClientIPConfig
from ._service import EndpointAddress as EndpointAddress
from ._service import EndpointPort as EndpointPort
from ._service import Endpoints as Endpoints
from ._service import EndpointSubset as EndpointSubset
from ._service import LoadBalancerIngress as LoadBalancerIngress
from ._service import LoadBalancerStatus as LoadBalancerStatus
from ._service import PortStatus as PortStatus
from ._service import Service as Service
from ._service import ServicePort as ServicePort
from ._service import ServiceSpec as ServiceSpec
from ._service import ServiceStatus as ServiceStatus
from ._service import SessionAffinityConfig as SessionAffinityConfig
from ._validation import validate as validate
from ._validation import validator as validator
from ._workloads import Deployment as Deployment
from ._workloads import DeploymentCondition as DeploymentCondition
from ._workloads import DeploymentSpec as DeploymentSpec
from ._workloads import DeploymentStatus as DeploymentStatus
from ._workloads import DeploymentStrategy as DeploymentStrategy
from ._workloads import ReplicaSet as ReplicaSet
from ._workloads import ReplicaSetCondition as ReplicaSetCondition
from ._workloads import ReplicaSetSpec as ReplicaSetSpec
from ._workloads import ReplicaSetStatus as ReplicaSetStatus
from ._workloads import RollingUpdateDeployment as RollingUpdateDeployment

__all__ = [
    "ACTIVATION_THRESHOLD_ANNOTATION_PREFIX",
    "AUTOSCALING_V1",
    "Affinity",
    "ApiObject",
    "CPU",
    "Capabilities",
    "ClientIPConfig",
    "Condition",
    "ConfigMap",
    "ConfigMapEnvSource",
    "ConfigMapKeySelector",
    "ConfigMapVolumeSource",
    "Container",
    "ContainerPort",
    "ContainerResourceMetricSource",
    "ContainerResourceMetricStatus",
    "ContainerState",
    "ContainerStateRunning",
    "ContainerStateTerminated",
    "ContainerStateWaiting",
    "ContainerStatus",
    "CronJob",
    "CronJobSpec",
    "CronJobStatus",
    "CronSchedule",
    "CrossVersionObjectReference",
    "DEFAULT_DOWNSCALE_STABILIZATION_SECONDS",
    "DEFAULT_METRICS",
    "DEFAULT_SCALE_DOWN_RULES",
    "DEFAULT_SCALE_UP_RULES",
    "DNS1035_LABEL_MAX_LENGTH",
    "DNS1123_LABEL_MAX_LENGTH",
    "DNS1123_SUBDOMAIN_MAX_LENGTH",
    "Decoded",
    "Deployment",
    "DeploymentCondition",
    "DeploymentSpec",
    "DeploymentStatus",
    "DeploymentStrategy",
    "Document",
    "EMPTY_MAP",
    "EPHEMERAL_STORAGE",
    "EmptyDirVolumeSource",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSubset",
    "Endpoints",
    "EnvFromSource",
    "EnvVar",
    "EnvVarSource",
    "Event",
    "EventSeries",
    "EventSource",
    "ExecAction",
    "ExternalMetricSource",
    "ExternalMetricStatus",
    "FieldRequirement",
    "FieldSelector",
    "Format",
    "GPU",
    "GRPCAction",
    "HPAScalingPolicy",
    "HPAScalingRules",
    "HTTPGetAction",
    "HTTPHeader",
    "HUGEPAGES_PREFIX",
    "HorizontalPodAutoscaler",
    "HorizontalPodAutoscalerBehavior",
    "HorizontalPodAutoscalerCondition",
    "HorizontalPodAutoscalerSpec",
    "HorizontalPodAutoscalerStatus",
    "HostPathVolumeSource",
    "INTEGER_RESOURCE_NAMES",
    "Job",
    "JobCondition",
    "JobSpec",
    "JobStatus",
    "JobTemplateSpec",
    "KeyToPath",
    "KindInfo",
    "LABEL_VALUE_MAX_LENGTH",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LimitRange",
    "LimitRangeItem",
    "LimitRangeSpec",
    "LoadBalancerIngress",
    "LoadBalancerStatus",
    "MEMORY",
    "MISSED_SCHEDULES_LIMIT",
    "ManifestWarning",
    "MetricIdentifier",
    "MetricSpec",
    "MetricStatus",
    "MetricTarget",
    "MetricValueStatus",
    "Namespace",
    "NamespaceSpec",
    "NamespaceStatus",
    "Node",
    "NodeAddress",
    "NodeAffinity",
    "NodeCondition",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "NodeSpec",
    "NodeStatus",
    "NodeSystemInfo",
    "ObjectFieldSelector",
    "ObjectMeta",
    "ObjectMetricSource",
    "ObjectMetricStatus",
    "ObjectReference",
    "OwnerReference",
    "PODS",
    "PORTS_ANNOTATION",
    "PROMQL_ANNOTATION_PREFIX",
    "Pod",
    "PodAffinity",
    "PodAffinityTerm",
    "PodAntiAffinity",
    "PodCondition",
    "PodDisruptionBudget",
    "PodDisruptionBudgetSpec",
    "PodDisruptionBudgetStatus",
    "PodFailurePolicy",
    "PodFailurePolicyOnExitCodesRequirement",
    "PodFailurePolicyOnPodConditionsPattern",
    "PodFailurePolicyRule",
    "PodSecurityContext",
    "PodSpec",
    "PodStatus",
    "PodTemplateSpec",
    "PodsMetricSource",
    "PodsMetricStatus",
    "PortStatus",
    "PreferredSchedulingTerm",
    "Probe",
    "QUALIFIED_NAME_MAX_LENGTH",
    "Quantity",
    "ReplicaSet",
    "ReplicaSetCondition",
    "ReplicaSetSpec",
    "ReplicaSetStatus",
    "Requirement",
    "ResourceFieldSelector",
    "ResourceList",
    "ResourceMetricSource",
    "ResourceMetricStatus",
    "ResourceQuota",
    "ResourceQuotaSpec",
    "ResourceQuotaStatus",
    "ResourceRequirements",
    "RollingUpdateDeployment",
    "STANDARD_RESOURCE_NAMES",
    "STORAGE",
    "Secret",
    "SecretEnvSource",
    "SecretKeySelector",
    "SecretVolumeSource",
    "SecurityContext",
    "Selector",
    "SelectorOperator",
    "Service",
    "ServicePort",
    "ServiceSpec",
    "ServiceStatus",
    "SessionAffinityConfig",
    "TCPSocketAction",
    "TOTAL_ANNOTATION_SIZE_LIMIT_BYTES",
    "Taint",
    "Toleration",
    "TopologySpreadConstraint",
    "TypedObject",
    "Volume",
    "VolumeMount",
    "WeightedPodAffinityTerm",
    "all_kinds",
    "as_field_selector",
    "as_selector",
    "decode_documents",
    "decode_object",
    "dump",
    "encode",
    "from_autoscaling_v1",
    "is_c_identifier",
    "is_config_map_key",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_env_var_name",
    "is_extended_resource_name",
    "is_qualified_name",
    "is_valid_label_value",
    "is_valid_port_name",
    "is_valid_port_num",
    "kind_info",
    "load_manifests",
    "lookup_kind",
    "max_len_error",
    "most_recent_missed",
    "parse_field_selector",
    "parse_port_addresses",
    "parse_quantity",
    "parse_resource_list",
    "parse_selector",
    "prefixed",
    "read_documents",
    "regex_error",
    "register_kind",
    "resolve_kind",
    "selector_from_label_selector",
    "three_way_merge",
    "validate",
    "validate_annotations",
    "validate_annotations_size",
    "validate_label_selector",
    "validate_labels",
    "validate_schedule",
    "validate_time_zone",
    "validator",
]
