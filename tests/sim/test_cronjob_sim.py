"""The CronJob controller in a whole simulated cluster, over virtual days: schedules,
history limits, concurrency policies, suspend, time zones across DST, and missed
schedules after a controller outage.

Jobs are finished by a stand-in (the cluster runs without its Job controller;
:func:`finish_jobs`: each Job is marked started at
once and Complete, or Failed, a fixed number of virtual seconds later), so these tests
need no Job controller. The end of the module runs the real Job controller as well
when it exists.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.abc
import attrs
import pytest

import orbit
from orbit.api import CronJob, Event, Job, JobCondition, JobStatus, load_manifests
from orbit.clock import Clock, ManualClock, current_clock, to_datetime
from orbit.controllers._cronjob import CronJobController
from orbit.controllers._cronjob_plan import SCHEDULED_TIMESTAMP_ANNOTATION, job_from_template
from orbit.errors import NotFound, OrbitError, ValidationError
from orbit.node import Node
from orbit.runtimes._sim import SimRuntime
from orbit.simulation import SIMULATION_START, simulate
from orbit.store import MemoryStore, Store

pytestmark = pytest.mark.anyio

MINUTE, HOUR, DAY = 60, 3600, 86400
START = to_datetime(SIMULATION_START)  # 2026-01-01T00:00:00Z


# --- helpers ---------------------------------------------------------------------------


def nodes() -> list[Node]:
    return [Node("n1", runtime=SimRuntime({"cpu": "4", "memory": "16Gi"}))]


def cronjob(name: str, schedule: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            **spec,
            "jobTemplate": {
                "metadata": {"labels": {"cron": name}},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "etl", "image": "sim"}],
                        }
                    }
                },
            },
        },
    }


async def start_cronjobs(cluster: orbit.Cluster) -> None:
    await cluster.start_controller(CronJobController(cluster.store, cluster.clock))


@contextlib.asynccontextmanager
async def cron_cluster(
    *, run_s: float, fails: Callable[[Job], bool] = lambda _: False
) -> AsyncIterator[orbit.Cluster]:
    """A cluster running the CronJob controller without the Job controller, with
    :func:`finish_jobs` standing in for it until the block ends."""
    async with (
        orbit.Cluster(nodes=nodes(), seed=1, controllers=["*", "-job"]) as cluster,
        anyio.create_task_group() as group,
    ):
        await start_cronjobs(cluster)
        await group.start(
            lambda task_status: finish_jobs(
                cluster.store, cluster.clock, run_s=run_s, fails=fails, task_status=task_status
            )
        )
        yield cluster
        group.cancel_scope.cancel()


async def finish_jobs(
    store: Store,
    clock: Clock,
    *,
    run_s: float,
    fails: Callable[[Job], bool] = lambda _: False,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Stand in for the Job controller: every new Job starts at once and finishes
    ``run_s`` virtual seconds later, Failed when ``fails(job)``, else Complete."""
    async with anyio.create_task_group() as group, store.watch(Job) as watch:
        task_status.started()
        async for event in watch:
            if event.type == "ADDED":
                group.start_soon(_run_job, store, clock, event.object, run_s, fails)


async def _run_job(
    store: Store, clock: Clock, job: Job, run_s: float, fails: Callable[[Job], bool]
) -> None:
    name, namespace = job.metadata.name, job.metadata.namespace
    started = to_datetime(int(clock.now()))  # API times are whole seconds
    store.update_status(attrs.evolve(job, status=JobStatus(start_time=started)))
    await clock.sleep(run_s)
    try:
        job = store.get(Job, name, namespace)
    except NotFound:
        return  # replaced or deleted meanwhile
    now = to_datetime(int(clock.now()))
    if fails(job):
        condition = JobCondition(type="Failed", status="True", reason="BackoffLimitExceeded")
        status = attrs.evolve(job.status, conditions=(condition,))
    else:
        condition = JobCondition(type="Complete", status="True")
        status = attrs.evolve(job.status, conditions=(condition,), completion_time=now)
    store.update_status(attrs.evolve(job, status=status))


def scheduled(job: Job) -> datetime:
    return datetime.fromisoformat(job.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION])


async def jobs_of(cluster: orbit.Cluster, name: str) -> list[Job]:
    jobs: list[Job] = await cluster.list("jobs", "default", selector={"cron": name})
    return sorted(jobs, key=scheduled)


