"""Library features memfs does not exercise, on a real mount of tests/testfs:
kernel notifications, deferred (asynchronous) replies, and interrupts."""
import os
import signal
import subprocess
import time

import pytest

BUILD = os.path.abspath(os.environ.get("UMFS_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build")))
TESTFS = os.path.join(BUILD, "tests", "testfs", "testfs")


def mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


@pytest.fixture
def testfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    mnt = str(tmp_path / "mnt")
    os.mkdir(mnt)
    log = open(tmp_path / "testfs.log", "w+")
    proc = subprocess.Popen([TESTFS, mnt], stderr=log)
    for _ in range(200):
        if mounted(mnt):
            break
        time.sleep(0.05)
    assert mounted(mnt), "testfs did not mount"
    yield mnt
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        if mounted(mnt):
            subprocess.run(["umount", "-l", mnt])
    assert not mounted(mnt)


def read(path):
    with open(path) as f:
        return f.read()


def test_inval_inode_notification_refreshes_cached_data(testfs):
    counter = os.path.join(testfs, "counter")
    assert read(counter) == "0\n"
    assert read(counter) == "0\n"  # now in the page cache, kept for a day
    for expected in ("1\n", "2\n", "3\n"):
        with open(os.path.join(testfs, "bump"), "w") as f:
            f.write("x")
        # Only the file system's notification can make the kernel drop its copy.
        assert read(counter) == expected
        assert os.stat(counter).st_size == len(expected)


def test_inval_entry_notification_forgets_a_cached_name(testfs):
    flag = os.path.join(testfs, "flag")
    assert os.path.exists(flag)  # cached as present for a day
    for present in (False, True, False):
        with open(os.path.join(testfs, "toggle"), "w") as f:
            f.write("x")
        # Only the file system's notification can make the kernel look again.
        assert os.path.exists(flag) == present
        assert ("flag" in os.listdir(testfs)) == present


def test_store_notification_fills_the_page_cache(testfs):
    cached = os.path.join(testfs, "cached")
    assert read(cached) == "fs data\n"  # the kernel now knows the node and caches it
    with open(os.path.join(testfs, "store"), "w") as f:
        f.write("x")
    # The kernel serves the pages the file system stored, without asking it.
    assert read(cached) == "stored!\n"


def test_deferred_replies_from_another_thread(testfs):
    slow = os.path.join(testfs, "slow")
    # Several readers at once: each reply comes later from its own thread.
    procs = [subprocess.Popen(["cat", slow], stdout=subprocess.PIPE) for _ in range(8)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert outs == [b"slow\n"] * 8
    fd = os.open(slow, os.O_RDONLY)
    try:
        assert os.pread(fd, 3, 1) == b"low"
        assert os.pread(fd, 10, 5) == b""
    finally:
        os.close(fd)


def test_a_callback_waiting_for_another_request_does_not_stall_it(testfs):
    # The read of /gate waits on its worker until /bump is written. Only one worker
    # reads /dev/fuse at a time (the others wait their turn, so that it can poll
    # without the kernel waking them): the write must still be served, by a worker
    # the pool gives the turn to once the read has held it a while.
    gate = subprocess.Popen(["cat", os.path.join(testfs, "gate")], stdout=subprocess.PIPE)
    time.sleep(0.3)  # the read is in its callback by now
    assert gate.poll() is None
    with open(os.path.join(testfs, "bump"), "w") as f:
        f.write("x")
    assert gate.communicate(timeout=30)[0] == b"open\n"


class Alarm(Exception):
    pass


def test_interrupted_request_is_seen_by_the_file_system(testfs):
    def on_alarm(*_):
        raise Alarm()

    old = signal.signal(signal.SIGALRM, on_alarm)
    fd = os.open(os.path.join(testfs, "block"), os.O_RDONLY)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Alarm):
            os.read(fd, 1)  # waits in the file system until the kernel interrupts it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.close(fd)
    assert read(os.path.join(testfs, "interrupts")) == "1\n"


def test_debug_trace_names_requests(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    mnt = str(tmp_path / "mnt")
    os.mkdir(mnt)
    proc = subprocess.Popen([TESTFS, mnt, "-d"], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            if mounted(mnt):
                break
            time.sleep(0.05)
        read(os.path.join(mnt, "counter"))
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(mnt, "missing"))
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    assert "INIT" in err
    assert "LOOKUP" in err and "name=counter" in err
    assert "name=missing" in err and "No such file or directory" in err
    assert " us)" in err


def test_stop_as_soon_as_mounted(tmp_path):
    """SIGTERM as soon as the mount appears, 20 times: each run exits 0 and leaves no
    mount. (The library holds the stop signals from mount(2) on; this polling test is
    too slow to hit the microseconds before the loop starts, so it guards the outcome,
    not that window.)"""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    umfs = os.path.join(BUILD, "tools", "umfs")
    mnt = str(tmp_path / "mnt")
    os.mkdir(mnt)
    for _ in range(20):
        proc = subprocess.Popen([umfs, "mount", "memfs", mnt, "-f"], stderr=subprocess.DEVNULL)
        try:
            while not mounted(mnt) and proc.poll() is None:
                pass  # no sleep: the point is to hit the earliest moment
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if mounted(mnt):
                subprocess.run(["umount", "-l", mnt])
                pytest.fail("a stale mount was left behind")
