"""Completion indexes of Indexed Jobs, as Kubernetes' ``indexed_job_utils.go`` (v1.30)
handles them.

An Indexed Job's pod carries its index in the annotation (and label)
``batch.kubernetes.io/job-completion-index``. Sets of indexes travel in the Job's status
as interval strings (``completedIndexes``, ``failedIndexes``): sorted, merged, ``"1,3-5"``,
with two adjacent indexes written ``"1,2"`` rather than ``"1-2"``, exactly as
``orderedIntervals.String`` writes them. Intervals here are tuples ``(first, last)``,
inclusive, sorted and non-adjacent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from orbit.api import Job, Pod

from ._job_pods import (
    backoff_remaining,
    finished_time,
    has_tracking_finalizer,
    is_pod_failed,
    match_pod_failure_policy,
)

__all__ = [
    "COMPLETION_INDEX_ANNOTATION",
    "INDEX_FAILURE_COUNT_ANNOTATION",
    "INDEX_IGNORED_FAILURE_COUNT_ANNOTATION",
    "Intervals",
    "completion_index",
    "contains",
    "delayed_deletions",
    "duplicated_for_removal",
    "failed_indexes",
    "first_pending_indexes",
    "format_indexes",
    "index_backoff",
    "index_failure_counts",
    "is_indexed",
    "merge",
    "parse_indexes",
    "pod_generate_name",
    "total",
    "valid_index",
    "with_indexes",
]

COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
"""The pod's completion index; also a label (PodIndexLabel, on since 1.28)."""
INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count"
"""Failures of the pod's index so far (backoffLimitPerIndex), carried to the replacement."""
INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count"
"""Failures of the pod's index a pod failure policy ``Ignore`` rule did not count."""

_MAX_GENERATED_NAME = 58  # 63 minus the five random characters of a generated name

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]


def is_indexed(job: Job) -> bool:
    """Indexed completion mode (validation makes ``completions`` required for it)."""
    return job.spec.completion_mode == "Indexed" and job.spec.completions is not None


def valid_index(job: Job, pod: Pod) -> bool:
    """Every pod of a NonIndexed Job; of an Indexed one, those with an index below
    ``completions`` (others are neither counted nor kept)."""
    return not is_indexed(job) or 0 <= completion_index(pod) < (job.spec.completions or 0)


def completion_index(pod: Pod) -> int:
    """The pod's completion index, or -1 when it has none (or a malformed one)."""
    text = pod.metadata.annotations.get(COMPLETION_INDEX_ANNOTATION)
    if text is None:
        return -1
    try:
        index = int(text)
    except ValueError:
        return -1
    return index if index >= 0 else -1


def index_failure_counts(pod: Pod) -> tuple[int, int]:
    """(counted, ignored) failures of the pod's index before this pod; 0 when absent or
    malformed (Kubernetes' ``parseInt32`` falls back to 0)."""
    return (
        _count(pod.metadata.annotations.get(INDEX_FAILURE_COUNT_ANNOTATION)),
        _count(pod.metadata.annotations.get(INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)),
    )


def _count(text: str | None) -> int:
    if text is None:
        return 0
    try:
        value = int(text)
    except ValueError:
        return 0
    return value if 0 <= value <= 2**31 - 1 else 0


def pod_generate_name(job_name: str, index: int) -> str:
    """``<job>-<index>-``, the job name cut so the prefix fits a generated name."""
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > _MAX_GENERATED_NAME:
        prefix = job_name[: _MAX_GENERATED_NAME - len(suffix)] + suffix
    return prefix


# --- interval sets ----------------------------------------------------------------------


def parse_indexes(text: str | None, completions: int) -> Intervals:
    """Intervals from a status string, dropping indexes at or above ``completions``
    and malformed pieces (``parseIndexesFromString``)."""
    if not text:
        return ()
    result: list[list[int]] = []
    for piece in text.split(","):
        limits = piece.split("-")
        try:
            first = int(limits[0])
        except ValueError:
            continue
        if first >= completions:
            break
        last = first
        if len(limits) > 1:
            try:
                last = min(int(limits[1]), completions - 1)
            except ValueError:
                continue
        if result and result[-1][1] == first - 1:
            result[-1][1] = last
        else:
            result.append([first, last])
    return tuple((first, last) for first, last in result)


def format_indexes(intervals: Intervals) -> str:
    """``"1,3-5"``; two adjacent indexes as ``"1,2"`` (``orderedIntervals.String``)."""
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def merge(a: Intervals, b: Intervals) -> Intervals:
    """The union of two interval sets, merged (``orderedIntervals.merge``)."""
    result: list[list[int]] = []
    for first, last in sorted((*a, *b)):
        if result and first <= result[-1][1] + 1:
            result[-1][1] = max(result[-1][1], last)
        else:
            result.append([first, last])
    return tuple((first, last) for first, last in result)


