"""Real-world manifests, written in the style of popular public Helm charts, load with
no issues; the only warnings are the ones each file's header announces (``# warn:``),
for fields orbit parses but does not honour."""

from __future__ import annotations

from pathlib import Path

import pytest

import orbit
from orbit.api import load_manifests, read_documents

CORPUS = Path(__file__).parent / "manifests" / "valid"
FILES = sorted(CORPUS.glob("*.yaml"))


def expected_warnings(path: Path) -> list[str]:
    prefix = "# warn: "
    return [
        line[len(prefix) :] for line in path.read_text().splitlines() if line.startswith(prefix)
    ]


def test_the_corpus_covers_every_kind_orbit_runs() -> None:
    kinds = {obj.kind for path in FILES for obj in load_manifests(path, on_warning=lambda _: None)}
    assert kinds >= {
        "ConfigMap", "CronJob", "Deployment", "Endpoints", "HorizontalPodAutoscaler", "Job",
        "LimitRange", "Namespace", "Node", "PodDisruptionBudget", "ResourceQuota", "Secret",
        "Service",
    }  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_loads_without_issues_and_only_the_announced_warnings(path: Path) -> None:
    warnings: list[str] = []
    objects = load_manifests(path, on_warning=warnings.append)
    assert len(objects) == len(read_documents(path))
    assert sorted(warnings) == sorted(expected_warnings(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_validation_finds_nothing_in_the_loaded_objects(path: Path) -> None:
    """Validation is a pure function of the object: the objects a load returns are
    valid when validated again (nothing depends on the raw manifest)."""
    for obj in load_manifests(path, on_warning=lambda _: None):
        assert orbit.api.validate(obj) == []


@pytest.mark.anyio
async def test_the_whole_corpus_applies_to_a_cluster() -> None:
    async with orbit.Cluster() as cluster:
        for path in FILES:
            results = await cluster.apply(path)
            assert {result.action for result in results} == {"created"}, path.name
