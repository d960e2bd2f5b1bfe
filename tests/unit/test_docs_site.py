"""The documentation site holds together without building it.

``mkdocs build --strict`` (in ``.ci/run``) is the full check; these are the cheap ones
that fail in the test suite already, without MkDocs installed: every page in
``docs/`` is in ``mkdocs.yml``'s nav (MkDocs would only warn about a page left out),
every relative link and image points to a file in ``docs/`` and every ``#anchor`` to a
heading of its page; the tutorial's excerpts are cut from its complete script (which
is what gets run); and the reference pages name every verb of ``orbit.Cluster`` and
every command and flag of the ``orbit`` command.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import orbit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:...


def _nav_pages(items: Any) -> Iterator[str]:
    """Every page path in a MkDocs nav (pages may be bare or titled, in sections)."""
    if isinstance(items, str):
        if not _EXTERNAL.match(items):
            yield items
    elif isinstance(items, list):
        for item in items:
            yield from _nav_pages(item)
    elif isinstance(items, dict):
        for value in items.values():
            yield from _nav_pages(value)


def _prose(text: str) -> str:
    """The page without fenced code blocks and code spans (links there are code)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """Python-Markdown's toc slug of a heading's text (MkDocs' default anchors)."""
    text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: str) -> set[str]:
    """The anchors of a page's headings, duplicates numbered as the toc numbers them."""
    seen: set[str] = set()
    for match in _HEADING.finditer(_FENCE.sub("", (DOCS / page).read_text())):
        slug = base = _slug(match.group(2))
        count = 0
        while slug in seen:
            count += 1
            slug = f"{base}_{count}"
        seen.add(slug)
    return seen


def _links(page: str) -> list[str]:
    return [
        target
        for target in _LINK.findall(_prose((DOCS / page).read_text()))
        if not _EXTERNAL.match(target)
    ]


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return config


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    config = _config()
    assert config["docs_dir"] == "docs"
    assert config["strict"] is True
    nav = list(_nav_pages(config["nav"]))
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert sorted(set(PAGES) - set(nav)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - set(PAGES)) == [], "nav entries with no page in docs/"


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_point_to_files_and_anchors_in_docs(page: str) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        if path:
            resolved = (DOCS / page).parent.joinpath(path).resolve()
            if not resolved.is_relative_to(DOCS.resolve()) or not resolved.is_file():
                broken.append(f"{target}: no such file in docs/")
                continue
            linked = resolved.relative_to(DOCS.resolve()).as_posix()
        else:
            linked = page
        if anchor and linked.endswith(".md") and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked}")
    assert broken == []


def test_the_link_checker_sees_links_and_anchors() -> None:
    """The regular expressions above find what they must (else the checks pass empty)."""
    assert "tutorial.md" in _links("index.md")
    assert "img/architecture.svg" in _links("index.md")
    assert "services.md#terminating-pods-leave-the-endpoints-before-sigterm" in _links(
        "embedding.md"
    )
    assert "pack-placement-as-a-pure-function" in _anchors("scheduling.md")
    assert "1500m-used-of-1500m-requested" not in _anchors("autoscaling.md")  # a code comment


def test_tutorial_excerpts_are_cut_from_its_complete_script() -> None:
    """The tutorial shows pieces of ``tutorial.py`` before the whole; the whole is what
    is run, so every piece must be in it verbatim."""
    text = (DOCS / "tutorial.md").read_text()
    files = dict(re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```', text, re.S | re.M))
    assert set(files) == {"web.yaml", "tutorial.py"}
    excerpts = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(excerpts) >= 4
    for excerpt in excerpts:
        assert excerpt in files["tutorial.py"], excerpt
    assert '"web.yaml"' in files["tutorial.py"]


def test_the_cluster_reference_documents_every_public_verb() -> None:
    page = (DOCS / "api" / "cluster.md").read_text()
    documented = set(re.findall(r"^::: orbit\.Cluster\.(\w+)", page, re.M))
    public = {name for name in dir(orbit.Cluster) if not name.startswith("_")}
    assert sorted(public - documented) == [], "add them to docs/api/cluster.md"
    assert sorted(documented - public) == []


def _cli_parser() -> argparse.ArgumentParser:
    cli = pytest.importorskip("orbit.cli._parser")
    parser: argparse.ArgumentParser = cli.build_parser()
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for name, sub in _subcommands(parser).items():
        yield f"{prefix}{name}", sub
        yield from _commands(sub, f"{prefix}{name} ")


def test_the_cli_page_names_every_command_and_flag() -> None:
    parser = _cli_parser()
    page = (DOCS / "cli.md").read_text()
    headings = {match.group(2) for match in _HEADING.finditer(_FENCE.sub("", page))}
    missing = []
    for command, sub in _commands(parser):
        if _subcommands(sub):
            continue  # a group (`set`, `rollout`): its commands have the headings
        if not any(f"`orbit {command}" in heading for heading in headings):
            missing.append(f"a heading for `orbit {command}`")
        for action in sub._actions:
            for flag in action.option_strings:
                mentioned = re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", page)
                if flag.startswith("--") and flag != "--help" and not mentioned:
                    missing.append(f"{flag} of orbit {command}")
    assert missing == [], "document them in docs/cli.md"
