"""Jobs and CronJobs: run pods to completion, once or on a schedule (ETL work)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from ._event import ObjectReference
from ._meta import ObjectMeta, TypedObject, register_kind
from ._pod import PodTemplateSpec
from ._selector import LabelSelector

__all__ = [
    "CronJob",
    "CronJobSpec",
    "CronJobStatus",
    "Job",
    "JobCondition",
    "JobSpec",
    "JobStatus",
    "JobTemplateSpec",
    "PodFailurePolicy",
    "PodFailurePolicyOnExitCodesRequirement",
    "PodFailurePolicyOnPodConditionsPattern",
    "PodFailurePolicyRule",
]

ConditionStatus = Literal["True", "False", "Unknown"]


@attrs.frozen(kw_only=True)
class PodFailurePolicyOnExitCodesRequirement:
    container_name: str | None = None
    operator: Literal["In", "NotIn"] = "In"
    values: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class PodFailurePolicyOnPodConditionsPattern:
    type: str = ""
    status: ConditionStatus = "True"


@attrs.frozen(kw_only=True)
class PodFailurePolicyRule:
    action: Literal["FailJob", "FailIndex", "Ignore", "Count"] = "Count"
    on_exit_codes: PodFailurePolicyOnExitCodesRequirement | None = None
    on_pod_conditions: tuple[PodFailurePolicyOnPodConditionsPattern, ...] = ()


@attrs.frozen(kw_only=True)
class PodFailurePolicy:
    rules: tuple[PodFailurePolicyRule, ...] = ()


@attrs.frozen(kw_only=True)
class JobSpec:
    """A Job's work: ``completions`` successful pods, ``parallelism`` at a time.

    Kubernetes' defaults: with neither set, both are 1; with only ``parallelism`` set,
    ``completions`` stays unset (a work queue: done when any pod succeeds).
    """

    parallelism: int | None = None
    completions: int | None = None
    active_deadline_seconds: int | None = None
    backoff_limit: int = 6
    backoff_limit_per_index: int | None = None
    max_failed_indexes: int | None = None
    selector: LabelSelector | None = None
    manual_selector: bool | None = None
    template: PodTemplateSpec = PodTemplateSpec()
    ttl_seconds_after_finished: int | None = None
    completion_mode: Literal["NonIndexed", "Indexed"] = "NonIndexed"
    suspend: bool = False
    pod_failure_policy: PodFailurePolicy | None = None

    __orbit_ignored__ = ("podReplacementPolicy", "successPolicy", "managedBy")

    def __attrs_post_init__(self) -> None:
        if self.parallelism is None:
            if self.completions is None:
                object.__setattr__(self, "completions", 1)
            object.__setattr__(self, "parallelism", 1)

    def __orbit_omit__(self) -> frozenset[str]:
        """Fields ``dump`` may leave out because loading brings them back as they are."""
        if self.parallelism == 1 and self.completions == 1:
            return frozenset({"parallelism", "completions"})
        if self.parallelism == 1 and self.completions is not None:
            return frozenset({"parallelism"})
        return frozenset()


@attrs.frozen(kw_only=True)
class JobCondition:
    type: str = ""
    status: ConditionStatus = "Unknown"
    reason: str = ""
    message: str = ""
    last_probe_time: datetime | None = None
    last_transition_time: datetime | None = None


@attrs.frozen(kw_only=True)
class JobStatus:
    conditions: tuple[JobCondition, ...] = ()
    start_time: datetime | None = None
    completion_time: datetime | None = None
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    ready: int | None = None
    terminating: int | None = None
    completed_indexes: str = ""
    failed_indexes: str | None = None


@register_kind("batch/v1", plural="jobs")
@attrs.frozen(kw_only=True)
class Job(TypedObject):
    """Runs pods until ``completions`` of them succeed (or the Job fails)."""

    metadata: ObjectMeta = ObjectMeta()
    spec: JobSpec = JobSpec()
    status: JobStatus = JobStatus()


@attrs.frozen(kw_only=True)
class JobTemplateSpec:
    metadata: ObjectMeta = ObjectMeta()
    spec: JobSpec = JobSpec()


@attrs.frozen(kw_only=True)
class CronJobSpec:
    schedule: str = ""
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    suspend: bool = False
    job_template: JobTemplateSpec = JobTemplateSpec()
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 1


@attrs.frozen(kw_only=True)
class CronJobStatus:
    active: tuple[ObjectReference, ...] = ()
    last_schedule_time: datetime | None = None
    last_successful_time: datetime | None = None


@register_kind("batch/v1", plural="cronjobs", short_names=("cj",), aliases=("batch/v1beta1",))
@attrs.frozen(kw_only=True)
class CronJob(TypedObject):
    """Creates a Job on a cron schedule."""

    metadata: ObjectMeta = ObjectMeta()
    spec: CronJobSpec = CronJobSpec()
    status: CronJobStatus = CronJobStatus()
