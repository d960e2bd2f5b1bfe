"""The CronJob controller: creates a Job for each activation of a CronJob's schedule.

Each reconcile is Kubernetes' ``sync`` (``pkg/controller/cronjob``, v1.30): read the
CronJob and the Jobs of its namespace, let :func:`._cronjob_plan.plan_cronjob` decide,
then write in Kubernetes' order: delete the finished Jobs beyond the history limits,
record what was observed, delete the Jobs ``Replace`` replaces, create the new Job,
write the status once, and ask to be woken 100 ms after the next activation.

Jobs are deleted with background propagation, as Kubernetes' ``DeleteJob`` asks: the
Job goes at once, and its pods are the garbage collector's to remove.

A create that fails because the Job already exists is Kubernetes' crash recovery: the
Job made by an earlier sync whose status write was lost is taken into ``active``; one
the CronJob does not control is left alone. Any other failed create is recorded
(``FailedCreate``) and raised, so the loop retries with its backoff, as Kubernetes'
rate-limited queue does.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from orbit.api import CronJob, CronJobStatus, Job
from orbit.errors import AlreadyExists, NotFound, OrbitError

from ._base import BaseController
from ._cronjob_plan import CronJobPlan, plan_cronjob
from ._deletion import delete_object
from ._loop import Key, Watched, controller_owner_key, own_key

__all__ = ["CronJobController"]


class CronJobController(BaseController):
    """Reconciles CronJobs (module docstring); takes the store, the clock and an
    optional ``recorder`` (:class:`BaseController`)."""

    name = "cronjob-controller"

    @property
    def watches(self) -> Sequence[Watched]:
        return (
            Watched(CronJob, own_key),
            Watched(Job, controller_owner_key("CronJob")),
        )

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        try:
            cron_job = self.store.get(CronJob, name, namespace)
        except NotFound:
            return None
        jobs = self.store.list(Job, namespace=namespace).items
        plan = plan_cronjob(cron_job, jobs, self.clock.now())
        for job in plan.cleanup:
            self._delete(cron_job, job)
        for event in plan.events:
            self.recorder.record(cron_job, event.type, event.reason, event.message)
        for job in plan.replace:
            self._delete(cron_job, job)
        status, requeue, failure = plan.status, plan.requeue_after_s, None
        if plan.create is not None:
            status, requeue, failure = self._create(cron_job, plan)
        if status != cron_job.status:
            self.store.update_status(attrs.evolve(cron_job, status=status))
        if failure is not None:
            raise failure
        return requeue

    def _delete(self, cron_job: CronJob, job: Job) -> None:
        """``deleteJob``: delete in the background and say so."""
        try:
            delete_object(
                self.store,
                Job,
                job.metadata.name,
                job.metadata.namespace,
                propagation_policy="Background",
            )
        except NotFound:
            return  # already gone, which is all the delete wanted
        self.recorder.record(
            cron_job, "Normal", "SuccessfulDelete", f"Deleted job {job.metadata.name}"
        )

    def _create(
        self, cron_job: CronJob, plan: CronJobPlan
    ) -> tuple[CronJobStatus, float | None, OrbitError | None]:
        """Create the planned Job: the status, requeue and error that follow."""
        assert plan.create is not None
        try:
            created = self.store.create(plan.create)
        except AlreadyExists:
            existing = self.store.get(Job, plan.create.metadata.name, cron_job.metadata.namespace)
            ref = existing.metadata.controller_ref()
            if ref is None or ref.uid != cron_job.metadata.uid:
                return plan.status, None, None  # someone else's: theirs to report
            if any(active.uid == existing.metadata.uid for active in plan.status.active):
                return plan.status, None, None
            return plan.status_with(existing), plan.requeue_after_s, None
        except OrbitError as error:
            self.recorder.record(
                cron_job, "Warning", "FailedCreate", f"Error creating job: {error}"
            )
            return plan.status, None, error
        self.recorder.record(
            cron_job, "Normal", "SuccessfulCreate", f"Created job {created.metadata.name}"
        )
        return plan.status_with(created), plan.requeue_after_s, None
