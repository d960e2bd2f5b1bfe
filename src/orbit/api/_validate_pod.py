"""Validation of pods and pod templates: the PodSpec rules every workload shares.

:func:`validate_pod_spec` is Kubernetes' ``ValidatePodSpec`` for the fields orbit
models; :func:`validate_pod_template` adds the template's labels and the restart
policies a controller allows (Deployments and ReplicaSets ``Always``, Jobs
``OnFailure`` or ``Never``), and :func:`validate_template_selector` the rule that a
controller's selector must select the pods its template stamps out. Deployment,
ReplicaSet, Job and CronJob all validate their template through these three.

orbit runs emptyDir, hostPath, configMap and secret volumes; a volume whose source is
something else (a persistentVolumeClaim, which the codec reports as ignored) has no
source left, and is refused with a message naming the sources orbit supports.
"""

from __future__ import annotations

from collections.abc import Collection

from orbit.errors import Issue

from ._names import (
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    validate_labels,
)
from ._pod import KeyToPath, Pod, PodSpec, PodTemplateSpec, Volume
from ._selector import LabelSelector, selector_from_label_selector, validate_label_selector
from ._validate_container import validate_container, validate_security_ids
from ._validate_meta import (
    child,
    duplicate,
    forbidden,
    invalid,
    nonnegative,
    required,
    unsupported,
    validate_labels_and_annotations,
    validate_name,
    validate_object_meta,
)
from ._validate_scheduling import validate_affinity, validate_tolerations, validate_topology_spread
from ._validation import validator

__all__ = ["validate_pod_spec", "validate_pod_template", "validate_template_selector"]

_MAX_INT32 = 2**31 - 1
_SUPPORTED_SOURCES = "emptyDir, hostPath, configMap or secret"


def validate_pod_spec(spec: PodSpec, path: str) -> list[Issue]:
    """Every problem with a PodSpec at ``path`` (``spec`` or ``spec.template.spec``)."""
    volume_issues, volumes = _validate_volumes(spec.volumes, child(path, "volumes"))
    issues = _validate_containers(spec, path, volumes)
    issues.extend(volume_issues)
    grace = spec.termination_grace_period_seconds
    issues.extend(nonnegative(grace, child(path, "terminationGracePeriodSeconds")))
    deadline = spec.active_deadline_seconds
    if deadline is not None and not 1 <= deadline <= _MAX_INT32:
        detail = f"must be between 1 and {_MAX_INT32}, inclusive"
        issues.append(invalid(child(path, "activeDeadlineSeconds"), deadline, detail))
    issues.extend(validate_labels(spec.node_selector, child(path, "nodeSelector")))
    if spec.node_name:
        issues.extend(validate_name(spec.node_name, child(path, "nodeName")))
    issues.extend(validate_affinity(spec.affinity, child(path, "affinity")))
    issues.extend(validate_tolerations(spec.tolerations, child(path, "tolerations")))
    issues.extend(
        validate_topology_spread(
            spec.topology_spread_constraints, child(path, "topologySpreadConstraints")
        )
    )
    if spec.priority_class_name:
        where = child(path, "priorityClassName")
        issues.extend(validate_name(spec.priority_class_name, where, is_dns1123_subdomain))
    for field, value in (("hostname", spec.hostname), ("subdomain", spec.subdomain)):
        if value:
            issues.extend(validate_name(value, child(path, field), is_dns1123_label))
    if spec.security_context is not None:
        sc = spec.security_context
        where = child(path, "securityContext")
        ids = [
            (child(where, "runAsUser"), sc.run_as_user),
            (child(where, "runAsGroup"), sc.run_as_group),
            (child(where, "fsGroup"), sc.fs_group),
        ]
        groups = child(where, "supplementalGroups")
        ids.extend((child(groups, i), group) for i, group in enumerate(sc.supplemental_groups))
        issues.extend(validate_security_ids(ids))
    return issues


def _validate_containers(spec: PodSpec, path: str, volumes: Collection[str]) -> list[Issue]:
    """App containers (at least one), then init containers; names unique across both."""
    issues: list[Issue] = []
    if not spec.containers:
        issues.append(required(child(path, "containers")))
    names: set[str] = set()
    for field, containers, init in (
        ("containers", spec.containers, False),
        ("initContainers", spec.init_containers, True),
    ):
        for index, container in enumerate(containers):
            where = child(child(path, field), index)
            issues.extend(validate_container(container, where, volumes=volumes, init=init))
            if container.name and container.name in names:
                issues.append(duplicate(child(where, "name"), container.name))
            names.add(container.name)
    return issues


def _validate_volumes(volumes: tuple[Volume, ...], path: str) -> tuple[list[Issue], set[str]]:
    """Kubernetes' ``ValidateVolumes``: unique names and exactly one source each."""
    issues: list[Issue] = []
    names: set[str] = set()
    for index, volume in enumerate(volumes):
        where = child(path, index)
        name_issues = validate_name(volume.name, child(where, "name"), is_dns1123_label)
        issues.extend(name_issues)
        if volume.name in names:
            issues.append(duplicate(child(where, "name"), volume.name))
        elif not name_issues:
            names.add(volume.name)
        issues.extend(_validate_volume_source(volume, where))
    return issues, names


