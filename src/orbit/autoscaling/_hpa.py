"""The HorizontalPodAutoscaler controller: Kubernetes' ``reconcileAutoscaler``.

Every sync period (15 s by default, kube-controller-manager's
``--horizontal-pod-autoscaler-sync-period``) and whenever an HPA changes, for each HPA:

1. read the target's scale (``spec.replicas`` and the selector of a Deployment or
   ReplicaSet); failing that, ``AbleToScale=False/FailedGetScale``;
2. if the target has 0 replicas and ``minReplicas`` is not 0, scaling is disabled
   (``ScalingActive=False/ScalingDisabled``); outside ``[min, max]`` it is brought back
   inside; otherwise every metric proposes a count (:mod:`._hpa_metrics`) and the
   largest wins. If every metric fails, or some fail and the rest would scale down,
   nothing changes (``ScalingActive=False`` with the first failure's reason);
3. scale to zero (orbit's, after KEDA): with ``minReplicas: 0``, the workload is
   *active* while any Object or External metric exceeds its activation threshold
   (annotation ``autoscaling.orbit.dev/activation-threshold.<metric>``, default 0).
   Inactive, the proposal is 0; active, at least 1;
4. the proposal is stabilized and rate-limited (:func:`~._behavior.normalize`: the
   ``behavior`` block, or the legacy rules when there is none);
5. a changed count is written to the target (``SuccessfulRescale`` event, ``New size:
   N; reason: ...``; a failed write is ``FailedRescale`` and ``AbleToScale=False``);
6. the status gets current and desired replicas, the metrics, ``lastScaleTime`` and
   the three conditions (``AbleToScale``, ``ScalingActive``, ``ScalingLimited``).

Recommendations and scale events are kept in memory per HPA, as kube-controller-manager
keeps them (a restart forgets the stabilization window).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import attrs

from orbit.api import (
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerStatus,
    MetricSpec,
    MetricStatus,
    Pod,
    resolve_kind,
)
from orbit.clock import Clock, to_datetime
from orbit.controllers import Key, Watched, own_key, set_status_condition
from orbit.errors import Conflict, NotFound, OrbitError
from orbit.store import EventRecorder, EventType, Store

from ._behavior import Recommendation, ScaleEvent, normalize, record_scale_event
from ._hpa_metrics import (
    MetricFailure,
    MetricOutcome,
    Tolerances,
    activation_threshold_milli,
    evaluate_metric,
)
from ._replicas import Tuning
from ._sources import MetricsClient

__all__ = ["HPAController", "SCALABLE_KINDS"]

_log = logging.getLogger("orbit.autoscaling")

SCALABLE_KINDS = ("Deployment", "ReplicaSet")
"""Kinds with a scale subresource in orbit."""


_Conditions = tuple[HorizontalPodAutoscalerCondition, ...]


class _ScaledMeanwhile(OrbitError):
    """The target's replicas changed while its metrics were read: decide again."""


@attrs.frozen
class _Decision:
    """What a sync decided: the replicas, the reason for an event, the metrics'
    statuses and the conditions so far."""

    desired: int
    reason: str
    statuses: tuple[MetricStatus, ...]
    conditions: _Conditions


@attrs.frozen
class _Computed:
    """What the metrics propose: the largest count and the metric that proposed it."""

    desired: int
    reason: str
    statuses: tuple[MetricStatus, ...]
    conditions: _Conditions


@attrs.define
class _History:
    """What kube-controller-manager remembers of one HPA between syncs."""

    recommendations: list[Recommendation] = attrs.Factory(list)
    scale_up: list[ScaleEvent] = attrs.Factory(list)
    scale_down: list[ScaleEvent] = attrs.Factory(list)


def set_condition(
    conditions: Sequence[HorizontalPodAutoscalerCondition],
    type_: str,
    status: str,
    reason: str,
    message: str,
    *,
    now: float,
) -> _Conditions:
    """Kubernetes' ``setConditionInList``: replace the condition of ``type_``; its
    ``lastTransitionTime`` moves only when its status changes."""
    wanted = HorizontalPodAutoscalerCondition(
        type=type_,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        message=message,
    )
    return set_status_condition(conditions, wanted, to_datetime(now))


