"""The Deployment sync as a pure step, checked against a small model of the rest of
the cluster (ReplicaSets whose pods appear and vanish at once and turn available
when told) under any sequence of scale, update, pod-ready, pod-failure and sync
events that Hypothesis can find:

- a sync never grows the pods wanted beyond ``replicas + maxSurge``;
- a sync never scales old pods away below ``replicas - maxUnavailable`` available
  (or below what was available, when that was already less): counting the pods that
  really are available when the ReplicaSets have reported their pods' changes (in a
  cluster a pod's readiness reaches its ReplicaSet's status before the Deployment
  syncs on that status), and counting what the statuses say when they lag behind
  (``ready-unseen`` / ``fail-unseen``: no controller can act on what it was not told;
  Kubernetes' can't either);
- once the events stop and pods turn ready, the rollout converges: the newest
  template has every replica, the old ones none, and the status says complete.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from orbit.api import (
    Container,
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    LabelSelector,
    ObjectMeta,
    PodSpec,
    PodTemplateSpec,
    ReplicaSet,
    RollingUpdateDeployment,
)
from orbit.controllers._deployment_plan import DeploymentSync
from orbit.controllers._deployment_util import max_surge, max_unavailable, revision_of

NOW = 1_767_225_600.0


def template(image: str) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": "web"}),
        spec=PodSpec(containers=(Container(name="web", image=image),)),
    )


def make_deployment(replicas: int, surge: int | str, unavailable: int | str) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name="web", namespace="default", uid="d-uid", generation=1),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=template("web:0"),
            strategy=DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=RollingUpdateDeployment(
                    max_surge=surge, max_unavailable=unavailable
                ),
            ),
            progress_deadline_seconds=2**31 - 1,
        ),
    )


class Model:
    """The store and the ReplicaSet controller, reduced to counts."""

    def __init__(self, d: Deployment) -> None:
        self.d = d
        self.sets: dict[str, ReplicaSet] = {}
        self.available: dict[str, int] = {}  # available pods per set
        self.uids = itertools.count(1)
        self.events: list[tuple[str, str, str]] = []

    # -- the Writer protocol ---------------------------------------------------------

    def create_set(self, rs: ReplicaSet) -> ReplicaSet:
        n = next(self.uids)
        meta = attrs.evolve(
            rs.metadata,
            uid=f"rs-{n}",
            generation=1,
            creation_timestamp=datetime.fromtimestamp(NOW + n, tz=UTC),
        )
        created = attrs.evolve(rs, metadata=meta)
        self.sets[created.metadata.uid] = created
        self.available[created.metadata.uid] = 0
        return created

    def update_set(self, rs: ReplicaSet) -> ReplicaSet:
        old = self.sets[rs.metadata.uid]
        generation = old.metadata.generation + (rs.spec != old.spec)
        stored = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, generation=generation))
        self.sets[rs.metadata.uid] = stored
        return stored

    def delete_set(self, rs: ReplicaSet) -> None:
        del self.sets[rs.metadata.uid]

    def update_status(self, d: Deployment) -> Deployment:
        self.d = attrs.evolve(self.d, status=d.status)
        return self.d

    def update_deployment(self, d: Deployment) -> Deployment:
        generation = self.d.metadata.generation + (d.spec != self.d.spec)
        self.d = attrs.evolve(d, metadata=attrs.evolve(d.metadata, generation=generation))
        return self.d

    def event(self, kind: str, reason: str, message: str) -> None:
        self.events.append((kind, reason, message))

    # -- the rest of the cluster -----------------------------------------------------

    def change_spec(self, **changes: Any) -> None:
        spec = attrs.evolve(self.d.spec, **changes)
        meta = attrs.evolve(self.d.metadata, generation=self.d.metadata.generation + 1)
        self.d = attrs.evolve(self.d, metadata=meta, spec=spec)

    def sync(self) -> None:
        DeploymentSync(self.d, list(self.sets.values()), self, NOW, lambda rs: []).run()

    def run_replicasets(self) -> None:
        """Each set's pods follow its spec at once; deletions take unavailable pods
        first, so at most ``spec.replicas`` available ones stay."""
        for uid, rs in list(self.sets.items()):
            available = min(self.available[uid], rs.spec.replicas)
            self.available[uid] = available
            status = attrs.evolve(
                rs.status,
                replicas=rs.spec.replicas,
                ready_replicas=available,
                available_replicas=available,
                observed_generation=rs.metadata.generation,
            )
            self.sets[uid] = attrs.evolve(rs, status=status)

    def newest(self) -> ReplicaSet | None:
        return max(self.sets.values(), key=revision_of, default=None)

    def wanted(self) -> int:
        return sum(rs.spec.replicas for rs in self.sets.values())

    def available_after_deletions(self, *, observed: bool = False) -> int:
        """Available pods once every set has deleted down to its spec: the real count,
        or (``observed``) what the sets' statuses say."""
        if observed:
            return sum(
                min(rs.status.available_replicas, rs.spec.replicas) for rs in self.sets.values()
            )
        return sum(min(self.available[u], rs.spec.replicas) for u, rs in self.sets.items())

    def statuses_fresh(self) -> bool:
        """Whether every set's status reports its pods as they are."""
        return all(
            rs.status.available_replicas == min(self.available[u], rs.spec.replicas)
            and rs.status.replicas == rs.spec.replicas
            for u, rs in self.sets.items()
        )