async def events_of(cluster: orbit.Cluster, name: str, reason: str) -> list[Event]:
    cron_job = await cluster.get("cronjob", name)
    return [e for e in await cluster.events(involved=cron_job) if e.reason == reason]


async def sleep_until(cluster: orbit.Cluster, offset_s: float) -> None:
    """Sleep until ``offset_s`` virtual seconds after the simulation's start."""
    await anyio.sleep(SIMULATION_START + offset_s - cluster.clock.now())


# --- a day on a schedule ------------------------------------------------------------------


async def test_every_five_minutes_for_a_day_runs_288_jobs_and_keeps_the_history_limits() -> None:
    def hourly_fails(job: Job) -> bool:
        return scheduled(job).minute == 0

    async with cron_cluster(run_s=60, fails=hourly_fails) as cluster:
        await cluster.apply(cronjob("etl", "*/5 * * * *"))
        await sleep_until(cluster, DAY + 90)

        created = await events_of(cluster, "etl", "SuccessfulCreate")
        assert len(created) == 288
        assert created[0].message == "Created job etl-29453765"  # 00:05Z in epoch minutes
        assert len(await events_of(cluster, "etl", "SawCompletedJob")) == 288
        assert len(await events_of(cluster, "etl", "SuccessfulDelete")) == 284
        kept = await jobs_of(cluster, "etl")
        assert [scheduled(j) for j in kept] == [
            START + timedelta(hours=23, minutes=45),
            START + timedelta(hours=23, minutes=50),
            START + timedelta(hours=23, minutes=55),
            START + timedelta(days=1),  # failed: the one failed Job kept
        ]
        for job in kept:  # each created in the second it was due
            assert job.metadata.creation_timestamp == scheduled(job)
            assert job.metadata.name == f"etl-{int(scheduled(job).timestamp()) // 60}"
        assert kept[-1].status.conditions[0].type == "Failed"
        status = (await cluster.get("cronjob", "etl")).status
        assert status.active == ()
        assert status.last_schedule_time == START + timedelta(days=1)
        assert status.last_successful_time == START + timedelta(hours=23, minutes=56)


# --- concurrency policies ---------------------------------------------------------------------


async def test_forbid_skips_while_a_job_runs_and_then_runs_the_latest_missed_time() -> None:
    """Kubernetes' Forbid: an activation due while a Job runs is skipped, but the most
    recent skipped one runs as soon as that Job finishes, unless a starting deadline
    has passed by then."""
    async with cron_cluster(run_s=12 * MINUTE) as cluster:
        history = {"successfulJobsHistoryLimit": 10, "concurrencyPolicy": "Forbid"}
        await cluster.apply(
            [
                cronjob("catchup", "*/5 * * * *", **history),
                cronjob("strict", "*/5 * * * *", startingDeadlineSeconds=60, **history),
            ]
        )
        await sleep_until(cluster, HOUR + 30)

        catchup = await jobs_of(cluster, "catchup")
        # 00:05 runs until 00:17; then 00:15, the latest skipped, runs at once; and so on
        assert [(scheduled(j) - START, j.metadata.creation_timestamp) for j in catchup] == [
            (timedelta(minutes=due), START + timedelta(minutes=began))
            for due, began in ((5, 5), (15, 17), (25, 29), (40, 41), (50, 53))
        ]
        strict = await jobs_of(cluster, "strict")
        assert [scheduled(j) - START for j in strict] == [
            timedelta(minutes=m) for m in (5, 20, 35, 50)
        ]
        for jobs in (catchup, strict):  # never two at once
            for earlier, later in itertools.pairwise(jobs):
                assert earlier.status.completion_time is not None
                assert later.metadata.creation_timestamp is not None
                assert earlier.status.completion_time <= later.metadata.creation_timestamp
        (skipped,) = await events_of(cluster, "strict", "JobAlreadyActive")
        assert skipped.type == "Normal"
        assert skipped.message == (
            "Not starting job because prior execution is running and concurrency policy is Forbid"
        )
        missed = {e.message[-14:-6] for e in await events_of(cluster, "strict", "MissSchedule")}
        assert missed == {f"00:{m:02d}:00" for m in (10, 15, 25, 30, 40, 45, 55)}
        assert await events_of(cluster, "catchup", "MissSchedule") == []


