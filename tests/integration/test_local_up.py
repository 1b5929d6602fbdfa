"""`ordersync local up` is a marketplace that keeps running: the schedules fire, every queue is
consumed, and ops' procedures work against it as written (here on an hour of four seconds)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from ordersync.cli import LOCAL_STATE, LOCAL_UP_STOP, main
from ordersync.cli.mail import FOLLOW_STOP


def _until(condition, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the local stack did not get there in time"
        time.sleep(0.2)


@pytest.mark.long(seconds=12)
def test_local_up_keeps_running_refuses_a_second_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    # an hour of a minute: the :20 pull is 20 s away, the alert dispatch every 5 s
    up = threading.Thread(target=main, args=(["local", "up", "--hour-seconds", "60"],), daemon=True)
    up.start()
    try:
        _until(lambda: LOCAL_STATE.exists())
        started = time.monotonic()
        printed = capsys.readouterr().out
        assert main(["local", "up"]) == 1  # a second one while the first lives
        assert "a local stack is already running here" in capsys.readouterr().err
        # how to reach each store as its merchant would: its platform, URL and a credentials file
        stores = json.loads(LOCAL_STATE.read_text())["stores"]
        acme = stores["acme-outfitters"]
        assert f"acme-outfitters      {acme['platform']:<12} {acme['url']}  credentials: " in printed
        assert json.loads((LOCAL_STATE.parent / "acme-outfitters.json").read_text())
        assert "ordersync local mail" in printed

        def status(number: str) -> str:
            capsys.readouterr()
            if main(["order", "show", number, "--local"]) != 0:
                return "unknown"
            lines = [line.split() for line in capsys.readouterr().out.splitlines()]
            return next(words[1] for words in lines if words and words[0] == "status")

        _until(lambda: status("1002") == "FAILED")  # the pull ran at the start and the queue was consumed
        assert time.monotonic() - started < 20  # before the hour's :20
        # ops' mailbox: the dispatch (every 5 s here) told ops why; `local mail` reads it
        mail = threading.Thread(target=main, args=(["local", "mail", "--to", "ops@ordersync.example", "--follow"],))
        mail.start()
        _until(lambda: "#1002" in capsys.readouterr().out, 30)
        FOLLOW_STOP.set()
        mail.join(timeout=10)
        assert not mail.is_alive()
        assert main(["local", "mail", "--to", "orders@northwind-supply.example"]) == 0
        mailbox = capsys.readouterr().out
        assert "Subject: " in mailbox and "to orders@northwind-supply.example" in mailbox
        assert "to ops@ordersync.example" not in mailbox and "mailboxes: " in mailbox
        assert main(["--local", "sku", "alias", "add", "northwind-supply", "NW-TENT-2P", "NW-TENT-2P-V2"]) == 0
        replayed = capsys.readouterr().out
        assert "replayed " in replayed and "acme-outfitters--northwind-supply#1002 (#1002)" in replayed
        _until(lambda: status("1002") == "SYNCED")  # the replay was processed, not left in OrdersQueue
    finally:
        LOCAL_UP_STOP.set()
        up.join(timeout=60)
    assert not up.is_alive() and not LOCAL_STATE.exists()
    # a state file left by a stack that died (no SIGTERM handler ran): "no local stack running"
    LOCAL_STATE.parent.mkdir(exist_ok=True)
    dead = 2**22 + os.getpid()  # above the kernel's pid limit here: no such process
    LOCAL_STATE.write_text(json.dumps({"endpoint": "http://127.0.0.1:1", "outputs": {}, "pid": dead}))
    capsys.readouterr()
    assert main(["dlq", "list", "--local"]) == 1
    assert capsys.readouterr().err == "ordersync: no local stack running here: start one with `ordersync local up`\n"
    assert not LOCAL_STATE.exists()