class HPAController:
    """Reconciles HorizontalPodAutoscalers (module docstring).

    Args:
        store: the cluster's store.
        clock: the cluster's clock (the sync period runs on it).
        metrics: where metrics come from (:class:`~orbit.autoscaling.MetricsClient`).
        sync_period_s: how often every HPA is evaluated (Kubernetes: 15 s).
        tolerance: the default tolerance (0.1); an HPA's ``behavior.scaleUp.tolerance``
            / ``scaleDown.tolerance`` overrides it per direction (KEP-4951).
        cpu_initialization_period_s: how long after start a pod's cpu counts only once
            it is ready (300 s).
        initial_readiness_delay_s: how long after start a not-ready pod is taken as
            still starting (30 s).
        downscale_stabilization_s: the scale-down window when an HPA sets none (300 s).
    """

    name = "horizontal-pod-autoscaling-controller"
    workers = 5
    """HPAs evaluated at once (kube-controller-manager's
    ``--concurrent-horizontal-pod-autoscaler-syncs``)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        metrics: MetricsClient,
        *,
        sync_period_s: float = 15.0,
        tolerance: float = 0.1,
        cpu_initialization_period_s: float = 300.0,
        initial_readiness_delay_s: float = 30.0,
        downscale_stabilization_s: float = 300.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.sync_period_s = sync_period_s
        self.tuning = Tuning(
            tolerance=tolerance,
            cpu_initialization_period_s=cpu_initialization_period_s,
            initial_readiness_delay_s=initial_readiness_delay_s,
        )
        self.downscale_stabilization_s = downscale_stabilization_s
        self.events = EventRecorder(store, clock, component="horizontal-pod-autoscaler")
        self._history: dict[Key, _History] = {}
        self._generations: dict[Key, int | None] = {}

    @property
    def watches(self) -> tuple[Watched, ...]:
        """HPAs only: the sync period re-reads targets and metrics, as Kubernetes does."""
        return (Watched(HorizontalPodAutoscaler, self._hpa_keys),)

    def _hpa_keys(self, event: EventType, hpa: HorizontalPodAutoscaler) -> Iterable[Key]:
        """A new HPA, or a changed spec, is evaluated at once; the controller's own
        status writes are not events (the sync period paces it, as Kubernetes' fixed
        interval rate limiter does)."""
        key = (hpa.metadata.namespace, hpa.metadata.name)
        if event == "DELETED":
            self._history.pop(key, None)
            self._generations.pop(key, None)
            return ()
        generation = hpa.metadata.generation
        if self._generations.get(key) == generation:
            return ()
        self._generations[key] = generation
        return own_key(event, hpa)

    async def reconcile(self, key: Key) -> float | None:
        """One ``reconcileAutoscaler`` pass; returns the sync period."""
        namespace, name = key
        try:
            hpa = self.store.get(HorizontalPodAutoscaler, name, namespace=namespace)
        except NotFound:
            self._history.pop(key, None)
            return None
        if hpa.metadata.deletion_timestamp is not None:
            return None
        await self._sync(key, hpa)
        return self.sync_period_s

    async def _sync(self, key: Key, hpa: HorizontalPodAutoscaler) -> None:
        now = self.clock.now()
        status = hpa.status
        target, conditions = self._target(hpa, now)
        if target is None:
            self._write_status(hpa, attrs.evolve(status, conditions=conditions))
            return
        current = int(target.spec.replicas if target.spec.replicas is not None else 1)
        history = self._history.setdefault(key, _History())
        if not history.recommendations:  # recordInitialRecommendation
            history.recommendations.append(Recommendation(replicas=current, at=now))
        decision = await self._decide(
            hpa, target, current, history=history, conditions=conditions, now=now
        )
        if decision is None:
            return
        conditions = decision.conditions
        last_scale_time = status.last_scale_time
        if decision.desired != current:
            rescaled = self._rescale(hpa, target, current, decision, history=history, now=now)
            if rescaled is None:
                return
            conditions = rescaled
            last_scale_time = to_datetime(now)
        self._write_status(
            hpa,
            attrs.evolve(
                status,
                current_replicas=current,
                desired_replicas=decision.desired,
                current_metrics=decision.statuses,
                conditions=conditions,
                last_scale_time=last_scale_time,
                observed_generation=hpa.metadata.generation,
            ),
        )

    def _target(self, hpa: HorizontalPodAutoscaler, now: float) -> tuple[Any, _Conditions]:
        """The scale target, or None with ``AbleToScale=False/FailedGetScale``."""
        ref = hpa.spec.scale_target_ref
        conditions = hpa.status.conditions
        try:
            info = resolve_kind(ref.kind)
            if info.kind not in SCALABLE_KINDS:
                raise OrbitError(f"{ref.kind} has no scale subresource")
            target = self.store.get(info.cls, ref.name, namespace=hpa.metadata.namespace)
        except (OrbitError, NotFound) as exc:
            self.events.record(hpa, "Warning", "FailedGetScale", str(exc))
            message = f"the HPA controller was unable to get the target's current scale: {exc}"
            return None, set_condition(
                conditions, "AbleToScale", "False", "FailedGetScale", message, now=now
            )
        message = "the HPA controller was able to get the target's current scale"
        return target, set_condition(
            conditions, "AbleToScale", "True", "SucceededGetScale", message, now=now
        )

    async def _decide(
        self,
        hpa: HorizontalPodAutoscaler,
        target: Any,
        current: int,
        *,
        history: _History,
        conditions: _Conditions,
        now: float,
    ) -> _Decision | None:
        """The desired replicas (steps 2-4 of the module docstring); None when every
        metric failed (the status is written here then)."""
        spec = hpa.spec
        statuses = hpa.status.current_metrics
        if current == 0 and spec.min_replicas != 0:
            message = "scaling is disabled since the replica count of the target is zero"
            conditions = set_condition(
                conditions, "ScalingActive", "False", "ScalingDisabled", message, now=now
            )
            return _Decision(0, "", statuses, conditions)
        if current > spec.max_replicas:
            reason = "Current number of replicas above Spec.MaxReplicas"
            return _Decision(spec.max_replicas, reason, statuses, conditions)
        if current < spec.min_replicas:
            reason = "Current number of replicas below Spec.MinReplicas"
            return _Decision(spec.min_replicas, reason, statuses, conditions)
        outcome = await self._compute(
            hpa,
            current,
            self._pods(hpa, target),
            now=now,
            conditions=conditions,
            status_replicas=int(target.status.replicas),
        )
        if isinstance(outcome, tuple):  # every metric failed, or failures block a scale-down
            # Kubernetes' setCurrentReplicasAndMetricsInStatus: desiredReplicas stays
            # what the last successful sync decided
            failed = attrs.evolve(
                hpa.status,
                current_replicas=current,
                conditions=outcome,
                observed_generation=hpa.metadata.generation,
            )
            self._write_status(hpa, failed)
            return None
        limited, history.recommendations = normalize(
            current,
            outcome.desired,
            spec.min_replicas,
            spec.max_replicas,
            spec.behavior,
            history.recommendations,
            history.scale_up,
            history.scale_down,
            now,
            downscale_stabilization_s=self.downscale_stabilization_s,
        )
        conditions = set_condition(
            outcome.conditions,
            "AbleToScale",
            "True",
            limited.able_reason,
            limited.able_message,
            now=now,
        )
        conditions = set_condition(
            conditions,
            "ScalingLimited",
            "True" if limited.limited else "False",
            limited.reason,
            limited.message,
            now=now,
        )
        desired = limited.replicas
        reason = outcome.reason
        if desired > current:
            reason = f"{reason} above target"
        elif desired < current and desired != 0:
            reason = "All metrics below target"
        return _Decision(desired, reason, outcome.statuses, conditions)

    def _rescale(
        self,
        hpa: HorizontalPodAutoscaler,
        target: Any,
        current: int,
        decision: _Decision,
        *,
        history: _History,
        now: float,
    ) -> _Conditions | None:
        """Write the new replica count to the target; None (status written) on failure."""
        desired = decision.desired
        try:
            # Read the target again: its status moved on while the metrics were
            # fetched. Written only if its replicas are still what was decided from.
            meta = target.metadata
            fresh = self.store.get(type(target), meta.name, meta.namespace)
            if fresh.spec.replicas != target.spec.replicas:
                raise _ScaledMeanwhile(f"{meta.name} was scaled to {fresh.spec.replicas} meanwhile")
            self.store.update(attrs.evolve(fresh, spec=attrs.evolve(fresh.spec, replicas=desired)))
        except (Conflict, NotFound, _ScaledMeanwhile) as exc:
            self.events.record(
                hpa,
                "Warning",
                "FailedRescale",
                f"New size: {desired}; reason: {decision.reason}; error: {exc}",
            )
            conditions = set_condition(
                decision.conditions,
                "AbleToScale",
                "False",
                "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {exc}",
                now=now,
            )
            self._write_status(hpa, attrs.evolve(hpa.status, conditions=conditions))
            return None
        self.events.record(
            hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {decision.reason}"
        )
        _log.info(
            "hpa %s/%s: %d -> %d (%s)",
            hpa.metadata.namespace,
            hpa.metadata.name,
            current,
            desired,
            decision.reason,
        )
        up = desired > current
        events = history.scale_up if up else history.scale_down
        events[:] = record_scale_event(hpa.spec.behavior, events, desired - current, now, up=up)
        return set_condition(
            decision.conditions,
            "AbleToScale",
            "True",
            "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}",
            now=now,
        )

    def _write_status(
        self, hpa: HorizontalPodAutoscaler, status: HorizontalPodAutoscalerStatus
    ) -> None:
        if status == hpa.status:
            return
        try:
            self.store.update_status(attrs.evolve(hpa, status=status))
        except (Conflict, NotFound):
            _log.debug("hpa %s: status write lost a race", hpa.metadata.name)

    def _pods(self, hpa: HorizontalPodAutoscaler, target: Any) -> list[Pod]:
        selector = target.spec.selector
        return list(
            self.store.list(Pod, namespace=hpa.metadata.namespace, label_selector=selector).items
        )

    async def _compute(
        self,
        hpa: HorizontalPodAutoscaler,
        current: int,
        pods: Sequence[Pod],
        *,
        now: float,
        conditions: _Conditions,
        status_replicas: int,
    ) -> _Computed | _Conditions:
        """``computeReplicasForMetrics`` plus orbit's activation: every metric,
        concurrently. Returns the conditions alone when the metrics cannot decide."""
        specs = hpa.spec.metrics
        tolerances = _tolerances(hpa)
        outcomes: list[MetricOutcome | MetricFailure | None] = [None] * len(specs)

        async def evaluate(i: int) -> None:
            try:
                outcomes[i] = await evaluate_metric(
                    specs[i],
                    hpa,
                    current,
                    pods,
                    self.metrics,
                    now=now,
                    tuning=self.tuning,
                    tolerances=tolerances,
                    status_replicas=status_replicas,
                )
            except MetricFailure as failure:
                outcomes[i] = failure

        async with anyio.create_task_group() as group:
            for i in range(len(specs)):
                group.start_soon(evaluate, i)
        done = [outcome for outcome in outcomes if outcome is not None]
        for outcome in done:
            if isinstance(outcome, MetricFailure):
                self.events.record(hpa, "Warning", outcome.reason, outcome.message)
        proposal, metric_name, statuses, failures = largest_proposal(specs, done)
        activation = activation_verdict(hpa, specs, done)
        if activation is not None:
            active, reason = activation
            if active:
                if proposal < 1:
                    proposal, metric_name = 1, reason
            elif not failures or current == 0:
                # An inactive verdict with failing metrics is not trusted for scaling
                # *to* zero (a metric that could not be read might have said active);
                # at zero, a metric that cannot be read never wakes the workload (as
                # KEDA does not scale from zero on a scaler error).
                proposal, metric_name = 0, reason
        if failures and (len(failures) == len(specs) or proposal < current):
            first = failures[0]
            self.events.record(
                hpa,
                "Warning",
                "FailedComputeMetricsReplicas",
                f"invalid metrics ({len(failures)} invalid out of {len(specs)}), "
                f"first error is: {first.message}",
            )
            message = f"the HPA was unable to compute the replica count: {first.message}"
            return set_condition(
                conditions, "ScalingActive", "False", first.reason, message, now=now
            )
        message = f"the HPA was able to successfully calculate a replica count from {metric_name}"
        conditions = set_condition(
            conditions, "ScalingActive", "True", "ValidMetricFound", message, now=now
        )
        return _Computed(proposal, metric_name, statuses, conditions)


def _tolerances(hpa: HorizontalPodAutoscaler) -> Tolerances:
    behavior = hpa.spec.behavior
    if behavior is None:
        return Tolerances()
    up = behavior.scale_up.tolerance
    down = behavior.scale_down.tolerance
    return Tolerances(
        up=float(up.milli_value()) / 1000 if up is not None else None,
        down=float(down.milli_value()) / 1000 if down is not None else None,
    )


def largest_proposal(
    specs: Sequence[MetricSpec], outcomes: Sequence[MetricOutcome | MetricFailure]
) -> tuple[int, str, tuple[MetricStatus, ...], list[MetricFailure]]:
    """The largest proposal (-1 when none) and its metric's name, every metric's status
    (an empty one of its type for a failed metric, as Kubernetes keeps them) and the
    failures in metric order."""
    statuses: list[MetricStatus] = []
    proposal, name = -1, ""
    failures: list[MetricFailure] = []
    for spec, outcome in zip(specs, outcomes, strict=True):
        if isinstance(outcome, MetricFailure):
            failures.append(outcome)
            statuses.append(MetricStatus(type=spec.type))
            continue
        statuses.append(outcome.status)
        if outcome.replicas > proposal:
            proposal, name = outcome.replicas, outcome.name
    return proposal, name, tuple(statuses), failures


def activation_verdict(
    hpa: HorizontalPodAutoscaler,
    specs: Sequence[MetricSpec],
    outcomes: Sequence[MetricOutcome | MetricFailure],
) -> tuple[bool, str] | None:
    """With ``minReplicas: 0``: whether any Object/External metric is above its
    activation threshold, and the reason to report; None when not scaling to zero
    (or no such metric could be read)."""
    if hpa.spec.min_replicas != 0:
        return None
    seen = False
    for spec, outcome in zip(specs, outcomes, strict=True):
        source = spec.object or spec.external
        if source is None or not isinstance(outcome, MetricOutcome):
            continue
        seen = True
        threshold = activation_threshold_milli(hpa, source.metric.name)
        if (outcome.activation_value_milli or 0) > threshold:
            return True, f"{outcome.name} above activation threshold"
    if not seen:
        return None
    return False, "all metrics at or below their activation thresholds"
