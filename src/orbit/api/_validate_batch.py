"""Validation of Jobs and CronJobs (Kubernetes' ``pkg/apis/batch/validation``).

A Job's pods must restart ``OnFailure`` or ``Never``; counts are non-negative; an
Indexed Job needs ``completions``; per-index backoff needs Indexed mode; a pod failure
policy's rules each match exit codes or pod conditions. As in Kubernetes, a Job's
selector is generated unless ``manualSelector`` is true, in which case the selector is
required and must match the template (a selector given anyway must match it too). A
CronJob's schedule and time zone are checked by the same parser its controller runs
(``_cron``), and its ``jobTemplate`` is validated as a Job spec at
``spec.jobTemplate.spec``.
"""

from __future__ import annotations

from orbit.errors import Issue

from ._batch import CronJob, Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement
from ._cron import validate_schedule, validate_time_zone
from ._validate_meta import (
    child,
    duplicate,
    invalid,
    invalid_omit,
    nonnegative,
    required,
    unsupported,
    validate_labels_and_annotations,
    validate_object_meta,
    validate_qualified_name,
)
from ._validate_pod import validate_pod_template, validate_template_selector
from ._validation import validator

__all__ = ["validate_job_spec"]

_JOB_RESTART_POLICIES = ("OnFailure", "Never")
_MAX_PARALLELISM_INDEXED = 100_000
_CRONJOB_NAME_MAX = 52  # DNS-1035 label length minus the 11 characters of a Job suffix


def validate_job_spec(spec: JobSpec, path: str) -> list[Issue]:
    """A JobSpec at ``path`` (``spec``, or ``spec.jobTemplate.spec`` in a CronJob)."""
    issues: list[Issue] = []
    for field, value in (
        ("parallelism", spec.parallelism),
        ("completions", spec.completions),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished),
        ("backoffLimitPerIndex", spec.backoff_limit_per_index),
        ("maxFailedIndexes", spec.max_failed_indexes),
    ):
        issues.extend(nonnegative(value, child(path, field)))
    issues.extend(_validate_completion_mode(spec, path))
    if spec.pod_failure_policy is not None:
        where = child(path, "podFailurePolicy")
        issues.extend(_validate_failure_policy(spec, spec.pod_failure_policy, where))
    template_path = child(path, "template")
    issues.extend(
        validate_pod_template(spec.template, template_path, restart_policies=_JOB_RESTART_POLICIES)
    )
    policy = spec.template.spec.restart_policy
    if spec.pod_failure_policy is not None and policy == "OnFailure":
        where = child(child(template_path, "spec"), "restartPolicy")
        detail = 'only "Never" is supported when podFailurePolicy is specified'
        issues.append(invalid(where, policy, detail))
    return issues