events = st.lists(
    st.one_of(
        st.tuples(st.just("sync"), st.just(0)),
        st.tuples(st.just("sync"), st.just(0)),
        st.tuples(st.just("sync"), st.just(0)),
        st.tuples(st.just("ready"), st.integers(1, 5)),
        st.tuples(st.just("fail"), st.integers(1, 3)),
        st.tuples(st.just("ready-unseen"), st.integers(1, 5)),
        st.tuples(st.just("fail-unseen"), st.integers(1, 3)),
        st.tuples(st.just("update"), st.just(0)),
        st.tuples(st.just("scale"), st.integers(0, 12)),
    ),
    max_size=60,
)
bounds = st.one_of(st.integers(0, 4), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@settings(max_examples=1000, deadline=None)
@given(
    replicas=st.integers(0, 12),
    surge=bounds,
    unavailable=bounds,
    script=events,
)
def test_any_sequence_stays_in_bounds_and_converges(
    replicas: int, surge: int | str, unavailable: int | str, script: list[tuple[str, int]]
) -> None:
    # Both bounds 0 is refused by validation; the fenceposts would allow one
    # unavailable pod, and the model checks that arithmetic too.
    d = make_deployment(replicas, surge, unavailable)
    model = Model(d)
    images = itertools.count(1)
    scaled_since_sync = True
    for action, amount in script:
        if action == "sync":
            check_one_sync(model, scaled_since_sync)
            scaled_since_sync = False
            model.run_replicasets()
        elif action.startswith("ready"):
            newest = model.newest()
            if newest is not None:
                uid = newest.metadata.uid
                pods = newest.status.replicas
                model.available[uid] = min(pods, model.available[uid] + amount)
            if action == "ready":
                model.run_replicasets()  # the ReplicaSet reports it before the next sync
        elif action.startswith("fail"):
            for uid in model.available:
                model.available[uid] = max(0, model.available[uid] - amount)
                break
            if action == "fail":
                model.run_replicasets()
        elif action == "update":
            model.change_spec(template=template(f"web:{next(images)}"))
        elif action == "scale":
            model.change_spec(replicas=amount)
            scaled_since_sync = True
    # Converge: pods turn available as soon as they exist.
    for _ in range(200):
        check_one_sync(model, scaled_since_sync)
        scaled_since_sync = False
        model.run_replicasets()
        for uid, rs in model.sets.items():
            model.available[uid] = rs.status.replicas
        if is_complete(model):
            break
    assert is_complete(model), (model.d.status, list(model.sets.values()))


def check_one_sync(model: Model, scaling: bool) -> None:
    d = model.d
    bound = d.spec.replicas + max_surge(d)
    wanted_before = model.wanted()
    fresh = model.statuses_fresh()
    available_before = model.available_after_deletions(observed=not fresh)
    model.sync()
    assert model.wanted() <= max(bound, wanted_before), "grew beyond replicas + maxSurge"
    if not scaling:
        floor = min(available_before, d.spec.replicas - max_unavailable(d))
        after = model.available_after_deletions(observed=not fresh)
        assert after >= floor, "scaled below minimum availability"


def is_complete(model: Model) -> bool:
    d = model.d
    newest = model.newest()
    if newest is None:
        return d.spec.replicas == 0 and not model.sets
    old = [rs for rs in model.sets.values() if rs.metadata.uid != newest.metadata.uid]
    status = d.status
    return (
        newest.spec.template.spec == d.spec.template.spec
        and newest.spec.replicas == d.spec.replicas
        and all(rs.spec.replicas == 0 for rs in old)
        and status.updated_replicas == d.spec.replicas
        and status.available_replicas == d.spec.replicas
        and status.observed_generation == d.metadata.generation
    )
