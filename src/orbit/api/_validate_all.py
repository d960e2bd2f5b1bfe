"""Imports every validator module so their rules register with ``_validation``.

``orbit.api`` imports this module first; each ``_validate_*`` module registers its
kinds' validators with :func:`~orbit.api._validation.validator` on import.
"""

from . import (  # noqa: F401
    _validate_autoscaling,
    _validate_batch,
    _validate_misc,
    _validate_pod,
    _validate_quota,
    _validate_service,
    _validate_workloads,
)