def with_indexes(intervals: Intervals, indexes: Iterable[int]) -> Intervals:
    """``intervals`` plus single ``indexes`` (``withOrderedIndexes``)."""
    return merge(intervals, tuple((ix, ix) for ix in indexes))


def total(intervals: Intervals | None) -> int:
    """How many indexes the intervals hold."""
    return sum(last - first + 1 for first, last in intervals or ())


def contains(intervals: Intervals | None, index: int) -> bool:
    """Whether ``index`` is in the intervals."""
    return any(first <= index <= last for first, last in intervals or ())


def first_pending_indexes(not_pending: Intervals, count: int, completions: int) -> list[int]:
    """The lowest ``count`` indexes below ``completions`` outside ``not_pending``
    (succeeded, active, failed and, when only failed pods are replaced, terminating)."""
    result: list[int] = []
    candidate = 0
    for first, last in not_pending:
        while candidate < completions and len(result) < count and candidate < first:
            result.append(candidate)
            candidate += 1
        candidate = max(candidate, last + 1)
    while candidate < completions and len(result) < count:
        result.append(candidate)
        candidate += 1
    return result


def duplicated_for_removal(
    pods: Sequence[Pod], completions: int, order: Callable[[Pod], Any]
) -> tuple[list[Pod], list[Pod]]:
    """(to remove, to keep) among active pods: every pod without an index or with one
    at or above ``completions`` goes, and of pods sharing an index all but the last in
    ``order`` (the deletion order: the first to delete first) go
    (``appendDuplicatedIndexPodsForRemoval``)."""
    remove: list[Pod] = []
    keep: list[Pod] = []
    groups: dict[int, list[Pod]] = {}
    for pod in sorted(pods, key=completion_index):
        groups.setdefault(completion_index(pod), []).append(pod)
    for index, group in groups.items():
        if index < 0 or index >= completions:
            remove.extend(group)
        elif len(group) == 1:
            keep.append(group[0])
        else:
            ranked = sorted(group, key=order)
            remove.extend(ranked[:-1])
            keep.append(ranked[-1])
    return remove, keep


# --- backoffLimitPerIndex ---------------------------------------------------------------


def failed_indexes(job: Job, pods: Sequence[Pod]) -> Intervals:
    """``status.failedIndexes`` plus the indexes failed since (``calculateFailedIndexes``)."""
    completions = job.spec.completions or 0
    previous = parse_indexes(job.status.failed_indexes, completions)
    new = {
        completion_index(p)
        for p in pods
        if has_tracking_finalizer(p) and valid_index(job, p) and index_failed(job, p)
    }
    return with_indexes(previous, sorted(new))


def index_failed(job: Job, pod: Pod) -> bool:
    """The pod fails its index: a ``FailIndex`` rule matched, or it is a counted failure
    and its index had already failed ``backoffLimitPerIndex`` times (``isIndexFailed``)."""
    if not is_pod_failed(pod, job):
        return False
    match = match_pod_failure_policy(job.spec.pod_failure_policy, pod)
    if match.action == "FailIndex":
        return True
    return match.count and index_failure_counts(pod)[0] >= (job.spec.backoff_limit_per_index or 0)


def delayed_deletions(
    job: Job,
    pods: Sequence[Pod],
    active: Sequence[Pod],
    succeeded: Intervals,
    failed: Intervals | None,
) -> dict[int, Pod]:
    """Per index still pending, its last failed pod: it keeps its finalizer until a
    replacement exists, which inherits its failure counts
    (``getPodsWithDelayedDeletionPerIndex``)."""
    running = {completion_index(p) for p in active}
    delayed: dict[int, Pod] = {}
    for pod in pods:
        if not has_tracking_finalizer(pod) or not valid_index(job, pod):
            continue
        index = completion_index(pod)
        if not is_pod_failed(pod, job) or index in running:
            continue
        if contains(succeeded, index) or contains(failed, index):
            continue
        held = delayed.get(index)
        if held is None or (
            sum(index_failure_counts(held)) <= sum(index_failure_counts(pod))
            and finished_time(pod) >= finished_time(held)
        ):
            delayed[index] = pod
    return delayed


def index_backoff(last_failed: Pod | None, now: float, base_s: float, max_s: float) -> float:
    """Seconds until an index may get a new pod, counting its failures so far
    (``getRemainingTimePerIndex``)."""
    if last_failed is None:
        return 0.0
    failures = sum(index_failure_counts(last_failed)) + 1
    return backoff_remaining(failures, finished_time(last_failed), now, base_s, max_s)