async def test_each_activation_skipped_by_forbid_is_synced_and_reported_once() -> None:
    async with cron_cluster(run_s=12 * MINUTE) as cluster:
        await cluster.apply(
            cronjob("strict", "*/5 * * * *", startingDeadlineSeconds=60, concurrencyPolicy="Forbid")
        )
        await sleep_until(cluster, HOUR + 30)
        (skipped,) = await events_of(cluster, "strict", "JobAlreadyActive")
        assert skipped.count == 8  # 00:10, 00:15, 00:25, 00:30, 00:40, 00:45, 00:55, 01:00


async def test_replace_deletes_the_running_job_at_the_next_activation() -> None:
    async with cron_cluster(run_s=7 * MINUTE) as cluster:
        await cluster.apply(cronjob("swap", "*/5 * * * *", concurrencyPolicy="Replace"))
        await sleep_until(cluster, 31 * MINUTE)

        (survivor,) = await jobs_of(cluster, "swap")
        assert scheduled(survivor) == START + timedelta(minutes=30)
        assert survivor.status.conditions == ()
        created = await events_of(cluster, "swap", "SuccessfulCreate")
        deleted = await events_of(cluster, "swap", "SuccessfulDelete")
        assert len(created) == 6
        assert [e.message for e in deleted] == [
            f"Deleted job swap-{int((START + timedelta(minutes=m)).timestamp()) // 60}"
            for m in (5, 10, 15, 20, 25)
        ]
        assert await events_of(cluster, "swap", "SawCompletedJob") == []
        status = (await cluster.get("cronjob", "swap")).status
        assert [ref.name for ref in status.active] == [survivor.metadata.name]


# --- suspend ----------------------------------------------------------------------------------


async def test_suspend_stops_creation_and_resuming_runs_the_most_recent_missed_time() -> None:
    async with cron_cluster(run_s=30) as cluster:
        await cluster.apply(cronjob("pause", "*/5 * * * *", successfulJobsHistoryLimit=100))
        await sleep_until(cluster, 22 * MINUTE)
        await cluster.apply(
            cronjob("pause", "*/5 * * * *", successfulJobsHistoryLimit=100, suspend=True)
        )
        await sleep_until(cluster, HOUR + 2 * MINUTE)
        assert len(await jobs_of(cluster, "pause")) == 4  # 00:05 - 00:20
        await cluster.apply(cronjob("pause", "*/5 * * * *", successfulJobsHistoryLimit=100))
        await sleep_until(cluster, HOUR + 6 * MINUTE)

        jobs = await jobs_of(cluster, "pause")
        assert [scheduled(j) - START for j in jobs] == [
            timedelta(minutes=m) for m in (5, 10, 15, 20, 60, 65)
        ]
        # Kubernetes runs the latest missed activation as soon as it is resumed
        assert jobs[4].metadata.creation_timestamp == START + timedelta(hours=1, minutes=2)


# --- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            datetime(2026, 3, 6, 12, tzinfo=UTC),  # spring forward on Mar 8
            [
                "2026-03-07T00:00:00-05:00",
                "2026-03-08T00:00:00-05:00",
                "2026-03-09T00:00:00-04:00",
                "2026-03-10T00:00:00-04:00",
            ],
        ),
        (
            datetime(2026, 10, 30, 12, tzinfo=UTC),  # fall back on Nov 1
            [
                "2026-10-31T00:00:00-04:00",
                "2026-11-01T00:00:00-04:00",
                "2026-11-02T00:00:00-05:00",
                "2026-11-03T00:00:00-05:00",
            ],
        ),
    ],
)
def test_daily_in_new_york_fires_at_local_midnight_across_dst(
    start: datetime, expected: list[str]
) -> None:
    async def main() -> list[tuple[str, datetime | None]]:
        async with cron_cluster(run_s=60) as cluster:
            manifest = cronjob(
                "nightly", "@daily", timeZone="America/New_York", successfulJobsHistoryLimit=10
            )
            await cluster.apply(manifest)
            await anyio.sleep(4 * DAY)
            return [
                (
                    j.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION],
                    j.metadata.creation_timestamp,
                )
                for j in await jobs_of(cluster, "nightly")
            ]

    runs = simulate(main, start=start.timestamp())
    assert [annotation for annotation, _ in runs] == expected
    for annotation, created in runs:
        assert created == datetime.fromisoformat(annotation)


async def test_a_time_zone_in_the_schedule_is_refused_at_apply() -> None:
    async with orbit.Cluster(nodes=[], seed=1) as cluster:
        with pytest.raises(ValidationError) as refused:
            await cluster.apply(cronjob("tz", "CRON_TZ=Europe/Berlin 0 3 * * *"))
        assert "cannot use TZ or CRON_TZ in schedule, use timeZone field instead" in str(
            refused.value
        )


