"""A corpus of invalid manifests: applying any of them reports exactly the issues its
header announces and stores nothing.

Each file in ``manifests/invalid`` opens with comment lines ``# expect: <path>:
<message>``: paths are exact; a message is exact unless it ends in ``...``, in which
case it is a prefix (used where Kubernetes' wording appends a long regular expression
or a list that grows with orbit). Paths are those of the file loaded on its own; the
test applies the file together with one valid ConfigMap (so every path gains its
document's ``[i]`` prefix) and checks that the valid document was not stored either.
A file marked ``# admission`` is refused by ``Cluster.apply``'s admission, not by
validation, so loading it alone succeeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import orbit
from orbit.api import all_kinds, load_manifests
from orbit.errors import Issue

CORPUS = Path(__file__).parent / "manifests" / "invalid"
FILES = sorted(CORPUS.glob("*.yaml"))
TEXTS = {path: path.read_text() for path in FILES}
VALID_DOCUMENT = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "corpus-valid-document"},
    "data": {"key": "value"},
}


def header(path: Path, tag: str) -> list[str]:
    prefix = f"# {tag}:"
    lines = TEXTS[path].splitlines()
    return [line[len(prefix) :].strip() for line in lines if line.startswith(prefix)]


def expected_issues(path: Path) -> list[Issue]:
    issues = []
    for line in header(path, "expect"):
        where, _, message = line.partition(": ")
        if line.startswith(": "):  # an issue about the whole document has an empty path
            where, message = "", line[2:]
        issues.append(Issue(where, message))
    return issues


def is_admission_only(path: Path) -> bool:
    return "# admission" in TEXTS[path].splitlines()


def prefixed(path: str, index: int) -> str:
    """The path an issue of document ``index`` of a multi-document source carries."""
    if not path:
        return f"[{index}]"
    return f"[{index}]{path}" if path.startswith("[") else f"[{index}].{path}"


def matches(expected: list[Issue], actual: list[Issue]) -> bool:
    """Whether ``actual`` is ``expected`` as a multiset, prefixes counting as matches."""
    remaining = list(actual)
    for want in expected:
        for got in remaining:
            same_message = (
                got.message.startswith(want.message[:-3])
                if want.message.endswith("...")
                else got.message == want.message
            )
            if got.path == want.path and same_message:
                remaining.remove(got)
                break
        else:
            return False
    return not remaining


async def snapshot(cluster: orbit.Cluster) -> dict[str, list[Any]]:
    return {info.kind: await cluster.list(info.kind) for info in all_kinds()}


def test_the_corpus_is_large_and_every_file_announces_its_issues() -> None:
    assert len(FILES) >= 35
    for path in FILES:
        assert expected_issues(path), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_loading_the_file_alone_reports_exactly_the_expected_issues(path: Path) -> None:
    if is_admission_only(path):
        assert load_manifests(path, on_warning=lambda _: None)
        return
    with pytest.raises(orbit.ValidationError) as caught:
        load_manifests(path, on_warning=lambda _: None)
    actual = caught.value.issues
    assert matches(expected_issues(path), actual), "\n".join(map(str, actual))


@pytest.mark.anyio
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_apply_reports_every_issue_and_stores_nothing(path: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(TEXTS[path]) if doc is not None]
    several = len(documents) > 1
    expected = [
        Issue(issue.path if several else prefixed(issue.path, 0), issue.message)
        for issue in expected_issues(path)
    ]
    async with orbit.Cluster() as cluster:
        before = await snapshot(cluster)
        version = cluster.store.resource_version
        with pytest.raises(orbit.ValidationError) as caught:
            await cluster.apply([*documents, VALID_DOCUMENT])
        actual = caught.value.issues
        assert matches(expected, actual), "\n".join(map(str, actual))
        assert await snapshot(cluster) == before
        assert cluster.store.resource_version == version
        with pytest.raises(orbit.NotFound):
            await cluster.get("configmap", "corpus-valid-document")
