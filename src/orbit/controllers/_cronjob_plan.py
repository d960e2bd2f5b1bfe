"""The CronJob controller's decisions, as pure functions (Kubernetes'
``pkg/controller/cronjob``, ``cronjob_controllerv2.go`` and ``utils.go``, v1.30).

:func:`plan_cronjob` is one ``sync`` of a CronJob, in Kubernetes' order:

1. **cleanupFinishedJobs**: finished Jobs (a ``Complete`` or ``Failed`` condition that
   is True) beyond ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit`` are
   deleted, oldest first by ``status.startTime`` (unstarted last, names break ties),
   and leave ``status.active``.
2. **syncCronJob**, observing: an unfinished Job the CronJob does not list as active
   is reported (``UnexpectedJob``); an active one that finished leaves the list
   (``SawCompletedJob``); a succeeded one moves ``lastSuccessfulTime`` forward; an
   active reference whose Job is gone leaves the list (``MissingJob``).
3. **syncCronJob**, scheduling (not for a CronJob being deleted, nor a suspended one,
   nor one whose time zone or schedule is unusable, each with its warning): the most
   recent activation in ``(lastScheduleTime or creationTimestamp, now]``, the window
   starting no earlier than ``now - startingDeadlineSeconds``, gets a Job; every older
   missed activation is skipped (more than 100 missed: ``TooManyMissedTimes``). Not
   when that time already has its Job, nor under ``Forbid`` while a Job is active
   (``JobAlreadyActive``); ``Replace`` first deletes the active Jobs.
4. **nextScheduleTimeDuration**: look again 100 ms after the next activation.

Two deliberate differences from v1.30, both documented in ``docs/cronjobs.md``:

- ``lastSuccessfulTime`` moves on the same sync that sees an active Job complete (the
  fix Kubernetes made in 1.31, kubernetes#122025); 1.30 waited for the next sync and
  lost the time when the Job was deleted in between (``ttlSecondsAfterFinished: 0``).
- A missed activation that ``startingDeadlineSeconds`` cuts off is reported with
  Kubernetes' own ``MissSchedule`` event. Kubernetes has that event, but its window
  already starts at ``now - startingDeadlineSeconds``, so its "too late" test can never
  pass and it skips such activations silently.

Schedules without ``timeZone`` run on UTC (Kubernetes: the controller manager's local
zone, UTC in most clusters).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from orbit.api import (
    MISSED_SCHEDULES_LIMIT,
    CronJob,
    CronJobStatus,
    CronSchedule,
    Job,
    ObjectMeta,
    ObjectReference,
    most_recent_missed,
)
from orbit.clock import to_datetime
from orbit.errors import ValidationError
from orbit.store import reference_to

from ._pods import owner_reference

__all__ = [
    "NEXT_SCHEDULE_DELTA_S",
    "SCHEDULED_TIMESTAMP_ANNOTATION",
    "CronJobEvent",
    "CronJobPlan",
    "controlled_jobs",
    "finished_condition",
    "job_from_template",
    "job_name",
    "plan_cronjob",
]

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
"""Set on every Job to its scheduled time, RFC 3339 in the CronJob's zone (Kubernetes'
CronJobsScheduledAnnotation, on by default since 1.28)."""

NEXT_SCHEDULE_DELTA_S = 0.1
"""Kubernetes' ``nextScheduleDelta``: the controller wakes this long after a scheduled
time, so a clock read a little early still finds that time due."""

_UNSUPPORTED_TZ = (
    'CRON_TZ or TZ used in schedule "{}" is not officially supported, see '
    "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
)
_TOO_MANY = (
    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
)
_FORBID = "Not starting job because prior execution is running and concurrency policy is Forbid"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

EventType = Literal["Normal", "Warning"]


@attrs.frozen
class CronJobEvent:
    """An event the controller records about the CronJob."""

    type: EventType
    reason: str
    message: str


@attrs.frozen(kw_only=True)
class CronJobPlan:
    """What one sync of a CronJob does, in this order: delete ``cleanup``, record
    ``events``, delete ``replace``, create ``create``, write the status.

    Deletions propagate in the background (the Job goes at once, its pods after it);
    each successful one is recorded as ``SuccessfulDelete`` "Deleted job <name>", the
    creation as ``SuccessfulCreate`` "Created job <name>".
    """

    cleanup: tuple[Job, ...] = ()
    """Finished Jobs beyond the history limits, oldest first."""
    events: tuple[CronJobEvent, ...] = ()
    replace: tuple[Job, ...] = ()
    """Active Jobs that ``concurrencyPolicy: Replace`` deletes before creating."""
    create: Job | None = None
    scheduled_time: datetime | None = None
    """The activation ``create`` runs (UTC)."""
    status: CronJobStatus
    """The status without ``create``: see :meth:`status_with` once it exists."""
    requeue_after_s: float | None = None
    """Seconds until the next activation plus :data:`NEXT_SCHEDULE_DELTA_S`; ``None``
    when nothing will fire (suspended, unusable schedule, being deleted)."""

    @property
    def delete(self) -> tuple[Job, ...]:
        """Every Job this sync deletes."""
        return self.cleanup + self.replace

    def status_with(self, created: Job) -> CronJobStatus:
        """The status once ``created`` (the stored Job, uid set) exists: it joins
        ``active`` and its scheduled time becomes ``lastScheduleTime``."""
        return attrs.evolve(
            self.status,
            active=(*self.status.active, reference_to(created)),
            last_schedule_time=self.scheduled_time,
        )


# ---------------------------------------------------------------- small helpers


def finished_condition(job: Job) -> Literal["Complete", "Failed"] | None:
    """``Complete`` or ``Failed`` when that condition is True (Kubernetes'
    ``jobutil.FinishedCondition``), else ``None``."""
    for condition in job.status.conditions:
        if condition.status == "True" and condition.type in ("Complete", "Failed"):
            return "Complete" if condition.type == "Complete" else "Failed"
    return None


def controlled_jobs(cron_job: CronJob, jobs: Iterable[Job]) -> list[Job]:
    """The Jobs whose controller is a CronJob of this name (Kubernetes'
    ``getJobsToBeReconciled`` matches the name only; orbit also checks the kind, so a
    Job another kind of controller owns is never deleted as history)."""
    name = cron_job.metadata.name
    result = []
    for job in jobs:
        ref = job.metadata.controller_ref()
        if ref is not None and ref.kind == "CronJob" and ref.name == name:
            result.append(job)
    return result


def job_name(cron_job: CronJob, scheduled: datetime) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>`` (``getJobName``): the
    same name for the same activation, so a retried create cannot run it twice."""
    return f"{cron_job.metadata.name}-{int(scheduled.timestamp()) // 60}"


