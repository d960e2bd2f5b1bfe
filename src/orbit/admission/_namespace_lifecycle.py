"""The NamespaceLifecycle admission plugin (Kubernetes'
``plugin/pkg/admission/namespace/lifecycle``): nothing new is created in a namespace
that is being deleted, whoever creates it (``cluster.apply``, a controller, a node
agent's event), so a namespace being emptied cannot fill up again behind the
namespace controller. A new Namespace gets the ``kubernetes`` finalizer in
``spec.finalizers``, as the API server gives it; the namespace controller removes it
once the namespace is empty.
"""

from __future__ import annotations

from typing import Any

import attrs

from orbit.api import Namespace
from orbit.errors import NotFound
from orbit.store import AdmissionRequest

from ._forbidden import forbidden

__all__ = ["NAMESPACE_FINALIZER", "NamespaceLifecycle"]

NAMESPACE_FINALIZER = "kubernetes"


class NamespaceLifecycle:
    """Refuses creates in a terminating namespace (module docstring)."""

    name = "NamespaceLifecycle"

    def admit(self, request: AdmissionRequest) -> Any:
        obj = request.object
        if request.operation != "CREATE":
            return obj
        if isinstance(obj, Namespace):
            if NAMESPACE_FINALIZER in obj.spec.finalizers:
                return obj
            finalizers = (*obj.spec.finalizers, NAMESPACE_FINALIZER)
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, finalizers=finalizers))
        if not request.info.namespaced:
            return obj
        try:
            namespace = request.store.get(Namespace, request.namespace)
        except NotFound:
            return obj
        if (
            namespace.metadata.deletion_timestamp is None
            and namespace.status.phase != "Terminating"
        ):
            return obj
        raise forbidden(
            request.info,
            request.name,
            f"unable to create new content in namespace {request.namespace} "
            "because it is being terminated",
        )
