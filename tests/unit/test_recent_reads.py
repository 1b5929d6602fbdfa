"""A container's reads kept a minute (connections, stores): a batch's records run at once, and
those that miss together make one read between them, not one each (each a billed request)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ordersync.aws.recent import RecentReads


def test_records_that_miss_at_once_make_one_read_and_an_empty_answer_is_not_kept() -> None:
    recent: RecentReads[dict[str, str]] = RecentReads()
    reads: list[str] = []
    all_in = threading.Barrier(5, timeout=10)

    def read() -> dict[str, str]:
        reads.append("connection")
        time.sleep(0.2)  # a GetItem's round trip: the others ask meanwhile
        return {"connection_id": "acme--northwind"}

    def one_record(_: int) -> dict[str, str]:
        all_in.wait()  # the five records of a batch ask at the same moment
        return recent.get("acme--northwind", read)

    with ThreadPoolExecutor(max_workers=5) as records:
        answers = list(records.map(one_record, range(5)))
    assert reads == ["connection"] and all(a == {"connection_id": "acme--northwind"} for a in answers)
    assert recent.get("acme--northwind", read, fresh=True) and len(reads) == 2  # fresh: read past what is kept
    gone: list[int] = []
    assert recent.get("nobody", lambda: gone.append(1) or {}) == {}
    assert recent.get("nobody", lambda: gone.append(1) or {}) == {} and gone == [1, 1]  # nothing found: not kept