# --- missed schedules after an outage ---------------------------------------------------------


async def test_after_an_outage_only_the_latest_missed_time_runs_within_its_deadline() -> None:
    """The control plane stops at 01:00:30 and a new one starts on the same store at
    03:03:30: the Jobs missed meanwhile are not run one by one."""
    store = MemoryStore(clock=current_clock(), seed=1)
    async with anyio.create_task_group() as group:
        await group.start(
            lambda task_status: finish_jobs(
                store, current_clock(), run_s=30, task_status=task_status
            )
        )
        async with orbit.Cluster(
            store=store, nodes=[], seed=1, controllers=["*", "-job"]
        ) as cluster:
            await start_cronjobs(cluster)
            limits = {"successfulJobsHistoryLimit": 100}
            await cluster.apply(
                [
                    cronjob("eager", "*/5 * * * *", **limits),
                    cronjob("late", "*/5 * * * *", startingDeadlineSeconds=120, **limits),
                    cronjob("minutely", "* * * * *", **limits),
                ]
            )
            await sleep_until(cluster, HOUR + 30)
        await anyio.sleep(SIMULATION_START + 3 * HOUR + 3 * MINUTE + 30 - current_clock().now())
        async with orbit.Cluster(
            store=store, nodes=[], seed=2, controllers=["*", "-job"]
        ) as cluster:
            await start_cronjobs(cluster)
            await sleep_until(cluster, 3 * HOUR + 6 * MINUTE)

            eager = [scheduled(j) - START for j in await jobs_of(cluster, "eager")]
            assert len(eager) == 14
            assert eager[-3:] == [
                timedelta(hours=h, minutes=m) for h, m in ((1, 0), (3, 0), (3, 5))
            ]
            assert (await jobs_of(cluster, "eager"))[-2].metadata.creation_timestamp == (
                START + timedelta(hours=3, minutes=3, seconds=30)
            )
            late = [scheduled(j) - START for j in await jobs_of(cluster, "late")]
            assert len(late) == 13
            assert late[-2:] == [timedelta(hours=1), timedelta(hours=3, minutes=5)]
            (missed,) = await events_of(cluster, "late", "MissSchedule")
            assert missed.message == (
                "Missed scheduled time to start a job: Thu, 01 Jan 2026 03:00:00 +0000"
            )
            # 122 activations missed: a warning, and still only the latest (03:03) runs
            (too_many,) = await events_of(cluster, "minutely", "TooManyMissedTimes")
            assert too_many.type == "Warning"
            assert await events_of(cluster, "eager", "TooManyMissedTimes") == []
            minutely = [scheduled(j) - START for j in await jobs_of(cluster, "minutely")]
            assert len(minutely) == 60 + 3
            assert minutely[-4:] == [timedelta(hours=1)] + [
                timedelta(hours=3, minutes=m) for m in (3, 4, 5)
            ]
        group.cancel_scope.cancel()


# --- the controller's writes, without a loop -----------------------------------------------------


def _direct(
    store_class: type[MemoryStore] = MemoryStore,
) -> tuple[MemoryStore, ManualClock, CronJobController]:
    clock = ManualClock(SIMULATION_START)
    store = store_class(clock=clock, seed=1)
    return store, clock, CronJobController(store, clock)


def _stored_cronjob(store: Store) -> CronJob:
    (cron_job,) = load_manifests(cronjob("etl", "*/5 * * * *"))
    cron_job = attrs.evolve(cron_job, metadata=attrs.evolve(cron_job.metadata, namespace="default"))
    created: CronJob = store.create(cron_job)
    return created


def test_a_job_created_before_a_lost_status_write_is_taken_back_without_a_second_run() -> None:
    store, clock, controller = _direct()
    cron_job = _stored_cronjob(store)
    clock.advance(5 * MINUTE + 0.1)
    early = store.create(job_from_template(cron_job, START + timedelta(minutes=5)))
    assert controller.reconcile(("default", "etl")) == pytest.approx(5 * MINUTE)
    status = store.get(CronJob, "etl", "default").status
    assert [ref.uid for ref in status.active] == [early.metadata.uid]
    assert status.last_schedule_time == START + timedelta(minutes=5)
    reasons = [e.reason for e in store.list(Event).items]
    assert reasons == ["UnexpectedJob"]  # seen before the create found it: no SuccessfulCreate


