"""The Job controller: runs pods until enough of them succeed (Kubernetes' job
controller, v1.30) and removes finished Jobs after ``ttlSecondsAfterFinished`` (its
ttl-after-finished controller).

Each reconcile reads the Job and every pod it controls, asks :func:`.plan_job` what to
do (:mod:`._job_plan` says how it decides) and does it, in Kubernetes' order: delete
pods, create pods (stopping at the first refused create: a ``FailedCreate`` event, a
retry after 1 s doubling to a minute), release the counted pods' tracking finalizers,
write the status, record events. The pod-failure backoff record lives here, per Job,
in memory, as in Kubernetes (a new controller starts without it).

Before the first step the Job gets the selector and labels Kubernetes' API server
gives it on create (:func:`.default_selector`; orbit's API layer cannot, since the uid
is the store's), so its pods carry ``batch.kubernetes.io/job-name`` and
``batch.kubernetes.io/controller-uid`` (and the legacy ``job-name``, ``controller-uid``).

**Pods of a Job that is gone.** Kubernetes' job controller removes the tracking
finalizer from pods whose Job is gone (or that lost their owner reference); this one
does too, finding them by their ``job-name`` label or the Job's uid remembered here.
Deleting them is the garbage collector's work. Where none runs
(``collect_orphans=True``, the default) this controller stands in for it: pods whose
controller reference names a Job that no longer exists are deleted, as background
propagation would delete them, and a TTL-expired Job goes as Kubernetes' TTL
controller deletes it, in the foreground: its pods first, the Job once they are gone.
With ``collect_orphans=False`` pods are left to the collector and the TTL expiry is a
foreground delete request (:func:`._deletion.delete_object`) it finishes. Pods another
owner controls are always left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import attrs

from orbit.api import Job, Pod
from orbit.clock import Clock
from orbit.errors import NotFound, OrbitError
from orbit.store import OWNER_UID_FIELD, EventRecorder, Store

from ._base import BaseController
from ._deletion import delete_object
from ._job_objects import JOB_NAME_LABEL, default_selector, is_finished
from ._job_plan import NO_BACKOFF, JobConfig, JobPlan, plan_job
from ._job_pods import TRACKING_FINALIZER, BackoffRecord, has_tracking_finalizer
from ._loop import Key, Watched, own_key
from ._pods import controlled_by, create_controlled_pod, delete_controlled_pod, delete_pod

__all__ = ["JobController"]

CREATE_RETRY_S = 1.0
CREATE_RETRY_MAX_S = 60.0
"""After a refused create, retry after 1 s doubling to a minute (the job queue's
``DefaultJobApiBackOff`` / ``MaxJobApiBackOff``)."""


class JobController(BaseController):
    """Reconciles Jobs (module docstring).

    Args:
        store: the cluster's store.
        clock: the clock (epoch seconds for conditions and backoff).
        backoff_base_s: the first pod-failure backoff (Kubernetes: 10 s).
        backoff_max_s: the backoff's cap (Kubernetes documents six minutes).
        collect_orphans: delete the pods of Jobs that are gone (until orbit has a
            garbage collector).
        recorder: where events go (default: one for ``job-controller``).
    """

    name = "job-controller"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        backoff_base_s: float = 10.0,
        backoff_max_s: float = 360.0,
        collect_orphans: bool = True,
        recorder: EventRecorder | None = None,
    ) -> None:
        super().__init__(store, clock, recorder=recorder)
        self.config = JobConfig(backoff_base_s=backoff_base_s, backoff_max_s=backoff_max_s)
        self.collect_orphans = collect_orphans
        self._backoff: dict[Key, BackoffRecord] = {}
        self._uids: dict[Key, str] = {}
        self._create_failures: dict[Key, int] = {}
        self._suspects: set[Key] = set()  # keys that may have pods of another Job

    @property
    def watches(self) -> Sequence[Watched]:
        return (Watched(Job, own_key), Watched(Pod, self._pod_keys))

    def _pod_keys(self, _event: Any, pod: Pod) -> Sequence[Key]:
        """A pod concerns its controlling Job; an orphan still holding the tracking
        finalizer concerns the Job its ``job-name`` label names (to release it). Keys
        whose pods may belong to another Job of that name are marked for collection."""
        namespace = pod.metadata.namespace
        ref = pod.metadata.controller_ref()
        if ref is not None:
            if ref.kind != "Job":
                return ()
            key = (namespace, ref.name)
            if self._uids.get(key) != ref.uid:
                self._suspects.add(key)
            return (key,)
        name = pod.metadata.labels.get(JOB_NAME_LABEL)
        if name and has_tracking_finalizer(pod):
            self._suspects.add((namespace, name))
            return ((namespace, name),)
        return ()

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        try:
            job: Job | None = self.store.get(Job, name, namespace)
        except NotFound:
            job = None
        if job is None or key in self._suspects or self._uids.get(key) != job.metadata.uid:
            self._suspects.discard(key)
            self._collect(key, job)
        if job is None:
            self._backoff.pop(key, None)
            self._uids.pop(key, None)
            self._create_failures.pop(key, None)
            return None
        defaulted = default_selector(job)
        if defaulted is not None:
            job = self.store.update(defaulted)
        self._uids[key] = job.metadata.uid
        pods = controlled_by(self.store, Pod, job)
        plan = plan_job(
            job,
            pods,
            self.clock.now(),
            config=self.config,
            backoff=self._backoff.get(key, NO_BACKOFF),
        )
        if plan.expire:
            self._expire(job, pods)
            return None
        retry = self._apply(key, job, plan)
        if is_finished(attrs.evolve(job, status=plan.status)):
            self._backoff.pop(key, None)
        else:
            self._backoff[key] = plan.backoff
        waits = [w for w in (plan.requeue_after_s, retry) if w is not None]
        return min(waits) if waits else None

    # -- applying a plan -----------------------------------------------------------------

    def _apply(self, key: Key, job: Job, plan: JobPlan) -> float | None:
        """Do what the plan says; returns the retry delay after a refused create."""
        for pod in plan.delete:
            delete_controlled_pod(self.store, self.recorder, job, pod)
        created = 0
        for pod in plan.create:
            try:
                create_controlled_pod(self.store, self.recorder, job, pod)
            except OrbitError:
                break
            created += 1
        for pod in plan.release:
            self._release(pod)
        status = plan.status
        missed = len(plan.create) - created
        retry = None
        if missed:
            status = attrs.evolve(status, active=status.active - missed)
            failures = self._create_failures.get(key, 0)
            self._create_failures[key] = failures + 1
            retry = min(CREATE_RETRY_S * 2**failures, CREATE_RETRY_MAX_S)
        elif plan.create:
            self._create_failures.pop(key, None)
        if status != job.status:
            self.store.update_status(attrs.evolve(job, status=status))
        for event in plan.events:
            self.recorder.record(job, event.type, event.reason, event.message)
        return retry

    def _release(self, pod: Pod) -> None:
        """Remove the tracking finalizer (the pod goes if it was only waiting for that)."""
        meta = pod.metadata
        try:
            current = self.store.get(Pod, meta.name, meta.namespace)
        except NotFound:
            return
        held = current.metadata.finalizers
        if current.metadata.uid != meta.uid or TRACKING_FINALIZER not in held:
            return
        kept = tuple(f for f in held if f != TRACKING_FINALIZER)
        self.store.update(
            attrs.evolve(current, metadata=attrs.evolve(current.metadata, finalizers=kept))
        )

    # -- finished and vanished Jobs ------------------------------------------------------

    def _expire(self, job: Job, pods: Sequence[Pod]) -> None:
        """TTL passed: delete the Job in the foreground, as Kubernetes' TTL controller
        does. With a garbage collector running, that is a foreground delete request;
        standing in for one, this deletes the pods, then the Job once none is left."""
        meta = job.metadata
        if not self.collect_orphans:
            with contextlib.suppress(NotFound):
                delete_object(
                    self.store, Job, meta.name, meta.namespace, propagation_policy="Foreground"
                )
            return
        for pod in pods:
            if has_tracking_finalizer(pod):
                self._release(pod)
            if pod.metadata.deletion_timestamp is None:
                self._delete_quietly(pod)
        if controlled_by(self.store, Pod, job):
            return  # terminating pods: their deletion brings the Job back here
        with contextlib.suppress(NotFound):
            self.store.delete(Job, meta.name, meta.namespace)

    def _collect(self, key: Key, job: Job | None) -> None:
        """Release and (standing in for the garbage collector) delete the pods of an
        earlier Job of this name that is gone (module docstring)."""
        namespace, name = key
        live = job.metadata.uid if job is not None else None
        found = {
            p.metadata.uid: p
            for p in self.store.list(
                Pod, namespace=namespace, label_selector={JOB_NAME_LABEL: name}
            ).items
        }
        earlier = self._uids.get(key)
        if earlier is not None and earlier != live:
            selector = {OWNER_UID_FIELD: earlier}
            listed = self.store.list(Pod, namespace=namespace, field_selector=selector)
            found.update((p.metadata.uid, p) for p in listed.items)
        for pod in found.values():
            ref = pod.metadata.controller_ref()
            if ref is not None and (ref.kind != "Job" or ref.name != name or ref.uid == live):
                continue
            if has_tracking_finalizer(pod):
                self._release(pod)
            if ref is not None and self.collect_orphans and pod.metadata.deletion_timestamp is None:
                self._delete_quietly(pod)

    def _delete_quietly(self, pod: Pod) -> None:
        with contextlib.suppress(NotFound):
            delete_pod(self.store, pod)