def job_from_template(cron_job: CronJob, scheduled: datetime, zone: tzinfo = UTC) -> Job:
    """The Job for activation ``scheduled`` (``getJobFromTemplate2``): the template's
    labels, annotations and spec, the scheduled-timestamp annotation in ``zone``, and a
    controller reference to the CronJob."""
    template = cron_job.spec.job_template
    annotations = {
        **template.metadata.annotations,
        SCHEDULED_TIMESTAMP_ANNOTATION: _rfc3339(scheduled, zone),
    }
    return Job(
        metadata=ObjectMeta(
            name=job_name(cron_job, scheduled),
            namespace=cron_job.metadata.namespace,
            labels=dict(template.metadata.labels),
            annotations=annotations,
            owner_references=(owner_reference(cron_job),),
        ),
        spec=template.spec,
    )


def _rfc3339(t: datetime, zone: tzinfo) -> str:
    """Go's ``time.RFC3339``: ``Z`` for a zero offset, else ``+hh:mm``."""
    local = t.astimezone(zone)
    offset = local.utcoffset() or timedelta()
    minutes = int(offset.total_seconds() / 60)  # Go truncates towards zero
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if minutes == 0:
        return text + "Z"
    hours, rest = divmod(abs(minutes), 60)
    return f"{text}{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"