def _validate_completion_mode(spec: JobSpec, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if spec.max_failed_indexes is not None and spec.backoff_limit_per_index is None:
        where = child(path, "backoffLimitPerIndex")
        issues.append(required(where, "when maxFailedIndexes is specified"))
    if spec.completion_mode == "Indexed":
        if spec.completions is None:
            issues.append(required(child(path, "completions"), "when completion mode is Indexed"))
        if spec.parallelism is not None and spec.parallelism > _MAX_PARALLELISM_INDEXED:
            detail = (
                f"must be less than or equal to {_MAX_PARALLELISM_INDEXED} when completion "
                "mode is Indexed"
            )
            issues.append(invalid(child(path, "parallelism"), spec.parallelism, detail))
        limit, most = spec.completions, spec.max_failed_indexes
        if limit is not None and most is not None and most > limit:
            issues.append(
                invalid(
                    child(path, "maxFailedIndexes"),
                    most,
                    "must be less than or equal to completions",
                )
            )
        return issues
    for field, value in (
        ("backoffLimitPerIndex", spec.backoff_limit_per_index),
        ("maxFailedIndexes", spec.max_failed_indexes),
    ):
        if value is not None:
            issues.append(invalid(child(path, field), value, "requires indexed completion mode"))
    return issues


def _validate_failure_policy(spec: JobSpec, policy: PodFailurePolicy, path: str) -> list[Issue]:
    """Kubernetes' ``validatePodFailurePolicy``: per rule, an action it can take and
    exactly one of ``onExitCodes`` / ``onPodConditions``."""
    names = {c.name for c in spec.template.spec.all_containers()}
    issues: list[Issue] = []
    for index, rule in enumerate(policy.rules):
        where = child(child(path, "rules"), index)
        if rule.action == "FailIndex" and spec.backoff_limit_per_index is None:
            detail = "requires the backoffLimitPerIndex to be set"
            issues.append(invalid(child(where, "action"), rule.action, detail))
        if rule.on_exit_codes is not None:
            issues.extend(
                _validate_exit_codes(rule.on_exit_codes, child(where, "onExitCodes"), names)
            )
        for cond_index, pattern in enumerate(rule.on_pod_conditions):
            cond_path = child(child(where, "onPodConditions"), cond_index)
            issues.extend(validate_qualified_name(pattern.type, child(cond_path, "type")))
        if rule.on_exit_codes is not None and rule.on_pod_conditions:
            detail = "specifying both OnExitCodes and OnPodConditions is not supported"
            issues.append(invalid_omit(where, detail))
        if rule.on_exit_codes is None and not rule.on_pod_conditions:
            detail = "specifying one of OnExitCodes and OnPodConditions is required"
            issues.append(invalid_omit(where, detail))
    return issues


def _validate_exit_codes(
    req: PodFailurePolicyOnExitCodesRequirement, path: str, containers: set[str]
) -> list[Issue]:
    issues: list[Issue] = []
    name = req.container_name
    if name is not None and name not in containers:
        detail = "must be one of the container or initContainer names in the pod template"
        issues.append(invalid(child(path, "containerName"), name, detail))
    values_path = child(path, "values")
    if not req.values:
        issues.append(invalid(values_path, req.values, "at least one value is required"))
    seen: set[int] = set()
    for index, code in enumerate(req.values):
        if req.operator == "In" and code == 0:
            issues.append(
                invalid(child(values_path, index), code, "must not be 0 for the In operator")
            )
        if code in seen:
            issues.append(duplicate(child(values_path, index), code))
        seen.add(code)
    if list(req.values) != sorted(req.values):
        issues.append(invalid(values_path, req.values, "must be ordered"))
    return issues


def _validate_job_selector(spec: JobSpec) -> list[Issue]:
    """With ``manualSelector: true`` the selector is the user's and must be given and
    match the template; otherwise orbit generates it, and a given one must still match."""
    if spec.manual_selector or spec.selector is not None:
        return validate_template_selector(spec.selector, spec.template, "spec")
    return []


@validator(Job)
def _validate_job(job: Job) -> list[Issue]:
    issues = validate_object_meta(job.metadata)
    issues.extend(_validate_job_selector(job.spec))
    issues.extend(validate_job_spec(job.spec, "spec"))
    return issues


@validator(CronJob)
def _validate_cron_job(cron_job: CronJob) -> list[Issue]:
    spec = cron_job.spec
    issues = validate_object_meta(cron_job.metadata)
    name = cron_job.metadata.name
    if len(name) > _CRONJOB_NAME_MAX:
        issues.append(
            invalid("metadata.name", name, f"must be no more than {_CRONJOB_NAME_MAX} characters")
        )
    issues.extend(validate_schedule(spec.schedule, "spec.schedule"))
    if spec.time_zone is not None:
        issues.extend(validate_time_zone(spec.time_zone, "spec.timeZone"))
    issues.extend(nonnegative(spec.starting_deadline_seconds, "spec.startingDeadlineSeconds"))
    issues.extend(
        nonnegative(spec.successful_jobs_history_limit, "spec.successfulJobsHistoryLimit")
    )
    issues.extend(nonnegative(spec.failed_jobs_history_limit, "spec.failedJobsHistoryLimit"))
    template = spec.job_template
    issues.extend(validate_labels_and_annotations(template.metadata, "spec.jobTemplate.metadata"))
    issues.extend(validate_job_spec(template.spec, "spec.jobTemplate.spec"))
    if template.spec.selector is not None:
        where = "spec.jobTemplate.spec.selector"
        issues.append(invalid(where, template.spec.selector, "`selector` will be auto-generated"))
    if template.spec.manual_selector:
        where = "spec.jobTemplate.spec.manualSelector"
        issues.append(unsupported(where, True, ("nil", "false")))
    return issues
