"""The versioned object store: every object of a cluster, with watch.

``MemoryStore`` is the default (and, for now, only) backend; ``Store`` is the protocol
every backend implements. CRUD is synchronous, watching asynchronous.
"""

from ._admission import AdmissionBatch as AdmissionBatch
from ._admission import AdmissionPlugin as AdmissionPlugin
from ._admission import AdmissionRequest as AdmissionRequest
from ._admission import Operation as Operation
from ._events import EventRecorder as EventRecorder
from ._events import reference_to as reference_to
from ._index import OWNER_UID_FIELD as OWNER_UID_FIELD
from ._leases import Leases as Leases
from ._memory import MemoryStore as MemoryStore
from ._protocol import FieldSelectorLike as FieldSelectorLike
from ._protocol import KindRef as KindRef
from ._protocol import LabelSelectorLike as LabelSelectorLike
from ._protocol import ListResult as ListResult
from ._protocol import Store as Store
from ._watch import EventType as EventType
from ._watch import Watch as Watch
from ._watch import WatchEvent as WatchEvent

__all__ = [
    "AdmissionBatch",
    "AdmissionPlugin",
    "AdmissionRequest",
    "EventRecorder",
    "EventType",
    "FieldSelectorLike",
    "KindRef",
    "LabelSelectorLike",
    "Leases",
    "ListResult",
    "MemoryStore",
    "OWNER_UID_FIELD",
    "Operation",
    "Store",
    "Watch",
    "WatchEvent",
    "reference_to",
]
