"""The CronJob controller's pure step (``plan_cronjob``): one sync of a CronJob over its
Jobs at a given instant, checked against Kubernetes' ``cronjob_controllerv2.go`` case by
case, then as properties over random schedules, zones, policies and histories."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbit.api import (
    CronJob,
    CronJobSpec,
    CronJobStatus,
    CronSchedule,
    Job,
    JobCondition,
    JobSpec,
    JobStatus,
    JobTemplateSpec,
    ObjectMeta,
    OwnerReference,
    PodTemplateSpec,
)
from orbit.clock import to_datetime
from orbit.controllers._cronjob_plan import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    CronJobEvent,
    CronJobPlan,
    finished_condition,
    job_from_template,
    job_name,
    plan_cronjob,
)
from orbit.store import reference_to

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a Thursday
MINUTE, HOUR, DAY = 60, 3600, 86400


def at(offset_s: float) -> datetime:
    return to_datetime(T0 + offset_s)


# --- builders ------------------------------------------------------------------------


def cronjob(
    schedule: str = "*/5 * * * *",
    *,
    created_s: float = 0,
    policy: str = "Allow",
    suspend: bool = False,
    deadline_s: int | None = None,
    time_zone: str | None = None,
    successful: int = 3,
    failed: int = 1,
    status: CronJobStatus | None = None,
) -> CronJob:
    template = JobTemplateSpec(
        metadata=ObjectMeta(labels={"team": "data"}, annotations={"owner": "etl"}),
        spec=JobSpec(backoff_limit=2, template=PodTemplateSpec(metadata=ObjectMeta(name="t"))),
    )
    return CronJob(
        metadata=ObjectMeta(
            name="report", namespace="default", uid="cj-uid", creation_timestamp=at(created_s)
        ),
        spec=CronJobSpec(
            schedule=schedule,
            time_zone=time_zone,
            starting_deadline_seconds=deadline_s,
            concurrency_policy=policy,  # type: ignore[arg-type]
            suspend=suspend,
            job_template=template,
            successful_jobs_history_limit=successful,
            failed_jobs_history_limit=failed,
        ),
        status=status or CronJobStatus(),
    )


_uids = itertools.count()


def job(
    cj: CronJob,
    scheduled_s: float,
    *,
    finished: str | None = None,
    started_s: float | None = -1,
    completed_s: float | None = None,
    name: str | None = None,
) -> Job:
    """A stored Job of ``cj`` for activation ``scheduled_s`` (started then, by default)."""
    made = job_from_template(cj, at(scheduled_s))
    conditions = (JobCondition(type=finished, status="True"),) if finished else ()
    started = scheduled_s if started_s == -1 else started_s
    return attrs.evolve(
        made,
        metadata=attrs.evolve(
            made.metadata,
            name=name or made.metadata.name,
            uid=f"job-{next(_uids)}",
            resource_version="7",
            creation_timestamp=at(scheduled_s),
        ),
        status=JobStatus(
            conditions=conditions,
            start_time=None if started is None else at(started),
            completion_time=None if completed_s is None else at(completed_s),
        ),
    )


def tracking(cj: CronJob, *jobs: Job, last_s: float | None = None) -> CronJob:
    """``cj`` with ``jobs`` active and ``last_s`` as its last schedule time."""
    last = at(last_s) if last_s is not None else cj.status.last_schedule_time
    status = attrs.evolve(
        cj.status, active=tuple(reference_to(j) for j in jobs), last_schedule_time=last
    )
    return attrs.evolve(cj, status=status)


def reasons(plan: CronJobPlan) -> list[str]:
    return [event.reason for event in plan.events]


# --- the Job a due activation gets ----------------------------------------------------


def test_before_the_first_activation_nothing_starts_and_it_looks_again_just_after() -> None:
    plan = plan_cronjob(cronjob(created_s=30), [], T0 + 40)
    assert plan.create is None
    assert plan.events == ()
    assert plan.requeue_after_s == pytest.approx(300 - 40 + 0.1)


def test_a_due_activation_gets_a_job_named_after_its_minute_since_the_epoch() -> None:
    cj = cronjob()
    plan = plan_cronjob(cj, [], T0 + 300.1)
    created = plan.create
    assert created is not None
    assert plan.scheduled_time == at(300)
    assert created.metadata.name == "report-29453765"  # (T0 + 300) // 60
    assert created.metadata.namespace == "default"
    assert created.metadata.labels == {"team": "data"}
    assert created.metadata.annotations == {
        "owner": "etl",
        SCHEDULED_TIMESTAMP_ANNOTATION: "2026-01-01T00:05:00Z",
    }
    assert created.metadata.owner_references == (
        OwnerReference(
            api_version="batch/v1",
            kind="CronJob",
            name="report",
            uid="cj-uid",
            controller=True,
            block_owner_deletion=True,
        ),
    )
    assert created.spec == cj.spec.job_template.spec
    assert plan.requeue_after_s == pytest.approx(300.0)  # 00:10:00.1
    assert plan.status == cj.status  # the Job joins once it exists
    stored = attrs.evolve(created, metadata=attrs.evolve(created.metadata, uid="u1"))
    after = plan.status_with(stored)
    assert [ref.uid for ref in after.active] == ["u1"]
    assert after.active[0].kind == "Job"
    assert after.active[0].api_version == "batch/v1"
    assert after.last_schedule_time == at(300)


def test_daily_in_new_york_fires_at_local_midnight_across_the_dst_change() -> None:
    cj = cronjob("@daily", time_zone="America/New_York", created_s=65 * DAY)  # Mar 7, 00:00Z
    march_8 = datetime(2026, 3, 8, 5, tzinfo=ZoneInfo("UTC")).timestamp()  # 00:00 EST
    plan = plan_cronjob(cj, [], march_8 + 0.1)
    assert plan.create is not None
    assert plan.scheduled_time is not None
    assert plan.scheduled_time.timestamp() == march_8
    annotation = plan.create.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION]
    assert annotation == "2026-03-08T00:00:00-05:00"
    assert plan.requeue_after_s == pytest.approx(23 * HOUR)  # Mar 9, 00:00 EDT is 04:00Z


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Kolkata", "2026-01-01T05:30:00+05:30"),
        ("America/St_Johns", "2025-12-31T20:30:00-03:30"),
        ("Europe/London", "2026-01-01T00:00:00Z"),
    ],
)
def test_the_scheduled_timestamp_is_rfc3339_in_the_cronjob_zone(zone: str, expected: str) -> None:
    made = job_from_template(cronjob(time_zone=zone), at(0), ZoneInfo(zone))
    assert made.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION] == expected


# --- missed schedules ------------------------------------------------------------------


def test_after_an_outage_only_the_most_recent_missed_activation_runs() -> None:
    cj = tracking(cronjob(), last_s=300)
    plan = plan_cronjob(cj, [], T0 + 3 * HOUR + 2 * MINUTE + 0.1)
    assert plan.scheduled_time == at(3 * HOUR)
    assert reasons(plan) == []
    assert plan.requeue_after_s == pytest.approx(3 * MINUTE)


def test_more_than_a_hundred_missed_activations_warn_but_still_run_the_latest() -> None:
    cj = tracking(cronjob("* * * * *"), last_s=0)
    hundred = plan_cronjob(cj, [], T0 + 100 * MINUTE + 30)  # 100 missed: the limit
    assert reasons(hundred) == []
    assert hundred.scheduled_time == at(100 * MINUTE)
    more = plan_cronjob(cj, [], T0 + 101 * MINUTE + 30)
    assert more.events == (
        CronJobEvent(
            "Warning",
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or "
            "check clock skew",
        ),
    )
    assert more.scheduled_time == at(101 * MINUTE)


def test_a_starting_deadline_skips_an_activation_missed_for_longer_and_says_so() -> None:
    cj = tracking(cronjob(deadline_s=60), last_s=0)
    plan = plan_cronjob(cj, [], T0 + HOUR + 3 * MINUTE + 0.1)
    assert plan.create is None
    assert plan.events == (
        CronJobEvent(
            "Warning",
            "MissSchedule",
            "Missed scheduled time to start a job: Thu, 01 Jan 2026 01:00:00 +0000",
        ),
    )
    assert plan.requeue_after_s == pytest.approx(2 * MINUTE)  # 01:05:00.1


def test_a_missed_activation_within_the_deadline_still_runs() -> None:
    cj = tracking(cronjob(deadline_s=200), last_s=0)
    plan = plan_cronjob(cj, [], T0 + HOUR + 3 * MINUTE + 0.1)
    assert plan.scheduled_time == at(HOUR)
    # 00:55 fell out of the window (01:03:00.1 - 200 s is after it)
    assert plan.events == (
        CronJobEvent(
            "Warning",
            "MissSchedule",
            "Missed scheduled time to start a job: Thu, 01 Jan 2026 00:55:00 +0000",
        ),
    )


def test_an_activation_already_processed_is_not_run_again() -> None:
    cj = tracking(cronjob(), last_s=300)
    plan = plan_cronjob(cj, [], T0 + 300.5)
    assert plan.create is None
    assert plan.requeue_after_s == pytest.approx(300 - 0.5 + 0.1)
    running = job(cj, 300)
    active = tracking(cronjob(), running)  # listed as active, status lost
    assert plan_cronjob(active, [running], T0 + 300.5).create is None


# --- concurrency policies -----------------------------------------------------------------


def test_allow_runs_alongside_an_active_job() -> None:
    cj = cronjob()
    running = job(cj, 300)
    plan = plan_cronjob(tracking(cj, running, last_s=300), [running], T0 + 600.1)
    assert plan.create is not None
    assert plan.replace == ()
    assert [ref.name for ref in plan.status.active] == [running.metadata.name]


def test_forbid_skips_while_a_job_is_active() -> None:
    cj = cronjob(policy="Forbid")
    running = job(cj, 300)
    plan = plan_cronjob(tracking(cj, running, last_s=300), [running], T0 + 600.1)
    assert plan.create is None
    assert plan.events == (
        CronJobEvent(
            "Normal",
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid",
        ),
    )
    assert plan.requeue_after_s == pytest.approx(300)


def test_replace_deletes_the_active_job_then_starts_the_next() -> None:
    cj = cronjob(policy="Replace")
    running = job(cj, 300)
    plan = plan_cronjob(tracking(cj, running, last_s=300), [running], T0 + 600.1)
    assert plan.replace == (running,)
    assert plan.delete == (running,)
    assert plan.create is not None
    assert plan.status.active == ()
    assert plan.scheduled_time == at(600)


# --- observing the Jobs -------------------------------------------------------------------


def test_a_finished_active_job_leaves_the_list_and_success_is_timed() -> None:
    cj = cronjob()
    done = job(cj, 300, finished="Complete", completed_s=400)
    plan = plan_cronjob(tracking(cj, done, last_s=300), [done], T0 + 450)
    assert plan.events == (
        CronJobEvent(
            "Normal",
            "SawCompletedJob",
            f"Saw completed job: {done.metadata.name}, condition: Complete",
        ),
    )
    assert plan.status.active == ()
    assert plan.status.last_successful_time == at(400)
    assert plan.status.last_schedule_time == at(300)


def test_a_failed_job_leaves_the_list_without_a_success_time() -> None:
    cj = cronjob()
    broken = job(cj, 300, finished="Failed", completed_s=None)
    plan = plan_cronjob(tracking(cj, broken, last_s=300), [broken], T0 + 450)
    assert plan.events[0].message.endswith("condition: Failed")
    assert plan.status.active == ()
    assert plan.status.last_successful_time is None


def test_the_last_successful_time_only_moves_forward() -> None:
    cj = cronjob(status=CronJobStatus(last_successful_time=at(1000)))
    older = job(cj, 300, finished="Complete", completed_s=500)
    assert plan_cronjob(cj, [older], T0 + 1100).status.last_successful_time == at(1000)
    newer = job(cj, 900, finished="Complete", completed_s=1050)
    assert plan_cronjob(cj, [older, newer], T0 + 1100).status.last_successful_time == at(1050)


def test_a_condition_that_is_not_true_does_not_finish_a_job() -> None:
    cj = cronjob()
    pending = attrs.evolve(
        job(cj, 300), status=JobStatus(conditions=(JobCondition(type="Complete", status="False"),))
    )
    assert finished_condition(pending) is None
    assert finished_condition(job(cj, 300, finished="Failed")) == "Failed"


def test_an_unfinished_job_the_cronjob_forgot_is_reported_not_adopted() -> None:
    cj = cronjob()
    stray = job(cj, 300)
    plan = plan_cronjob(tracking(cj, last_s=300), [stray], T0 + 400)
    assert plan.events == (
        CronJobEvent(
            "Warning",
            "UnexpectedJob",
            f"Saw a job that the controller did not create or forgot: {stray.metadata.name}",
        ),
    )
    assert plan.status.active == ()


def test_an_active_job_that_went_missing_leaves_the_list() -> None:
    cj = cronjob()
    gone = job(cj, 300)
    plan = plan_cronjob(tracking(cj, gone, last_s=300), [], T0 + 400)
    assert plan.events == (
        CronJobEvent("Normal", "MissingJob", f"Active job went missing: {gone.metadata.name}"),
    )
    assert plan.status.active == ()


def test_an_active_job_that_still_exists_without_its_owner_stays_listed() -> None:
    cj = cronjob()
    orphan = job(cj, 300)
    orphan = attrs.evolve(orphan, metadata=attrs.evolve(orphan.metadata, owner_references=()))
    plan = plan_cronjob(tracking(cj, orphan, last_s=300), [orphan], T0 + 400)
    assert plan.events == ()
    assert [ref.uid for ref in plan.status.active] == [orphan.metadata.uid]


def test_jobs_of_other_controllers_are_left_alone() -> None:
    cj = cronjob(successful=0)
    theirs = [
        attrs.evolve(
            job(cj, 300, finished="Complete", name=f"other-{kind}"),
            metadata=attrs.evolve(
                job(cj, 300).metadata,
                name=f"other-{kind}",
                owner_references=(OwnerReference(kind=kind, name=name, uid="x", controller=True),),
            ),
        )
        for kind, name in (("Deployment", "report"), ("CronJob", "nightly"))
    ]
    plan = plan_cronjob(cj, theirs, T0 + 400)
    assert plan.cleanup == ()
    assert plan.events == ()


# --- history limits -----------------------------------------------------------------------


def test_history_limits_delete_the_oldest_finished_jobs_first() -> None:
    cj = cronjob(successful=2, failed=1)
    ok = [
        job(cj, 300, finished="Complete", started_s=None, name="report-e"),  # unstarted: last
        job(cj, 600, finished="Complete", started_s=700, name="report-d"),
        job(cj, 900, finished="Complete", started_s=700, name="report-c"),  # same start: name
        job(cj, 1200, finished="Complete", started_s=100, name="report-b"),
    ]
    bad = [
        job(cj, 1500, finished="Failed", started_s=1500, name="report-g"),
        job(cj, 1800, finished="Failed", started_s=1000, name="report-f"),
    ]
    running = job(cj, 2100, name="report-h")
    plan = plan_cronjob(tracking(cj, running, last_s=2100), [*ok, *bad, running], T0 + 2200)
    assert [j.metadata.name for j in plan.cleanup] == ["report-b", "report-c", "report-f"]
    assert [ref.name for ref in plan.status.active] == ["report-h"]


def test_a_zero_limit_keeps_no_finished_job_and_still_records_the_success() -> None:
    cj = cronjob(successful=0, failed=0)
    done = job(cj, 300, finished="Complete", completed_s=350)
    plan = plan_cronjob(tracking(cj, done, last_s=300), [done], T0 + 400)
    assert plan.cleanup == (done,)
    assert plan.status.active == ()
    assert plan.status.last_successful_time == at(350)
    assert "SawCompletedJob" not in reasons(plan)  # it left the list as it was deleted


# --- when nothing is scheduled ---------------------------------------------------------------


def test_a_suspended_cronjob_starts_nothing_but_still_tracks_its_jobs() -> None:
    cj = cronjob(suspend=True)
    done = job(cj, 300, finished="Complete", completed_s=320)
    plan = plan_cronjob(tracking(cj, done, last_s=300), [done], T0 + 3 * HOUR)
    assert plan.create is None
    assert plan.requeue_after_s is None
    assert reasons(plan) == ["SawCompletedJob"]
    assert plan.status.active == ()


def test_a_cronjob_being_deleted_starts_nothing() -> None:
    cj = cronjob()
    cj = attrs.evolve(cj, metadata=attrs.evolve(cj.metadata, deletion_timestamp=at(200)))
    plan = plan_cronjob(cj, [], T0 + HOUR)
    assert plan.create is None
    assert plan.requeue_after_s is None


def test_an_unknown_time_zone_is_reported_and_nothing_is_scheduled() -> None:
    plan = plan_cronjob(cronjob(time_zone="Mars/Olympus"), [], T0 + HOUR)
    assert plan.events == (
        CronJobEvent(
            "Warning",
            "UnknownTimeZone",
            'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus',
        ),
    )
    assert plan.create is None
    assert plan.requeue_after_s is None


def test_an_unparseable_schedule_is_reported_and_nothing_is_scheduled() -> None:
    plan = plan_cronjob(cronjob("61 * * * *"), [], T0 + HOUR)
    assert plan.events == (
        CronJobEvent(
            "Warning",
            "UnparseableSchedule",
            'unparseable schedule: "61 * * * *" : minute 61 is out of range 0-59',
        ),
    )
    assert plan.requeue_after_s is None


def test_a_schedule_that_never_fires_is_an_invalid_schedule() -> None:
    plan = plan_cronjob(cronjob("0 0 30 2 *"), [], T0 + HOUR)
    (event,) = plan.events
    assert event.reason == "InvalidSchedule"
    assert event.message.startswith("invalid schedule: 0 0 30 2 * : it does not fire")
    assert plan.create is None
    assert plan.requeue_after_s is None


def test_a_time_zone_prefix_written_past_validation_is_warned_about_and_honoured() -> None:
    cj = cronjob("CRON_TZ=America/New_York 0 0 * * *", time_zone="Asia/Tokyo")
    plan = plan_cronjob(cj, [], T0 + 5 * HOUR + 0.1)  # 00:00 EST is 05:00Z
    assert reasons(plan) == ["UnsupportedSchedule"]
    assert plan.events[0].message.startswith(
        'CRON_TZ or TZ used in schedule "CRON_TZ=America/New_York 0 0 * * *" is not '
        "officially supported"
    )
    assert plan.scheduled_time == at(5 * HOUR)
    bad = plan_cronjob(cronjob("TZ=Mars/X 0 0 * * *"), [], T0 + HOUR)
    assert reasons(bad) == ["UnsupportedSchedule", "UnparseableSchedule"]
    assert bad.events[1].message == (
        'unparseable schedule: "TZ=Mars/X 0 0 * * *" : provided bad location Mars/X: '
        "unknown time zone Mars/X"
    )


# --- properties over many syncs ----------------------------------------------------------


@attrs.define
class World:
    """A CronJob and its Jobs synced by ``plan_cronjob`` and written back as the
    controller writes them (deletes, create, status)."""

    cj: CronJob
    now: float
    jobs: dict[str, Job] = attrs.Factory(dict)
    created: list[tuple[float, datetime]] = attrs.Factory(list)
    uids: itertools.count[int] = attrs.Factory(itertools.count)

    def sync(self) -> CronJobPlan:
        before = self.cj
        plan = plan_cronjob(self.cj, list(self.jobs.values()), self.now)
        for gone in plan.delete:
            del self.jobs[gone.metadata.name]
        status = plan.status
        if plan.create is not None:
            assert plan.scheduled_time is not None
            name = plan.create.metadata.name
            assert name not in self.jobs
            stamp = to_datetime(int(self.now))
            stored = attrs.evolve(
                plan.create,
                metadata=attrs.evolve(
                    plan.create.metadata, uid=f"j{next(self.uids)}", creation_timestamp=stamp
                ),
                status=JobStatus(start_time=stamp),
            )
            self.jobs[name] = stored
            status = plan.status_with(stored)
            self.created.append((self.now, plan.scheduled_time))
            assert before.status.last_schedule_time is None or (
                plan.scheduled_time > before.status.last_schedule_time
            )
        self.cj = attrs.evolve(self.cj, status=status)
        return plan

    def finish(self, index: int, condition: str) -> None:
        unfinished = sorted(n for n, j in self.jobs.items() if finished_condition(j) is None)
        if not unfinished:
            return
        name = unfinished[index % len(unfinished)]
        stamp = to_datetime(int(self.now))
        old = self.jobs[name]
        self.jobs[name] = attrs.evolve(
            old,
            status=attrs.evolve(
                old.status,
                conditions=(JobCondition(type=condition, status="True"),),
                completion_time=stamp if condition == "Complete" else None,
            ),
        )

    def finish_all(self) -> None:
        for _ in range(len(self.jobs)):
            self.finish(0, "Complete")


SCHEDULES = (
    "*/5 * * * *",
    "*/7 * * * *",
    "0 * * * *",
    "@hourly",
    "@daily",
    "0 1 * * *",
    "30 2 * * *",
    "30 10-12 * * 1-5",
    "0 0 * * SUN",
    "15 */3 * * *",
    "@every 90s",
)
ZONES = (None, "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata")
# around the 2026 DST changes (Mar 8 / Mar 29 / Apr 5 / Oct 4 / Oct 25 / Nov 1) and elsewhere
STARTS = [s * DAY for s in (0, 65, 66, 86, 92, 93, 275, 296, 297, 303, 304)]


def _zone(name: str | None) -> ZoneInfo | None:
    return None if name is None else ZoneInfo(name)


@settings(max_examples=80, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    zone=st.sampled_from(ZONES),
    start_s=st.sampled_from(STARTS),
    offset_s=st.integers(0, DAY),
    syncs=st.integers(5, 40),
)
def test_following_the_requeue_runs_every_activation_exactly_once(
    schedule: str, zone: str | None, start_s: int, offset_s: int, syncs: int
) -> None:
    """Woken when it asks, the controller starts one Job per activation, on time."""
    created = start_s + offset_s
    world = World(cronjob(schedule, time_zone=zone, created_s=created), now=T0 + created + 0.5)
    for _ in range(syncs):
        plan = world.sync()
        world.finish_all()
        assert plan.requeue_after_s is not None
        assert plan.requeue_after_s > 0
        world.now += plan.requeue_after_s
    expected = list(
        CronSchedule.parse(schedule).times_between(
            at(created), to_datetime(world.now - 1), _zone(zone)
        )
    )
    assert [scheduled for _, scheduled in world.created] == expected
    for created_at, scheduled in world.created:
        assert created_at - scheduled.timestamp() == pytest.approx(0.1)


ACTIONS = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 10 * MINUTE)),
    st.tuples(st.just("wait"), st.integers(HOUR, 3 * DAY)),  # an outage
    st.tuples(st.just("follow"), st.just(0)),
    st.tuples(st.just("Complete"), st.integers(0, 5)),
    st.tuples(st.just("Failed"), st.integers(0, 5)),
    st.tuples(st.just("suspend"), st.integers(0, 1)),
)


@settings(max_examples=120, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    zone=st.sampled_from(ZONES),
    policy=st.sampled_from(["Allow", "Forbid", "Replace"]),
    deadline_s=st.one_of(st.none(), st.integers(0, 2 * HOUR)),
    successful=st.integers(0, 4),
    failed=st.integers(0, 3),
    start_s=st.sampled_from(STARTS),
    actions=st.lists(ACTIONS, min_size=1, max_size=30),
)
def test_any_history_keeps_the_cronjob_invariants(
    schedule: str,
    zone: str | None,
    policy: str,
    deadline_s: int | None,
    successful: int,
    failed: int,
    start_s: int,
    actions: Sequence[tuple[str, int]],
) -> None:
    cj = cronjob(
        schedule,
        time_zone=zone,
        policy=policy,
        deadline_s=deadline_s,
        successful=successful,
        failed=failed,
        created_s=start_s,
    )
    world = World(cj, now=T0 + start_s + 0.25)
    parsed, tz = CronSchedule.parse(schedule), _zone(zone)
    requeue: float | None = None
    for action, value in actions:
        if action == "wait":
            world.now += value
        elif action == "follow" and requeue is not None:
            world.now += requeue
        elif action in ("Complete", "Failed"):
            world.finish(value, action)
        elif action == "suspend":
            world.cj = attrs.evolve(world.cj, spec=attrs.evolve(world.cj.spec, suspend=bool(value)))
        plan = world.sync()
        requeue = plan.requeue_after_s
        check_invariants(world, plan, parsed, tz)


def check_invariants(
    world: World, plan: CronJobPlan, schedule: CronSchedule, tz: ZoneInfo | None
) -> None:
    spec = world.cj.spec
    # never more than one Job per scheduled time, and never the same name twice
    times = [scheduled for _, scheduled in world.created]
    assert len(set(times)) == len(times)
    assert times == sorted(times)
    for created_at, scheduled in world.created:
        # an activation of the schedule, after the CronJob was made, not in the future
        assert world.cj.metadata.creation_timestamp is not None
        assert world.cj.metadata.creation_timestamp < scheduled <= to_datetime(created_at)
        if schedule.every_s is None:  # @every counts from wherever the window starts
            assert schedule.next_after(scheduled - timedelta(seconds=1), tz) == scheduled
        if spec.starting_deadline_seconds is not None:
            assert scheduled.timestamp() >= created_at - spec.starting_deadline_seconds
    if spec.suspend:
        assert plan.create is None
        assert plan.requeue_after_s is None
    # history within the limits; active lists exactly the unfinished Jobs
    conditions = [finished_condition(j) for j in world.jobs.values()]
    assert conditions.count("Complete") <= spec.successful_jobs_history_limit
    assert conditions.count("Failed") <= spec.failed_jobs_history_limit
    unfinished = {n for n, j in world.jobs.items() if finished_condition(j) is None}
    assert {ref.name for ref in world.cj.status.active} == unfinished
    if spec.concurrency_policy != "Allow":
        assert len(unfinished) <= 1
    if plan.create is not None:
        assert plan.create.metadata.name == job_name(world.cj, plan.scheduled_time or at(0))
