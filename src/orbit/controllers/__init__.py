"""orbit's control loops: each a reconcile step plus the loop that feeds it from store
watches. Controllers read and write only the store; they never call a runtime."""

from ._conditions import set_status_condition as set_status_condition
from ._cronjob import CronJobController as CronJobController
from ._deletion import delete_object as delete_object
from ._deployment import DeploymentController as DeploymentController
from ._disruption import DisruptionController as DisruptionController
from ._drain import DrainPlan as DrainPlan
from ._drain import cordon as cordon
from ._drain import drain as drain
from ._drain import drain_plan as drain_plan
from ._drain import uncordon as uncordon
from ._endpoints import EndpointsController as EndpointsController
from ._eviction import evict as evict
from ._gc import GarbageCollector as GarbageCollector
from ._gc_plan import PropagationPolicy as PropagationPolicy
from ._informers import Informers as Informers
from ._job import JobController as JobController
from ._loop import ControllerLoop as ControllerLoop
from ._loop import Key as Key
from ._loop import KeyMapper as KeyMapper
from ._loop import Reconciler as Reconciler
from ._loop import Watched as Watched
from ._loop import controller_owner_key as controller_owner_key
from ._loop import own_key as own_key
from ._namespace import NamespaceController as NamespaceController
from ._nodelifecycle import UNKNOWN_MESSAGE as UNKNOWN_MESSAGE
from ._nodelifecycle import UNREACHABLE_TAINT as UNREACHABLE_TAINT
from ._nodelifecycle import NodeLifecycleController as NodeLifecycleController
from ._podgc import PodGCController as PodGCController
from ._replicaset import ReplicaSetController as ReplicaSetController
from ._resourcequota import ResourceQuotaController as ResourceQuotaController
from ._scheduler import GANG_ANNOTATION as GANG_ANNOTATION
from ._scheduler import GANG_MIN_ANNOTATION as GANG_MIN_ANNOTATION
from ._scheduler import Scheduler as Scheduler
from ._scheduler import gang_of as gang_of
from ._scheduler import store_aware_registry as store_aware_registry
from ._taint_eviction import DEFAULT_TOLERATION_SECONDS as DEFAULT_TOLERATION_SECONDS
from ._taint_eviction import DefaultTolerationSeconds as DefaultTolerationSeconds
from ._taint_eviction import TaintEvictionController as TaintEvictionController
from ._taint_eviction import with_default_tolerations as with_default_tolerations

__all__ = [
    "ControllerLoop",
    "CronJobController",
    "DEFAULT_TOLERATION_SECONDS",
    "DefaultTolerationSeconds",
    "DeploymentController",
    "DisruptionController",
    "DrainPlan",
    "EndpointsController",
    "GANG_ANNOTATION",
    "GANG_MIN_ANNOTATION",
    "GarbageCollector",
    "Informers",
    "JobController",
    "Key",
    "KeyMapper",
    "NamespaceController",
    "NodeLifecycleController",
    "PodGCController",
    "PropagationPolicy",
    "Reconciler",
    "ReplicaSetController",
    "ResourceQuotaController",
    "Scheduler",
    "TaintEvictionController",
    "UNKNOWN_MESSAGE",
    "UNREACHABLE_TAINT",
    "Watched",
    "controller_owner_key",
    "cordon",
    "delete_object",
    "drain",
    "drain_plan",
    "evict",
    "gang_of",
    "own_key",
    "set_status_condition",
    "store_aware_registry",
    "uncordon",
    "with_default_tolerations",
]
