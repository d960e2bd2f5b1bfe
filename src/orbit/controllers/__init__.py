"""orbit's control loops: each a reconcile step plus the loop that feeds it from store
watches. Controllers read and write only the store; they never call a runtime."""

from ._nodelifecycle import UNKNOWN_MESSAGE as UNKNOWN_MESSAGE
from ._nodelifecycle import UNREACHABLE_TAINT as UNREACHABLE_TAINT
from ._nodelifecycle import NodeLifecycleController as NodeLifecycleController
from ._scheduler import GANG_ANNOTATION as GANG_ANNOTATION
from ._scheduler import GANG_MIN_ANNOTATION as GANG_MIN_ANNOTATION
from ._scheduler import Scheduler as Scheduler
from ._scheduler import gang_of as gang_of
from ._scheduler import store_aware_registry as store_aware_registry

__all__ = [
    "GANG_ANNOTATION",
    "GANG_MIN_ANNOTATION",
    "UNKNOWN_MESSAGE",
    "UNREACHABLE_TAINT",
    "NodeLifecycleController",
    "Scheduler",
    "gang_of",
    "store_aware_registry",
]
