#!/usr/bin/python3
"""A tiny read-only FUSE filesystem whose statfs can be made to hang.

Usage: /usr/bin/python3 fuse-hang.py MOUNTPOINT CONTROL_DIR

While the file CONTROL_DIR/hang exists, every statfs call blocks (polling every
50 ms) and returns once the file is removed; otherwise statfs answers at once
with fixed, real-looking numbers (see STATFS). The root directory is an empty,
readable directory. Runs in the foreground, multithreaded, so other requests
(getattr, readdir) are answered while a statfs hangs. Prints "ready" on stdout
once the kernel has initialised the mount, and unmounts on SIGTERM/SIGINT or
when its parent process goes away.

Uses Debian's python3-fusepy (module `fusepy`; upstream's name is `fuse`) and
must run under /usr/bin/python3, not a pyenv shim.
"""

import errno
import os
import signal
import stat
import sys
import threading
import time

try:
    import fusepy as fuse
except ImportError:  # upstream / pip layout
    import fuse  # type: ignore

# 1 GiB of 4 KiB blocks, 256 MiB used, 64 blocks reserved; 65536 inodes, 1000 used.
STATFS = {
    "f_bsize": 4096,
    "f_frsize": 4096,
    "f_blocks": 262144,
    "f_bfree": 196608,
    "f_bavail": 196544,
    "f_files": 65536,
    "f_ffree": 64536,
    "f_favail": 64536,
    "f_namemax": 255,
}


class HangFS(fuse.Operations):
    use_ns = True

    def __init__(self, control_dir):
        self.hang_file = os.path.join(control_dir, "hang")
        self.started = time.time()
        self.parent = os.getppid()

    def orphaned(self):
        return os.getppid() != self.parent

    def init(self, path):
        sys.stdout.write("ready\n")
        sys.stdout.flush()

    def getattr(self, path, fh=None):
        if path != "/":
            raise fuse.FuseOSError(errno.ENOENT)
        now = self.started
        return {
            "st_mode": stat.S_IFDIR | 0o755,
            "st_nlink": 2,
            "st_uid": 0,
            "st_gid": 0,
            "st_size": 0,
            "st_atime": now,
            "st_mtime": now,
            "st_ctime": now,
        }

    def readdir(self, path, fh):
        if path != "/":
            raise fuse.FuseOSError(errno.ENOENT)
        return [".", ".."]

    def statfs(self, path):
        hung = False
        while os.path.exists(self.hang_file) and not self.orphaned():
            if not hung:
                hung = True
                sys.stderr.write("fuse-hang: statfs hanging\n")
                sys.stderr.flush()
            time.sleep(0.05)
        if hung:
            sys.stderr.write("fuse-hang: statfs released\n")
            sys.stderr.flush()
        return dict(STATFS)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: fuse-hang.py MOUNTPOINT CONTROL_DIR\n")
        return 2
    mountpoint, control_dir = sys.argv[1], sys.argv[2]

    # fusepy restores SIGINT to the default handler, and libfuse installs its own
    # handlers that end the session loop (then unmounts) on SIGTERM/SIGINT/SIGHUP.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    threading.current_thread().name = "fuse-main"
    fs = HangFS(control_dir)

    # If the test process dies without stopping us, release any hang and unmount
    # (SIGTERM makes libfuse leave its loop and unmount), so nothing stays stuck.
    def watchdog():
        while not fs.orphaned():
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watchdog, name="watchdog", daemon=True).start()
    fuse.FUSE(
        fs,
        mountpoint,
        foreground=True,
        nothreads=False,
        ro=True,
        fsname="nodemeter-hang",
        subtype="hang",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