def _rfc1123z(t: datetime) -> str:
    """Go's ``time.RFC1123Z`` of ``t`` in UTC: ``Mon, 02 Jan 2006 15:04:05 +0000``."""
    u = t.astimezone(UTC)
    return f"{_DAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u:%Y %H:%M:%S} +0000"


def _load_zone(name: str) -> tzinfo:
    """Go's ``time.LoadLocation``: ``""`` and ``UTC`` are UTC, so is ``Local`` (orbit's
    controller keeps UTC as its local zone); an unknown name raises ``ValueError`` with
    Go's message."""
    if name in ("", "UTC", "Local"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name}") from None


def _validation_reason(error: ValidationError, prefix: str) -> str:
    message = error.issues[0].message if error.issues else str(error)
    return message.removeprefix(prefix)


# ---------------------------------------------------------------- the sync


def plan_cronjob(cron_job: CronJob, jobs: Sequence[Job], now: float) -> CronJobPlan:
    """Decide one sync of ``cron_job`` at ``now`` (epoch seconds).

    ``jobs`` are the Jobs of the CronJob's namespace (all of them: the plan picks the
    ones the CronJob controls, and looks the others up by name as Kubernetes'
    ``GetJob`` does for active references).
    """
    sync = _Sync(cron_job, jobs, now)
    cleanup = sync.cleanup_finished()
    sync.observe()
    return sync.schedule(cleanup)


