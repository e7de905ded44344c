#!/usr/bin/env python3
"""Synced appends per second the disk takes, with 1 to N writers at once (CHECKING.md, "Where
the time goes at one client"): each writer appends a record the size of a one-command vote
to a file of its own and syncs it (fdatasync), as an acceptor does, in a temporary directory
on the disk the benchmarks use.

    scripts/disk-syncs.py            # 1, 3 and 4 writers, 3 s each
    scripts/disk-syncs.py 4 2.0      # 4 writers only, 2 s
"""
import os
import sys
import tempfile
import threading
import time

RECORD = b"x" * 120


def run(writers: int, seconds: float, directory: str) -> None:
    counts = [0] * writers

    def write(i: int) -> None:
        fd = os.open(os.path.join(directory, f"w{i}"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            os.write(fd, RECORD)
            os.fdatasync(fd)  # releases the GIL: the writers' syncs do overlap
            n += 1
        counts[i] = n
        os.close(fd)
        os.unlink(os.path.join(directory, f"w{i}"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(counts)
    each_us = seconds / (total / writers) * 1e6 if total else float("inf")
    print(f"{writers} writer(s): {total / seconds:8.0f} synced appends/s in all, {each_us:6.0f} µs each")


def main() -> None:
    counts = [int(sys.argv[1])] if len(sys.argv) > 1 else [1, 3, 4]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    with tempfile.TemporaryDirectory(prefix="bpfp-disk-syncs-") as directory:
        for writers in counts:
            run(writers, seconds, directory)


if __name__ == "__main__":
    main()
