"""Mistakes at the `ordersync` command get one sentence and a non-zero exit, never a traceback;
`--local` / `--stack` work before the subcommand too. Through the real entry point (`main`), with
no AWS reachable: `AWS_EC2_METADATA_DISABLED` keeps boto3 from asking the instance metadata address."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from ordersync.cli import main
from ordersync.cli.main import _targets_last


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # and nothing can leave 127.0.0.1 even if something were found: every client's endpoint is a dead
    # local port; a fresh default session, so no credentials cached by an earlier test are reused
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.chdir(tmp_path)


def test_forgetting_local_with_no_aws_set_up_is_one_sentence(no_aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ordersync: no AWS region is set") and "add --local" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_no_credentials_is_one_sentence(
    no_aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert main(["order", "show", "1001"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ordersync: no AWS credentials found") and err.count("\n") == 1


def test_local_before_the_subcommand_means_the_same_and_a_missing_local_stack_is_said(
    no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _targets_last(["--local", "dlq", "list"]) == ["dlq", "list", "--local"]
    assert _targets_last(["--stack", "prod", "order", "show", "7"]) == ["order", "show", "7", "--stack", "prod"]
    assert main(["--local", "dlq", "list"]) == 1
    assert capsys.readouterr().err == "ordersync: no local stack running here: start one with `ordersync local up`\n"


def test_typos_in_arguments_are_refused_before_anything_runs(no_aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["dlq", "redrive", "--reason", "NOPE", "--local"])
    assert refused.value.code == 2 and "invalid choice: 'NOPE'" in capsys.readouterr().err
    for address in ("not-an-email", "a@b", "a b@example.com", "@example.com"):
        with pytest.raises(SystemExit) as refused:
            main(["seller", "add", "northwind", "--email", address, "--local"])
        assert refused.value.code == 2 and "is not an email address" in capsys.readouterr().err