class _Sync:
    """The mutable working copy one sync builds its plan in (Kubernetes mutates a
    deep copy of the CronJob the same way)."""

    def __init__(self, cron_job: CronJob, jobs: Sequence[Job], now: float) -> None:
        self.cron_job = cron_job
        self.jobs = {(j.metadata.namespace, j.metadata.name): j for j in jobs}
        self.children = controlled_jobs(cron_job, jobs)
        self.now = now
        self.now_dt = to_datetime(now)
        self.active: list[ObjectReference] = list(cron_job.status.active)
        self.last_successful = cron_job.status.last_successful_time
        self.events: list[CronJobEvent] = []

    def _event(self, kind: EventType, reason: str, message: str) -> None:
        self.events.append(CronJobEvent(kind, reason, message))

    def _forget(self, uid: str) -> None:
        """``deleteFromActiveList``."""
        self.active = [ref for ref in self.active if ref.uid != uid]

    # -- 1. history -----------------------------------------------------------------

    def cleanup_finished(self) -> tuple[Job, ...]:
        """``cleanupFinishedJobs``: the finished Jobs beyond each history limit."""
        spec = self.cron_job.spec
        succeeded = [j for j in self.children if finished_condition(j) == "Complete"]
        failed = [j for j in self.children if finished_condition(j) == "Failed"]
        doomed = [
            *_oldest(succeeded, len(succeeded) - spec.successful_jobs_history_limit),
            *_oldest(failed, len(failed) - spec.failed_jobs_history_limit),
        ]
        for job in doomed:
            self._forget(job.metadata.uid)
        return tuple(doomed)

    # -- 2. observing ----------------------------------------------------------------

    def observe(self) -> None:
        """The first half of ``syncCronJob``: reconcile ``active`` with the Jobs."""
        for job in self.children:
            uid, name = job.metadata.uid, job.metadata.name
            found = any(ref.uid == uid for ref in self.active)
            condition = finished_condition(job)
            if condition is None:
                if not found:
                    self._event(
                        "Warning",
                        "UnexpectedJob",
                        f"Saw a job that the controller did not create or forgot: {name}",
                    )
                continue
            if found:
                self._forget(uid)
                self._event(
                    "Normal",
                    "SawCompletedJob",
                    f"Saw completed job: {name}, condition: {condition}",
                )
            if condition == "Complete":
                self._saw_success(job)
        children = {job.metadata.uid for job in self.children}
        for ref in list(self.active):
            if ref.uid not in children and (ref.namespace, ref.name) not in self.jobs:
                self._event("Normal", "MissingJob", f"Active job went missing: {ref.name}")
                self._forget(ref.uid)

    def _saw_success(self, job: Job) -> None:
        completed = job.status.completion_time
        later = completed is not None and (
            self.last_successful is None or completed > self.last_successful
        )
        if later:
            self.last_successful = completed

    # -- 3. scheduling ---------------------------------------------------------------

    def schedule(self, cleanup: tuple[Job, ...]) -> CronJobPlan:
        """The second half of ``syncCronJob``: whether a Job starts now."""
        cron_job, spec = self.cron_job, self.cron_job.spec
        if cron_job.metadata.deletion_timestamp is not None:
            return self._plan(cleanup)
        if spec.time_zone is not None:
            try:
                _load_zone(spec.time_zone)
            except ValueError as error:
                message = f'invalid timeZone: "{spec.time_zone}": {error}'
                self._event("Warning", "UnknownTimeZone", message)
                return self._plan(cleanup)
        if spec.suspend:
            return self._plan(cleanup)
        parsed = self._parse()
        if parsed is None:
            return self._plan(cleanup)
        schedule, zone = parsed
        try:
            scheduled, missed = most_recent_missed(
                schedule, self._earliest(deadline=True), self.now_dt, zone
            )
        except ValidationError as error:
            why = _validation_reason(error, f'invalid schedule "{schedule}": ')
            self._event("Warning", "InvalidSchedule", f"invalid schedule: {spec.schedule} : {why}")
            return self._plan(cleanup)
        self._report_cut_off(schedule, zone)
        if scheduled is None:
            return self._plan(cleanup, self._requeue(schedule, zone))
        if missed > MISSED_SCHEDULES_LIMIT:
            self._event("Warning", "TooManyMissedTimes", _TOO_MANY)
        return self._start(cleanup, schedule, zone, scheduled)

    def _parse(self) -> tuple[CronSchedule, tzinfo] | None:
        """``formatSchedule`` and robfig's ``Parse``: the schedule and the zone it runs
        in, or ``None`` after an ``UnparseableSchedule`` warning.

        A ``TZ=`` / ``CRON_TZ=`` prefix (which validation rejects, so only an object
        written past it has one) is warned about and honoured as Kubernetes does, and
        then ``spec.timeZone`` is ignored.
        """
        spec = self.cron_job.spec
        text = spec.schedule
        zone = _load_zone(spec.time_zone or "")
        if "TZ" in text:
            self._event("Warning", "UnsupportedSchedule", _UNSUPPORTED_TZ.format(text))
            zone = UTC
            if text.startswith(("TZ=", "CRON_TZ=")) and " " in text:
                prefix, text = text.split(" ", 1)
                name = prefix.split("=", 1)[1]
                try:
                    zone = _load_zone(name)
                except ValueError as error:
                    self._unparseable(f"provided bad location {name}: {error}")
                    return None
                text = text.strip()
        try:
            return CronSchedule.parse(text), zone
        except ValidationError as error:
            self._unparseable(_validation_reason(error, f'invalid schedule "{text}": '))
            return None

    def _unparseable(self, why: str) -> None:
        schedule = self.cron_job.spec.schedule
        self._event("Warning", "UnparseableSchedule", f'unparseable schedule: "{schedule}" : {why}')

    def _earliest(self, *, deadline: bool, last: datetime | None = None) -> datetime:
        """Where ``mostRecentScheduleTime`` starts looking: the last schedule time, else
        the creation time; with ``deadline``, no earlier than ``now -
        startingDeadlineSeconds``."""
        meta, spec = self.cron_job.metadata, self.cron_job.spec
        earliest = last or self.cron_job.status.last_schedule_time or meta.creation_timestamp
        earliest = earliest or self.now_dt  # not stored yet: count from now
        if deadline and spec.starting_deadline_seconds is not None:
            cut = self.now_dt - timedelta(seconds=spec.starting_deadline_seconds)
            earliest = max(earliest, cut)
        return earliest

    def _report_cut_off(self, schedule: CronSchedule, zone: tzinfo) -> None:
        """orbit's ``MissSchedule``: the latest activation that
        ``startingDeadlineSeconds`` cut off, if any (module docstring)."""
        if self.cron_job.spec.starting_deadline_seconds is None:
            return
        start, cut = self._earliest(deadline=False), self._earliest(deadline=True)
        if cut <= start:
            return
        try:
            missed, _ = most_recent_missed(schedule, start, cut, zone)
        except ValidationError:
            return
        if missed is not None:
            message = f"Missed scheduled time to start a job: {_rfc1123z(missed)}"
            self._event("Warning", "MissSchedule", message)

    def _start(
        self, cleanup: tuple[Job, ...], schedule: CronSchedule, zone: tzinfo, scheduled: datetime
    ) -> CronJobPlan:
        """From "is this time already processed" to the Job to create."""
        cron_job, spec = self.cron_job, self.cron_job.spec
        name, namespace = job_name(cron_job, scheduled), cron_job.metadata.namespace
        processed = any(ref.name == name and ref.namespace == namespace for ref in self.active)
        if processed or cron_job.status.last_schedule_time == scheduled:
            return self._plan(cleanup, self._requeue(schedule, zone))
        if spec.concurrency_policy == "Forbid" and self.active:
            self._event("Normal", "JobAlreadyActive", _FORBID)
            return self._plan(cleanup, self._requeue(schedule, zone))
        replace: list[Job] = []
        if spec.concurrency_policy == "Replace":
            for ref in list(self.active):
                job = self.jobs[(ref.namespace, ref.name)]  # observe() dropped the missing
                replace.append(job)
                self._forget(job.metadata.uid)
        spec_zone = _load_zone(spec.time_zone or "")
        return attrs.evolve(
            self._plan(cleanup, self._requeue(schedule, zone, last=scheduled)),
            replace=tuple(replace),
            create=job_from_template(cron_job, scheduled, spec_zone),
            scheduled_time=scheduled,
        )

    # -- 4. when to look again -------------------------------------------------------

    def _requeue(
        self, schedule: CronSchedule, zone: tzinfo, *, last: datetime | None = None
    ) -> float | None:
        """``nextScheduleTimeDuration``: 100 ms after the activation that follows the
        most recent one (or the window's start when none passed yet)."""
        earliest = self._earliest(deadline=False, last=last)
        try:
            latest, _ = most_recent_missed(schedule, earliest, self.now_dt, zone)
        except ValidationError:
            latest = self.now_dt
        following = schedule.next_after(latest or earliest, zone)
        if following is None:
            return None
        return following.timestamp() - self.now + NEXT_SCHEDULE_DELTA_S

    def _plan(self, cleanup: tuple[Job, ...], requeue_after_s: float | None = None) -> CronJobPlan:
        status = attrs.evolve(
            self.cron_job.status,
            active=tuple(self.active),
            last_successful_time=self.last_successful,
        )
        return CronJobPlan(
            cleanup=cleanup,
            events=tuple(self.events),
            status=status,
            requeue_after_s=requeue_after_s,
        )


def _oldest(jobs: list[Job], count: int) -> list[Job]:
    """The ``count`` oldest Jobs (``byJobStartTime``: by start time, unstarted last,
    then by name)."""
    if count <= 0:
        return []
    epoch = datetime.min.replace(tzinfo=UTC)

    def key(job: Job) -> tuple[bool, datetime, str]:
        start = job.status.start_time
        return (start is None, start or epoch, job.metadata.name)

    return sorted(jobs, key=key)[:count]
