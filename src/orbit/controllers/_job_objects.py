"""What the Job controller writes, shaped as Kubernetes shapes it: the selector and
labels a Job gets (``generateSelector`` in the API server's job strategy), the pods it
stamps out of its template (``manageJob``), and its status conditions.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from orbit.api import (
    Container,
    EnvVar,
    EnvVarSource,
    Job,
    JobCondition,
    LabelSelector,
    ObjectFieldSelector,
    Pod,
    PodSpec,
)
from orbit.clock import to_datetime

from ._job_indexes import (
    COMPLETION_INDEX_ANNOTATION,
    INDEX_FAILURE_COUNT_ANNOTATION,
    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
    index_failure_counts,
    pod_generate_name,
)
from ._job_pods import TRACKING_FINALIZER, match_pod_failure_policy
from ._pods import pod_from_template

__all__ = [
    "COMPLETION_INDEX_ENV",
    "CONTROLLER_UID_LABEL",
    "JOB_NAME_LABEL",
    "LEGACY_CONTROLLER_UID_LABEL",
    "LEGACY_JOB_NAME_LABEL",
    "default_selector",
    "ensure_condition",
    "find_condition",
    "finish_time",
    "is_finished",
    "new_condition",
    "new_pod",
]

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"


def default_selector(job: Job) -> Job | None:
    """The Job with Kubernetes' generated selector, or ``None`` when it has it already
    or ``manualSelector`` is true: the template gets the labels
    ``batch.kubernetes.io/job-name``, ``batch.kubernetes.io/controller-uid`` and their
    legacy forms ``job-name`` / ``controller-uid`` (labels already there are kept), and
    the selector matches ``batch.kubernetes.io/controller-uid``. Kubernetes does this
    when the Job is created; orbit's API layer cannot (the uid comes from the store)."""
    spec = job.spec
    meta = job.metadata
    if spec.manual_selector or not meta.uid:
        return None
    labels = dict(spec.template.metadata.labels)
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, meta.name)
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, meta.uid)
    selector = spec.selector or LabelSelector()
    match = dict(selector.match_labels)
    match.setdefault(CONTROLLER_UID_LABEL, meta.uid)
    template = spec.template
    new_spec = attrs.evolve(
        spec,
        selector=attrs.evolve(selector, match_labels=match),
        template=attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=labels)),
    )
    return None if new_spec == spec else attrs.evolve(job, spec=new_spec)


# --- pods ------------------------------------------------------------------------------


def new_pod(job: Job, index: int | None, replaced: Pod | None = None) -> Pod:
    """A pod for ``job`` (generateName ``<job>-``) or for completion ``index``
    (``<job>-<index>-``, hostname ``<job>-<index>``, the index as annotation and label
    and as ``JOB_COMPLETION_INDEX`` in every container), holding the tracking
    finalizer, with a controller reference to the Job. With backoffLimitPerIndex,
    ``replaced`` is the index's last failed pod, whose failure counts it carries on."""
    template = job.spec.template
    spec = template.spec
    name = job.metadata.name
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    generate_name = f"{name}-"
    if index is not None:
        text = str(index)
        annotations[COMPLETION_INDEX_ANNOTATION] = text
        labels[COMPLETION_INDEX_ANNOTATION] = text
        spec = attrs.evolve(_with_index_env(spec), hostname=f"{name}-{index}")
        generate_name = pod_generate_name(name, index)
        if job.spec.backoff_limit_per_index is not None:
            annotations.update(_index_failure_annotations(job, replaced))
    pod = pod_from_template(
        attrs.evolve(template, spec=spec),
        job,
        generate_name=generate_name,
        labels=labels,
        annotations=annotations,
    )
    finalizers = template.metadata.finalizers
    if TRACKING_FINALIZER not in finalizers:
        finalizers = (*finalizers, TRACKING_FINALIZER)
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, finalizers=finalizers))


def _with_index_env(spec: PodSpec) -> PodSpec:
    """Every container (init ones too) gets ``JOB_COMPLETION_INDEX`` from the pod's
    index label, unless it sets that variable itself."""
    path = f"metadata.labels['{COMPLETION_INDEX_ANNOTATION}']"
    var = EnvVar(
        name=COMPLETION_INDEX_ENV,
        value_from=EnvVarSource(field_ref=ObjectFieldSelector(field_path=path)),
    )

    def add(containers: tuple[Container, ...]) -> tuple[Container, ...]:
        return tuple(
            c
            if any(v.name == COMPLETION_INDEX_ENV for v in c.env)
            else attrs.evolve(c, env=(*c.env, var))
            for c in containers
        )

    return attrs.evolve(
        spec, containers=add(spec.containers), init_containers=add(spec.init_containers)
    )


def _index_failure_annotations(job: Job, replaced: Pod | None) -> dict[str, str]:
    counted = ignored = 0
    if replaced is not None:
        counted, ignored = index_failure_counts(replaced)
        if match_pod_failure_policy(job.spec.pod_failure_policy, replaced).count:
            counted += 1
        else:
            ignored += 1
    result = {INDEX_FAILURE_COUNT_ANNOTATION: str(counted)}
    if ignored > 0:
        result[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored)
    return result


# --- conditions -----------------------------------------------------------------------------


def is_finished(job: Job) -> bool:
    """Complete or Failed (``IsJobFinished``)."""
    return any(
        c.type in ("Complete", "Failed") and c.status == "True" for c in job.status.conditions
    )


def finish_time(job: Job) -> float | None:
    """When the Job's Complete or Failed condition turned True (epoch seconds)."""
    for condition in job.status.conditions:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            when: datetime | None = condition.last_transition_time
            return when.timestamp() if when is not None else None
    return None


def new_condition(type_: str, status: str, reason: str, message: str, now: float) -> JobCondition:
    """A condition that (last) changed at ``now``."""
    when = to_datetime(now)
    return JobCondition(
        type=type_,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        message=message,
        last_probe_time=when,
        last_transition_time=when,
    )


def find_condition(conditions: list[JobCondition], type_: str) -> JobCondition | None:
    """The condition of that type, if there is one."""
    return next((c for c in conditions if c.type == type_), None)


def ensure_condition(conditions: list[JobCondition], wanted: JobCondition) -> bool:
    """Set ``wanted`` in ``conditions`` (``ensureJobConditionStatus``): replace one of its
    type whose status, reason or message differ; add it if absent, unless it is False
    (going from nothing to False means nothing). Returns whether anything changed."""
    key = (wanted.status, wanted.reason, wanted.message)
    for i, condition in enumerate(conditions):
        if condition.type == wanted.type:
            if (condition.status, condition.reason, condition.message) == key:
                return False
            conditions[i] = wanted
            return True
    if wanted.status == "False":
        return False
    conditions.append(wanted)
    return True
