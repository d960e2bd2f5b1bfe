"""orbit's service proxy: every TCP port of a Service becomes an asyncio TCP listener
that spreads connections over the Service's ready endpoints (kube-proxy's job, done
in-process). See ``docs/services.md``.

``ServiceProxy`` is the whole of it; the rest is what a caller may want to name: the
annotations a Service can carry, the balancing policies, an endpoint, and the shape of
a port allocator.
"""

from ._balance import POLICIES as POLICIES
from ._balance import Endpoint as Endpoint
from ._balance import Policy as Policy
from ._listener import PortSource as PortSource
from ._plan import LB_POLICY_ANNOTATION as LB_POLICY_ANNOTATION
from ._plan import LISTEN_PORT_ANNOTATION as LISTEN_PORT_ANNOTATION
from ._proxy import NotServed as NotServed
from ._proxy import ServiceProxy as ServiceProxy

__all__ = [
    "Endpoint",
    "LB_POLICY_ANNOTATION",
    "LISTEN_PORT_ANNOTATION",
    "NotServed",
    "POLICIES",
    "Policy",
    "PortSource",
    "ServiceProxy",
]
