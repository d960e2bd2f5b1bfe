"""The Job controller's pure reconcile step (``plan_job``), against Kubernetes' job
controller semantics (v1.30), plus properties over random histories."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from job_builders import (
    START,
    apply,
    deleted,
    finished,
    make_job,
    released,
    running,
    stored,
    when,
)

from orbit.api import (
    ContainerStatus,
    JobCondition,
    JobStatus,
    Pod,
    PodCondition,
    PodFailurePolicy,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule,
)
from orbit.controllers._job_indexes import (
    completion_index,
    format_indexes,
    parse_indexes,
    with_indexes,
)
from orbit.controllers._job_objects import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    default_selector,
    new_pod,
)
from orbit.controllers._job_plan import NO_BACKOFF, JobPlan, plan_job
from orbit.controllers._job_pods import (
    TRACKING_FINALIZER,
    BackoffRecord,
    backoff_remaining,
    is_pod_failed,
)
from orbit.controllers._pods import is_active

INDEX = "batch.kubernetes.io/job-completion-index"


def pods_for(
    job: Any, count: int, *, index_from: int | None = None, at: float = START
) -> list[Pod]:
    """``count`` stored running pods of ``job`` (indexed from ``index_from``)."""
    return [
        running(stored(new_pod(job, None if index_from is None else index_from + i), at))
        for i in range(count)
    ]


def kinds(status: JobStatus) -> list[tuple[str, str, str]]:
    return [(c.type, c.status, c.reason) for c in status.conditions]


def reasons(plan: JobPlan) -> list[str]:
    return [e.reason for e in plan.events]


# --- pods, labels, selector --------------------------------------------------------------


def test_pods_come_from_the_template_with_labels_owner_and_tracking_finalizer() -> None:
    job = make_job(completions=5, parallelism=2)
    plan = plan_job(job, [], START)
    assert len(plan.create) == 2
    for pod in plan.create:
        meta = pod.metadata
        assert meta.generate_name == "pi-"
        assert meta.finalizers == (TRACKING_FINALIZER,)
        assert meta.labels == {
            "batch.kubernetes.io/job-name": "pi",
            "batch.kubernetes.io/controller-uid": "job-pi",
            "job-name": "pi",
            "controller-uid": "job-pi",
        }
        (owner,) = meta.owner_references
        assert (owner.kind, owner.name, owner.uid, owner.controller) == (
            "Job",
            "pi",
            "job-pi",
            True,
        )
        assert pod.spec.restart_policy == "Never"
        assert pod.spec.hostname == ""
    assert plan.status.active == 2
    assert plan.status.start_time == when(0)
    assert reasons(plan) == []
    assert plan.requeue_after_s is None


def test_the_selector_is_generated_once_and_respects_a_manual_one() -> None:
    job = make_job()
    assert job.spec.selector is not None
    assert dict(job.spec.selector.match_labels) == {CONTROLLER_UID_LABEL: "job-pi"}
    assert default_selector(job) is None  # already there: nothing to do
    manual = attrs.evolve(job, spec=attrs.evolve(job.spec, selector=None, manual_selector=True))
    assert default_selector(manual) is None
    mine = job.spec.template.metadata
    custom = attrs.evolve(
        job,
        spec=attrs.evolve(
            job.spec,
            selector=None,
            template=attrs.evolve(
                job.spec.template,
                metadata=attrs.evolve(mine, labels={"app": "etl", JOB_NAME_LABEL: "mine"}),
            ),
        ),
    )
    regenerated = default_selector(custom)
    assert regenerated is not None
    labels = regenerated.spec.template.metadata.labels
    assert labels["app"] == "etl"
    assert labels[JOB_NAME_LABEL] == "mine"  # a label already there is kept
    assert labels["controller-uid"] == "job-pi"


def test_never_more_pods_than_completions_left() -> None:
    job = make_job(completions=3, parallelism=5)
    job = attrs.evolve(job, status=JobStatus(succeeded=2, start_time=when(0)))
    assert len(plan_job(job, [], START).create) == 1


# --- completion ----------------------------------------------------------------------------


def test_a_job_completes_and_each_pod_counts_once() -> None:
    job = make_job(completions=2, parallelism=2)
    job, pods = apply(job, [], plan_job(job, [], START))
    pods = [finished(p, at=START + 30) for p in pods]
    pods[1] = deleted(pods[1], START + 31)  # deleted before the Job saw it: still counts
    plan = plan_job(job, pods, START + 31)
    assert {p.metadata.uid for p in plan.release} == {p.metadata.uid for p in pods}
    assert plan.status.succeeded == 2
    assert kinds(plan.status) == [("Complete", "True", "")]
    assert plan.status.completion_time == when(31)
    assert plan.status.active == 0
    assert reasons(plan) == ["Completed"]
    job, pods = apply(job, pods, plan, START + 31)
    again = plan_job(job, pods, START + 40)
    assert again.status == job.status
    assert again.release == again.create == again.delete == ()
    assert again.events == ()


def test_a_counted_pod_never_counts_again() -> None:
    job = make_job(completions=3, parallelism=1)
    job, pods = apply(job, [], plan_job(job, [], START))
    pods = [finished(pods[0], at=START + 5)]
    job, pods = apply(job, pods, plan_job(job, pods, START + 5), START + 5)
    assert job.status.succeeded == 1
    assert all(TRACKING_FINALIZER not in p.metadata.finalizers for p in pods if not is_active(p))
    for at in (START + 6, START + 7):
        job, pods = apply(job, pods, plan_job(job, pods, at), at)
        assert job.status.succeeded == 1


def test_a_work_queue_completes_once_one_succeeded_and_none_is_active() -> None:
    job = make_job(parallelism=3)
    assert job.spec.completions is None
    job, pods = apply(job, [], plan_job(job, [], START))
    assert len(pods) == 3
    pods[0] = finished(pods[0], at=START + 10)
    plan = plan_job(job, pods, START + 10)
    assert plan.create == plan.delete == ()  # the others run on, nothing new starts
    assert plan.status.succeeded == 1
    assert kinds(plan.status) == []
    job, pods = apply(job, pods, plan, START + 10)
    pods = [p if not is_active(p) else finished(p, exit_code=1, at=START + 20) for p in pods]
    plan = plan_job(job, pods, START + 20)
    assert kinds(plan.status) == [("Complete", "True", "")]
    assert (plan.status.succeeded, plan.status.failed) == (1, 2)


# --- indexed ----------------------------------------------------------------------------------


def test_indexed_pods_get_the_lowest_pending_indexes() -> None:
    job = make_job(completions=5, parallelism=2, completion_mode="Indexed")
    job = attrs.evolve(
        job, status=JobStatus(completed_indexes="0,1", succeeded=2, start_time=when(0))
    )
    active = pods_for(job, 1, index_from=3)
    plan = plan_job(job, active, START)
    (pod,) = plan.create
    assert pod.metadata.annotations[INDEX] == "2"
    assert pod.metadata.labels[INDEX] == "2"
    assert pod.metadata.generate_name == "pi-2-"
    assert pod.spec.hostname == "pi-2"
    (env,) = pod.spec.containers[0].env
    assert env.name == "JOB_COMPLETION_INDEX"
    assert env.value_from is not None
    assert env.value_from.field_ref is not None
    assert env.value_from.field_ref.field_path == f"metadata.labels['{INDEX}']"


def test_completed_indexes_are_kubernetes_interval_strings() -> None:
    job = make_job(completions=8, parallelism=8, completion_mode="Indexed")
    job, pods = apply(job, [], plan_job(job, [], START))
    done = {0, 1, 2, 4, 5, 7}
    pods = [finished(p, at=START + 5) if completion_index(p) in done else p for p in pods]
    plan = plan_job(job, pods, START + 5)
    assert plan.status.completed_indexes == "0-2,4,5,7"
    assert plan.status.succeeded == 6
    assert plan.status.failed_indexes is None
    assert format_indexes(with_indexes((), [1, 2])) == "1,2"
    assert parse_indexes("0-2,4,5,7,9-12", 11) == ((0, 2), (4, 5), (7, 7), (9, 10))


def test_duplicate_and_out_of_range_indexes_are_deleted() -> None:
    job = make_job(completions=3, parallelism=3, completion_mode="Indexed")
    job = attrs.evolve(job, status=JobStatus(start_time=when(0)))
    keep = running(stored(new_pod(job, 1)))
    twin = attrs.evolve(stored(new_pod(job, 1)), spec=attrs.evolve(keep.spec, node_name=""))
    stray = running(stored(new_pod(job, 7)))
    plan = plan_job(job, [keep, twin, stray, running(stored(new_pod(job, 0)))], START)
    assert {p.metadata.uid for p in plan.delete} == {twin.metadata.uid, stray.metadata.uid}
    assert plan.create == ()  # deleting comes first; index 2 next time
    assert plan.status.failed == 0  # removed, not failed


# --- failures and backoff ----------------------------------------------------------------------


def test_replacements_back_off_10_20_40_seconds_after_failures() -> None:
    job = make_job(completions=1, backoff_limit=10)
    job, pods = apply(job, [], plan_job(job, [], START))
    record = BackoffRecord()
    waits = []
    at = START
    for _ in range(4):
        pods = [finished(p, exit_code=1, at=at + 5) if is_active(p) else p for p in pods]
        plan = plan_job(job, pods, at + 5, backoff=record)
        assert plan.create == ()
        wait = plan.requeue_after_s
        assert wait is not None
        waits.append(wait)
        job, pods = apply(job, pods, plan, at + 5)
        record = plan.backoff
        early = plan_job(job, pods, at + 5 + wait - 0.5, backoff=record)
        assert early.create == ()
        assert early.requeue_after_s == 1.0  # never sooner than the batch period
        at = at + 5 + wait
        plan = plan_job(job, pods, at, backoff=record)
        assert len(plan.create) == 1
        job, pods = apply(job, pods, plan, at)
    assert waits == [10, 20, 40, 80]
    assert job.status.failed == 4


def test_the_backoff_doubles_to_its_cap_and_a_success_resets_it() -> None:
    assert backoff_remaining(1, START, START, 10, 360) == 10
    assert [backoff_remaining(n, START, START, 10, 360) for n in (2, 3, 6, 7, 30)] == [
        20,
        40,
        320,
        360,
        360,
    ]
    assert backoff_remaining(3, START, START + 15, 10, 360) == 25
    assert backoff_remaining(3, START, START + 40, 10, 360) == 0
    assert backoff_remaining(5, START, START, 1, 4) == 4  # configurable base and cap
    job = make_job(completions=3, parallelism=2, backoff_limit=10)
    pods = pods_for(job, 2)
    failed = finished(pods[0], exit_code=1, at=START + 5)
    succeeded = finished(pods[1], at=START + 8)
    plan = plan_job(job, [failed, succeeded], START + 8, backoff=BackoffRecord(3, START))
    assert plan.backoff == BackoffRecord(0, None)
    assert len(plan.create) == 2  # no wait: the success reset the count
    later = finished(pods[0], exit_code=1, at=START + 9)
    plan = plan_job(job, [later, succeeded], START + 9, backoff=BackoffRecord(3, START))
    assert plan.backoff == BackoffRecord(1, START + 9)  # only the failure after it counts


def test_exceeding_the_backoff_limit_fails_the_job_and_kills_active_pods() -> None:
    job = make_job(completions=4, parallelism=2, backoff_limit=1)
    job = attrs.evolve(job, status=JobStatus(failed=1, active=2, start_time=when(0)))
    bad, busy = pods_for(job, 2)
    bad = finished(bad, exit_code=1, at=START + 20)
    plan = plan_job(job, [bad, busy], START + 20)
    assert kinds(plan.status) == [("Failed", "True", "BackoffLimitExceeded")]
    assert plan.status.conditions[0].message == "Job has reached the specified backoff limit"
    assert [p.metadata.uid for p in plan.delete] == [busy.metadata.uid]
    assert {p.metadata.uid for p in plan.release} == {bad.metadata.uid, busy.metadata.uid}
    assert (plan.status.failed, plan.status.active, plan.status.terminating) == (3, 0, 1)
    assert plan.status.completion_time is None
    assert [(e.type, e.reason, e.message) for e in plan.events] == [
        ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    ]


def test_with_on_failure_container_restarts_count_against_the_limit() -> None:
    job = make_job(completions=1, backoff_limit=2, restart_policy="OnFailure")
    (pod,) = pods_for(job, 1)

    def restarted(count: int) -> Pod:
        statuses = (ContainerStatus(name="main", restart_count=count),)
        return attrs.evolve(pod, status=attrs.evolve(pod.status, container_statuses=statuses))

    one, two = restarted(1), restarted(2)
    assert kinds(plan_job(job, [one], START).status) == []
    assert kinds(plan_job(job, [two], START).status) == [("Failed", "True", "BackoffLimitExceeded")]


def test_the_active_deadline_fails_the_job() -> None:
    job = make_job(completions=2, parallelism=2, active_deadline_seconds=100)
    job, pods = apply(job, [], plan_job(job, [], START))
    assert plan_job(job, pods, START + 40).requeue_after_s == 60
    plan = plan_job(job, pods, START + 100)
    assert kinds(plan.status) == [("Failed", "True", "DeadlineExceeded")]
    assert plan.status.conditions[0].message == "Job was active longer than specified deadline"
    assert len(plan.delete) == 2
    assert (plan.status.failed, plan.status.active) == (2, 0)
    assert reasons(plan) == ["DeadlineExceeded"]


# --- pod failure policy ------------------------------------------------------------------------


def policy(*rules: PodFailurePolicyRule) -> PodFailurePolicy:
    return PodFailurePolicy(rules=rules)


def on_exit(action: str, *codes: int, operator: str = "In") -> PodFailurePolicyRule:
    return PodFailurePolicyRule(
        action=action,  # type: ignore[arg-type]
        on_exit_codes=PodFailurePolicyOnExitCodesRequirement(operator=operator, values=codes),  # type: ignore[arg-type]
    )


def on_condition(action: str, type_: str) -> PodFailurePolicyRule:
    return PodFailurePolicyRule(
        action=action,  # type: ignore[arg-type]
        on_pod_conditions=(PodFailurePolicyOnPodConditionsPattern(type=type_, status="True"),),
    )


def test_fail_job_on_an_exit_code() -> None:
    job = make_job(completions=2, parallelism=2, pod_failure_policy=policy(on_exit("FailJob", 42)))
    bad, busy = pods_for(job, 2)
    bad = finished(bad, exit_code=42, at=START + 5)
    plan = plan_job(job, [bad, busy], START + 5)
    assert kinds(plan.status) == [
        ("FailureTarget", "True", "PodFailurePolicy"),
        ("Failed", "True", "PodFailurePolicy"),
    ]
    message = (
        f"Container main for pod default/{bad.metadata.name} failed with exit code 42 "
        "matching FailJob rule at index 0"
    )
    assert [c.message for c in plan.status.conditions] == [message, message]
    assert [p.metadata.uid for p in plan.delete] == [busy.metadata.uid]
    assert plan.status.failed == 2
    assert reasons(plan) == ["PodFailurePolicy"]


def test_a_failure_target_from_before_turns_into_failed() -> None:
    job = make_job(completions=1, pod_failure_policy=policy(on_exit("FailJob", 42)))
    target = JobCondition(
        type="FailureTarget", status="True", reason="PodFailurePolicy", message="m"
    )
    job = attrs.evolve(job, status=JobStatus(conditions=(target,), start_time=when(0)))
    plan = plan_job(job, [], START)
    assert kinds(plan.status) == [
        ("FailureTarget", "True", "PodFailurePolicy"),
        ("Failed", "True", "PodFailurePolicy"),
    ]


def test_ignored_failures_do_not_count_but_still_back_off() -> None:
    rules = policy(
        on_condition("Ignore", "DisruptionTarget"), on_exit("Count", 1, operator="NotIn")
    )
    job = make_job(completions=1, backoff_limit=0, pod_failure_policy=rules)
    (pod,) = pods_for(job, 1)
    disrupted = PodCondition(type="DisruptionTarget", status="True")
    evicted = finished(pod, exit_code=137, at=START + 5, conditions=(disrupted,))
    plan = plan_job(job, [evicted], START + 5)
    assert kinds(plan.status) == []
    assert plan.status.failed == 0
    assert [p.metadata.uid for p in plan.release] == [evicted.metadata.uid]
    assert plan.requeue_after_s == 10
    plan = plan_job(job, [released(evicted)], START + 15, backoff=plan.backoff)
    assert len(plan.create) == 1
    crashed = finished(pod, exit_code=2, at=START + 5)
    plan = plan_job(job, [crashed], START + 5)
    assert kinds(plan.status) == [("Failed", "True", "BackoffLimitExceeded")]  # Count: 1 > 0


def test_with_a_policy_a_terminating_pod_is_replaced_only_once_it_failed() -> None:
    job = make_job(completions=1, pod_failure_policy=policy(on_exit("FailJob", 42)))
    (pod,) = pods_for(job, 1)
    going = deleted(pod, START + 5)
    plan = plan_job(job, [going], START + 5)
    assert plan.create == ()
    assert (plan.status.active, plan.status.terminating, plan.status.failed) == (0, 1, 0)
    assert plan.release == ()
    assert not is_pod_failed(going, job)
    gone = finished(going, exit_code=143, at=START + 8)
    plan = plan_job(job, [gone], START + 8)
    assert plan.status.failed == 1
    assert plan.requeue_after_s == 10


def test_without_a_policy_a_terminating_pod_is_a_failure_at_once() -> None:
    job = make_job(completions=1)
    (pod,) = pods_for(job, 1)
    plan = plan_job(job, [deleted(pod, START + 5)], START + 5)
    assert (plan.status.failed, plan.status.terminating) == (1, 1)
    assert plan.backoff == BackoffRecord(1, START + 5)  # deletion time minus grace


# --- suspend, scale down, TTL -------------------------------------------------------------------


def test_a_job_created_suspended_waits_then_resumes() -> None:
    job = make_job(completions=2, parallelism=2, suspend=True)
    plan = plan_job(job, [], START)
    assert plan.create == ()
    assert plan.status.start_time is None
    assert kinds(plan.status) == [("Suspended", "True", "JobSuspended")]
    assert reasons(plan) == ["Suspended"]
    job = attrs.evolve(job, status=plan.status)
    assert plan_job(job, [], START + 10).events == ()  # no news while it stays suspended
    job = attrs.evolve(job, spec=attrs.evolve(job.spec, suspend=False))
    plan = plan_job(job, [], START + 50)
    assert len(plan.create) == 2
    assert kinds(plan.status) == [("Suspended", "False", "JobResumed")]
    assert plan.status.start_time == when(50)
    assert reasons(plan) == ["Resumed"]


def test_suspending_deletes_active_pods_without_counting_them() -> None:
    job = make_job(completions=3, parallelism=3, active_deadline_seconds=100)
    job, pods = apply(job, [], plan_job(job, [], START))
    job = attrs.evolve(job, spec=attrs.evolve(job.spec, suspend=True))
    plan = plan_job(job, pods, START + 99)
    assert len(plan.delete) == 3
    assert {p.metadata.uid for p in plan.release} == {p.metadata.uid for p in pods}
    assert (plan.status.active, plan.status.failed, plan.status.terminating) == (0, 0, 3)
    assert plan.requeue_after_s is None  # no deadline while suspended
    job, pods = apply(job, pods, plan, START + 99)
    pods = [finished(p, exit_code=143, at=START + 100) for p in pods]
    later = plan_job(job, pods, START + 200)
    assert later.status.failed == 0  # the stopped pods were let go uncounted


def test_resuming_restarts_the_deadline_but_checks_the_old_one_first() -> None:
    job = make_job(completions=1, active_deadline_seconds=100, suspend=True)
    suspended = JobCondition(
        type="Suspended", status="True", reason="JobSuspended", message="Job suspended"
    )
    resumed = attrs.evolve(job, spec=attrs.evolve(job.spec, suspend=False))
    # started at 0, suspended at 30, resumed at 60: restarted, the deadline now 160
    early = attrs.evolve(resumed, status=JobStatus(conditions=(suspended,), start_time=when(0)))
    plan = plan_job(early, [], START + 60)
    assert plan.status.start_time == when(60)
    assert kinds(plan.status) == [("Suspended", "False", "JobResumed")]
    assert len(plan.create) == 1
    # resumed at 150: Kubernetes checks the deadline before resetting startTime
    plan = plan_job(early, [], START + 150)
    assert kinds(plan.status) == [
        ("Suspended", "True", "JobSuspended"),
        ("Failed", "True", "DeadlineExceeded"),
    ]


def test_lowering_parallelism_deletes_the_least_advanced_pods_first() -> None:
    job = make_job(completions=10, parallelism=3)
    ready, not_ready, unscheduled = pods_for(job, 3)
    not_ready = running(not_ready, ready=False)
    unscheduled = attrs.evolve(unscheduled, spec=attrs.evolve(unscheduled.spec, node_name=""))
    unscheduled = attrs.evolve(
        unscheduled, status=attrs.evolve(unscheduled.status, phase="Pending", conditions=())
    )
    job = attrs.evolve(
        job,
        spec=attrs.evolve(job.spec, parallelism=1),
        status=JobStatus(active=3, start_time=when(0)),
    )
    plan = plan_job(job, [ready, not_ready, unscheduled], START)
    assert [p.metadata.uid for p in plan.delete] == [
        unscheduled.metadata.uid,
        not_ready.metadata.uid,
    ]
    assert (plan.status.active, plan.status.failed) == (1, 0)


def test_ttl_after_finished() -> None:
    job = make_job(completions=1, ttl_seconds_after_finished=60)
    job, pods = apply(job, [], plan_job(job, [], START))
    pods = [finished(pods[0], at=START + 10)]
    plan = plan_job(job, pods, START + 10)
    assert kinds(plan.status) == [("Complete", "True", "")]
    assert plan.requeue_after_s == 60
    job, pods = apply(job, pods, plan, START + 10)
    assert plan_job(job, pods, START + 40).requeue_after_s == 30
    assert not plan_job(job, pods, START + 40).expire
    assert plan_job(job, pods, START + 70).expire


def test_a_finished_job_releases_pods_still_held() -> None:
    job = make_job(completions=1)
    done = JobCondition(type="Complete", status="True", last_transition_time=when(5))
    job = attrs.evolve(job, status=JobStatus(conditions=(done,), succeeded=1))
    (pod,) = pods_for(job, 1)
    late = finished(pod, exit_code=1, at=START + 6)
    plan = plan_job(job, [late], START + 7)
    assert [p.metadata.uid for p in plan.release] == [late.metadata.uid]
    assert plan.status == job.status
    assert plan.create == plan.delete == ()


# --- backoffLimitPerIndex ------------------------------------------------------------------------


def test_backoff_limit_per_index_fails_an_index_and_then_the_job() -> None:
    job = make_job(
        completions=3,
        parallelism=3,
        completion_mode="Indexed",
        backoff_limit_per_index=1,
        backoff_limit=100,
    )
    job, pods = apply(job, [], plan_job(job, [], START))
    assert all(
        p.metadata.annotations["batch.kubernetes.io/job-index-failure-count"] == "0" for p in pods
    )
    pods = [finished(p, exit_code=1, at=START + 5) if completion_index(p) == 0 else p for p in pods]
    plan = plan_job(job, pods, START + 5)
    assert plan.release == ()  # the failed pod is kept until its index is replaced
    assert plan.requeue_after_s == 10
    assert plan.status.failed_indexes == ""
    job, pods = apply(job, pods, plan, START + 5)
    plan = plan_job(job, pods, START + 15)
    (again,) = plan.create
    assert again.metadata.annotations[INDEX] == "0"
    assert again.metadata.annotations["batch.kubernetes.io/job-index-failure-count"] == "1"
    job, pods = apply(job, pods, plan, START + 15)
    plan = plan_job(job, pods, START + 16)
    assert plan.status.failed == 1  # the replaced pod is counted and let go now
    job, pods = apply(job, pods, plan, START + 16)
    pods = [
        finished(p, exit_code=1 if completion_index(p) == 0 else 0, at=START + 20)
        if is_active(p)
        else p
        for p in pods
    ]
    plan = plan_job(job, pods, START + 20)
    assert plan.status.failed_indexes == "0"
    assert plan.status.completed_indexes == "1,2"
    assert kinds(plan.status) == [("Failed", "True", "FailedIndexes")]
    assert plan.status.conditions[0].message == "Job has failed indexes"


# --- properties ---------------------------------------------------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("reconcile"), st.just(0)),
        st.tuples(st.sampled_from(["succeed", "fail", "delete", "terminate"]), st.integers(0, 9)),
        st.tuples(st.just("advance"), st.integers(1, 400)),
        st.tuples(st.just("parallelism"), st.integers(0, 5)),
        st.tuples(st.just("suspend"), st.integers(0, 1)),
    ),
    max_size=40,
)


@attrs.define
class Model:
    """A Job's world without a store: the controller's plans applied, pods changed by
    the actions, time moving on. ``counted`` holds the pods the Job let go as counted;
    ``dropped`` those it let go uncounted (suspend, scale down)."""

    job: Any
    pods: list[Pod]
    at: float = START
    backoff: BackoffRecord = NO_BACKOFF
    counted: set[str] = attrs.Factory(set)
    dropped: set[str] = attrs.Factory(set)

    def reconcile(self) -> JobPlan:
        plan = plan_job(self.job, self.pods, self.at, backoff=self.backoff)
        finishing = any(c.type in ("Complete", "Failed") for c in plan.status.conditions)
        deleting = {p.metadata.uid for p in plan.delete}
        for pod in plan.release:
            uid = pod.metadata.uid
            if uid in deleting and not finishing:
                self.dropped.add(uid)
            else:
                self.counted.add(uid)
        self.job, self.pods = apply(self.job, self.pods, plan, self.at)
        self.backoff = plan.backoff
        # the store removes what nothing holds any more
        self.pods = [
            p
            for p in self.pods
            if not (
                p.metadata.deletion_timestamp is not None
                and not p.metadata.finalizers
                and p.status.phase in ("Succeeded", "Failed")
            )
        ]
        return plan

    def act(self, action: str, value: int) -> None:
        active = [p for p in self.pods if is_active(p)]
        going = [
            p
            for p in self.pods
            if p.metadata.deletion_timestamp is not None and p.status.phase == "Running"
        ]
        if action in ("succeed", "fail") and active:
            pod = active[value % len(active)]
            self._replace(pod, finished(pod, exit_code=0 if action == "succeed" else 1, at=self.at))
        elif action == "delete" and active:
            pod = active[value % len(active)]
            self._replace(pod, deleted(pod, self.at))
        elif action == "terminate" and going:
            pod = going[value % len(going)]
            self._replace(pod, finished(pod, exit_code=143, at=self.at))
        elif action == "advance":
            self.at += value
        elif action == "parallelism":
            self.job = attrs.evolve(self.job, spec=attrs.evolve(self.job.spec, parallelism=value))
        elif action == "suspend":
            self.job = attrs.evolve(self.job, spec=attrs.evolve(self.job.spec, suspend=bool(value)))

    def _replace(self, old: Pod, new: Pod) -> None:
        self.pods = [new if p.metadata.uid == old.metadata.uid else p for p in self.pods]


def check(model: Model, plan: JobPlan, before: JobStatus) -> None:
    job, status = model.job, plan.status
    spec = job.spec
    active = [p for p in model.pods if is_active(p)]
    assert status.active == len(active)
    assert len(active) <= (spec.parallelism or 0)  # never more than parallelism
    if spec.suspend:
        assert not plan.create
    assert status.failed >= before.failed  # a failure count never decreases
    assert status.succeeded >= before.succeeded
    completions = spec.completions
    assert status.succeeded <= completions
    assert status.succeeded + len(active) <= completions
    if spec.completion_mode == "Indexed":
        indexes = [completion_index(p) for p in active]
        assert len(indexes) == len(set(indexes))  # never two pods for one index
        assert all(0 <= ix < completions for ix in indexes)
        done = parse_indexes(status.completed_indexes, completions)
        assert not any(first <= ix <= last for ix in indexes for first, last in done)
    # every pod the Job let go as counted is in exactly one counter
    assert status.succeeded + status.failed == len(model.counted)
    assert not model.counted & model.dropped


@settings(max_examples=150, deadline=None)
@given(
    completions=st.integers(1, 6),
    parallelism=st.integers(1, 4),
    indexed=st.booleans(),
    actions=ACTIONS,
)
def test_any_history_keeps_the_invariants(
    completions: int, parallelism: int, indexed: bool, actions: Sequence[tuple[str, int]]
) -> None:
    job = make_job(
        completions=completions,
        parallelism=parallelism,
        backoff_limit=1000,
        completion_mode="Indexed" if indexed else "NonIndexed",
    )
    model = Model(job, [])
    for action, value in [("reconcile", 0), *actions, ("reconcile", 0)]:
        if action == "reconcile":
            before = model.job.status
            plan = model.reconcile()
            check(model, plan, before)
        else:
            model.act(action, value)
    # finish every pod, resume, and let the Job run to the end
    model.job = attrs.evolve(
        model.job, spec=attrs.evolve(model.job.spec, suspend=False, parallelism=parallelism)
    )
    for _ in range(4 * completions + 10):
        for pod in [p for p in model.pods if p.status.phase in ("Pending", "Running")]:
            model._replace(pod, finished(pod, at=model.at))
        model.at += 400
        before = model.job.status
        check(model, model.reconcile(), before)
    status = model.job.status
    assert ("Complete", "True", "") in kinds(status)
    assert status.succeeded == completions
    held = [p for p in model.pods if TRACKING_FINALIZER in p.metadata.finalizers]
    assert held == []  # nothing left uncounted


@given(st.sets(st.integers(0, 60)), st.integers(1, 64))
def test_index_strings_round_trip(indexes: set[int], completions: int) -> None:
    intervals = with_indexes((), sorted(indexes))
    text = format_indexes(intervals)
    kept = {ix for ix in indexes if ix < completions}
    parsed = parse_indexes(text, completions)
    assert {ix for first, last in parsed for ix in range(first, last + 1)} == kept
    assert parse_indexes(text, 61) == intervals
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(parsed))
