"""The ``orbit`` command line: what each verb parses to, which cluster it talks to,
kubectl's ways of naming objects, and the exit statuses of mistakes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from orbit.api import resolve_kind
from orbit.cli import _parser as parser_module
from orbit.cli import main
from orbit.cli._common import CliError, UsageError, error_line, socket_path, split_target
from orbit.cli._parser import build_parser, parse_duration
from orbit.cli._verbs import Request, requests_of
from orbit.control import ControlError, default_socket_path
from orbit.errors import Issue


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def test_get_takes_kind_names_output_selector_and_namespaces() -> None:
    args = parse("get", "po", "web-1", "web-2", "-o", "wide", "-l", "app=web", "-n", "team")
    assert (args.kind, args.names, args.output, args.selector) == (
        "po",
        ["web-1", "web-2"],
        "wide",
        "app=web",
    )
    assert args.namespace == "team"
    assert args.all_namespaces is False
    assert parse("get", "pods", "-A").all_namespaces is True


def test_connection_flags_go_before_or_after_the_verb() -> None:
    before = parse("--socket", "/tmp/a.sock", "get", "pods")
    after = parse("get", "pods", "--socket", "/tmp/b.sock")
    assert before.socket == "/tmp/a.sock"
    assert after.socket == "/tmp/b.sock"
    assert parse("--cluster", "lab", "get", "pods").cluster == "lab"
    assert parse("get", "pods").socket is None


def test_the_socket_is_the_flag_else_the_environment_else_the_clusters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ORBIT_SOCKET", raising=False)
    assert socket_path(parse("get", "pods")) == default_socket_path("default")
    assert socket_path(parse("--cluster", "lab", "get", "pods")) == default_socket_path("lab")
    monkeypatch.setenv("ORBIT_SOCKET", "/run/env.sock")
    assert socket_path(parse("--cluster", "lab", "get", "pods")) == "/run/env.sock"
    assert socket_path(parse("get", "pods", "--socket", "/run/flag.sock")) == "/run/flag.sock"


def test_nested_verbs_parse_their_targets() -> None:
    image = parse("set", "image", "deploy/web", "web=web:v2", "log=fluent:2")
    assert (image.target, image.images) == ("deploy/web", ["web=web:v2", "log=fluent:2"])
    undo = parse("rollout", "undo", "deployment", "web", "--to-revision", "3")
    assert (undo.target, undo.to_revision) == (["deployment", "web"], 3)
    status = parse("rollout", "status", "deploy/web", "--timeout", "1m30s", "--no-watch")
    assert (status.timeout, status.watch) == (90.0, False)
    drain = parse("drain", "n1", "--force", "--ignore-daemonsets", "--delete-emptydir-data")
    assert (drain.node, drain.force, drain.delete_emptydir_data) == ("n1", True, True)
    logs = parse("logs", "web-1", "-c", "app", "-f", "--tail", "20", "-p")
    assert (logs.container, logs.follow, logs.tail, logs.previous) == ("app", True, 20, True)
    assert parse("top", "nodes").what == "nodes"
    assert parse("events", "--for", "pod/web-1", "-A").involved == "pod/web-1"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("250ms", 0.25),
        ("0", 0.0),
        ("45", 45.0),
    ],
)
def test_durations_are_gos(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5x", "m", "1h30", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_kinds_and_names_in_kubectls_forms() -> None:
    pods, services = requests_of("po,svc", [])
    assert (pods.info.kind, services.info.kind) == ("Pod", "Service")
    assert [r.info.kind for r in requests_of("all", [])] == [
        "Pod",
        "Service",
        "Deployment",
        "ReplicaSet",
        "HorizontalPodAutoscaler",
        "Job",
        "CronJob",
    ]
    named = requests_of("deployments.apps", ["a", "b"])
    assert [(r.info.kind, r.name) for r in named] == [("Deployment", "a"), ("Deployment", "b")]
    slashed = requests_of("pod/web-1", ["svc/web"])
    assert [(r.info.kind, r.name) for r in slashed] == [("Pod", "web-1"), ("Service", "web")]
    assert requests_of("hpa", []) == [Request(resolve_kind("HorizontalPodAutoscaler"))]


def test_mistakes_in_naming_objects() -> None:
    with pytest.raises(CliError, match='doesn\'t have a resource type "gadgets"'):
        requests_of("gadgets", [])
    with pytest.raises(UsageError, match="resource/name form"):
        requests_of("pod/web-1", ["web-2"])
    assert split_target(["deployment/web"])[1] == "web"
    assert split_target(["deploy", "web"])[0].kind == "Deployment"
    with pytest.raises(UsageError):
        split_target(["web"])


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ControlError("AlreadyExists", 'deployments.apps "web" already exists'),
            'Error from server (AlreadyExists): deployments.apps "web" already exists',
        ),
        (
            ControlError(
                "ValidationError",
                "invalid (2 issues)",
                [Issue("spec.replicas", "must be >= 0"), Issue("metadata.name", "Required value")],
            ),
            "error: spec.replicas: must be >= 0; metadata.name: Required value",
        ),
        (
            ControlError(
                "Unavailable", "no orbit is running at /x.sock (start one with `orbit up`)"
            ),
            "error: no orbit is running at /x.sock (start one with `orbit up`)",
        ),
        (
            ControlError("RolloutFailed", 'deployment "web" exceeded its progress deadline'),
            'error: deployment "web" exceeded its progress deadline',
        ),
    ],
)
def test_failures_are_one_line(error: ControlError, line: str) -> None:
    assert error_line(error) == line


def test_exit_statuses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([]) == 2
    assert main(["get", "pods", "-o", "table"]) == 2
    assert main(["scale", "deploy/web"]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()
    missing = f"{tmp_path}/none.sock"
    assert main(["--socket", missing, "get", "pods"]) == 1
    assert capsys.readouterr().err == (
        f"error: no orbit is running at {missing} (start one with `orbit up`)\n"
    )
    assert main(["--socket", missing, "set", "image", "deploy/web", "web"]) == 2
    assert capsys.readouterr().err == (
        'orbit set image: error: expected CONTAINER=IMAGE (such as web=web:v2), got "web"\n'
    )
    assert main(["--socket", missing, "get", "gadgets"]) == 1
    assert capsys.readouterr().err == 'error: the server doesn\'t have a resource type "gadgets"\n'


def test_the_other_commands_are_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser_module, "_OPTIONAL_COMMANDS", ("_not_written_yet",))
    args = build_parser().parse_args(["get", "pods"])
    assert args.func is not None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["not_written_yet"])
