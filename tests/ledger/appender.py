"""A child process for the concurrency and crash tests: appends from several threads, prints each
index as soon as `append` returns (so the parent knows exactly which appends were acknowledged).

usage: appender.py DATABASE_URL TAG THREADS PER_THREAD
"""

from __future__ import annotations

import sys
import threading

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore

SEED = bytes(range(32))


def main() -> None:
    url, tag, threads, per_thread = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = SqlStore.from_url(url)
    log = Log(store, Signer.from_seed("test.farmtrace.example/log", SEED))
    out = threading.Lock()

    def work(t: int) -> None:
        for i in range(per_thread):
            entry = f"{tag}-{t}-{i}"
            index = log.append(entry.encode())
            with out:
                sys.stdout.write(f"{index} {entry}\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.close()
    store.close()


if __name__ == "__main__":
    main()