def _validate_volume_source(volume: Volume, path: str) -> list[Issue]:
    sources = volume.sources()
    if not sources:
        detail = f"must specify a volume type orbit supports: {_SUPPORTED_SOURCES}"
        return [required(path, detail)]
    issues = [
        forbidden(child(path, source), "may not specify more than 1 volume type")
        for source in sources[1:]
    ]
    if volume.host_path is not None and not volume.host_path.path:
        issues.append(required(child(child(path, "hostPath"), "path")))
    size_limit = volume.empty_dir.size_limit if volume.empty_dir is not None else None
    if size_limit is not None and size_limit.sign() < 0:
        where = child(child(path, "emptyDir"), "sizeLimit")
        issues.append(forbidden(where, "SizeLimit field must be a valid resource quantity"))
    if volume.config_map is not None:
        source_path = child(path, "configMap")
        issues.extend(validate_name(volume.config_map.name, child(source_path, "name")))
        issues.extend(
            _validate_projection(
                volume.config_map.items, volume.config_map.default_mode, source_path
            )
        )
    if volume.secret is not None:
        source_path = child(path, "secret")
        issues.extend(validate_name(volume.secret.secret_name, child(source_path, "secretName")))
        issues.extend(
            _validate_projection(volume.secret.items, volume.secret.default_mode, source_path)
        )
    return issues


def _validate_mode(mode: int | None, path: str) -> list[Issue]:
    if mode is None or 0 <= mode <= 0o777:
        return []
    return [invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")]


def _validate_projection(items: tuple[KeyToPath, ...], default_mode: int, path: str) -> list[Issue]:
    """Kubernetes' ``validateKeyToPath`` for each item, and the default file mode."""
    issues = _validate_mode(default_mode, child(path, "defaultMode"))
    for index, item in enumerate(items):
        where = child(child(path, "items"), index)
        if not item.key:
            issues.append(required(child(where, "key")))
        else:
            issues.extend(
                invalid(child(where, "key"), item.key, m) for m in is_config_map_key(item.key)
            )
        if not item.path:
            issues.append(required(child(where, "path")))
        else:
            parts = item.path.split("/")
            if item.path.startswith("/"):
                issues.append(invalid(child(where, "path"), item.path, "must be a relative path"))
            if ".." in parts:
                issues.append(invalid(child(where, "path"), item.path, "must not contain '..'"))
            elif parts[0].startswith(".."):
                issues.append(invalid(child(where, "path"), item.path, "must not start with '..'"))
        issues.extend(_validate_mode(item.mode, child(where, "mode")))
    return issues


def validate_pod_template(
    template: PodTemplateSpec, path: str, *, restart_policies: tuple[str, ...] = ()
) -> list[Issue]:
    """Kubernetes' ``ValidatePodTemplateSpec`` at ``path`` (``spec.template``), plus the
    restart policies the owning controller allows (all of them when empty)."""
    issues = validate_labels_and_annotations(template.metadata, child(path, "metadata"))
    spec_path = child(path, "spec")
    issues.extend(validate_pod_spec(template.spec, spec_path))
    policy = template.spec.restart_policy
    if restart_policies and policy not in restart_policies:
        where = child(spec_path, "restartPolicy")
        if policy == "Always" and "Always" not in restart_policies:
            choices = ", ".join(f'"{p}"' for p in restart_policies)
            issues.append(required(where, f"valid values: {choices}"))
        else:
            issues.append(unsupported(where, policy, restart_policies))
    return issues


def validate_template_selector(
    selector: LabelSelector | None,
    template: PodTemplateSpec,
    path: str,
    *,
    empty_message: str | None = None,
) -> list[Issue]:
    """A controller's ``spec.selector`` (``path`` is the spec's path): present, valid,
    non-empty when ``empty_message`` says why it may not be, and matching the
    template's labels (reported at ``<path>.template.metadata.labels``)."""
    where = child(path, "selector")
    if selector is None:
        return [required(where)]
    issues = validate_label_selector(selector, where)
    if empty_message and not selector.match_labels and not selector.match_expressions:
        issues.append(invalid(where, selector, empty_message))
    if not issues and not selector_from_label_selector(selector).matches(template.metadata.labels):
        labels_path = child(child(child(path, "template"), "metadata"), "labels")
        labels = dict(template.metadata.labels)
        issues.append(invalid(labels_path, labels, "`selector` does not match template `labels`"))
    return issues


@validator(Pod)
def _validate_pod(pod: Pod) -> list[Issue]:
    issues = validate_object_meta(pod.metadata)
    issues.extend(validate_pod_spec(pod.spec, "spec"))
    return issues