def test_a_job_of_the_same_name_that_someone_else_owns_is_left_alone() -> None:
    store, clock, controller = _direct()
    cron_job = _stored_cronjob(store)
    clock.advance(5 * MINUTE + 0.1)
    theirs = job_from_template(cron_job, START + timedelta(minutes=5))
    store.create(attrs.evolve(theirs, metadata=attrs.evolve(theirs.metadata, owner_references=())))
    assert controller.reconcile(("default", "etl")) is None
    assert store.get(CronJob, "etl", "default").status.active == ()


class _RefusingStore(MemoryStore):
    def create(self, obj: Any) -> Any:
        if isinstance(obj, Job):
            raise OrbitError("exceeded quota: team-a, requested: count/jobs.batch=1")
        return super().create(obj)


def test_a_refused_create_is_reported_and_retried_without_moving_the_schedule() -> None:
    store, clock, controller = _direct(_RefusingStore)
    _stored_cronjob(store)
    clock.advance(5 * MINUTE + 0.1)
    with pytest.raises(OrbitError, match="exceeded quota"):
        controller.reconcile(("default", "etl"))
    (event,) = store.list(Event).items
    assert (event.type, event.reason) == ("Warning", "FailedCreate")
    assert event.message == (
        "Error creating job: exceeded quota: team-a, requested: count/jobs.batch=1"
    )
    assert store.get(CronJob, "etl", "default").status.last_schedule_time is None


def test_a_cronjob_that_is_gone_is_not_looked_at_again() -> None:
    store, _, controller = _direct()
    assert controller.reconcile(("default", "gone")) is None
    assert store.list(Job).items == []


# --- with the real Job controller -------------------------------------------------------


HAS_JOB_CONTROLLER = importlib.util.find_spec("orbit.controllers._job") is not None
if HAS_JOB_CONTROLLER:
    from orbit.controllers._job import JobController


def pod_cronjob(name: str, schedule: str, run_s: int, **spec: Any) -> dict[str, Any]:
    """A CronJob whose pods run ``run_s`` seconds on SimRuntime, then succeed."""
    manifest = cronjob(name, schedule, **spec)
    template = manifest["spec"]["jobTemplate"]["spec"]["template"]
    template["metadata"] = {"annotations": {"sim.orbit.dev/run-seconds": str(run_s)}}
    return manifest


@pytest.mark.skipif(not HAS_JOB_CONTROLLER, reason="no Job controller yet")
async def test_a_day_of_cronjobs_running_real_pods_through_the_job_controller() -> None:
    async with orbit.Cluster(nodes=nodes(), seed=2) as cluster:
        await start_cronjobs(cluster)
        await cluster.start_controller(JobController(cluster.store, cluster.clock))
        await cluster.apply(
            [
                pod_cronjob("etl", "*/5 * * * *", 60),
                pod_cronjob(
                    "slow",
                    "*/5 * * * *",
                    12 * MINUTE,
                    concurrencyPolicy="Forbid",
                    startingDeadlineSeconds=60,
                ),
            ]
        )
        await sleep_until(cluster, DAY + 3 * MINUTE)

        assert len(await events_of(cluster, "etl", "SuccessfulCreate")) == 288
        kept = await jobs_of(cluster, "etl")
        assert [scheduled(j) - START for j in kept] == [
            timedelta(hours=23, minutes=50),
            timedelta(hours=23, minutes=55),
            timedelta(days=1),
        ]
        for job in kept:
            assert job.status.succeeded == 1
            assert [c.type for c in job.status.conditions if c.status == "True"] == ["Complete"]
        etl = await cluster.get("cronjob", "etl")
        assert etl.status.active == ()
        assert etl.status.last_successful_time == kept[-1].status.completion_time
        # the pods of the Jobs the history limit deleted went with them
        pods = await cluster.list("pods", "default")
        owners = {p.metadata.labels["batch.kubernetes.io/job-name"] for p in pods}
        assert {o for o in owners if o.startswith("etl-")} == {j.metadata.name for j in kept}
        assert len(pods) == len(owners)

        # Forbid with a deadline: a Job every 15 minutes (5, 20, 35, 50 past the hour)
        slow = await events_of(cluster, "slow", "SuccessfulCreate")
        assert len(slow) == 4 * 24
        assert {int(e.message.rsplit("-", 1)[1]) % 60 for e in slow} == {5, 20, 35, 50}
        last = (await cluster.get("cronjob", "slow")).status.last_schedule_time
        assert last == START + timedelta(hours=23, minutes=50)
