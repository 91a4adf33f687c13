"""PID 1 of a lab host.

Started by `unshare --net --mount --uts --ipc --pid --fork --mount-proc` so it
is the first process of a fresh PID namespace. It gives the host its own view
of the file system (overlays over /etc, /var, /srv, /root and /tmp, tmpfs on
/run and /dev/shm), then waits until the lab has wired the network, then keeps a
salt-minion running the way systemd would on a real host, and reaps every
orphaned daemon (init scripts daemonise; their children end up here).

SIGTERM stops the host: every process of the namespace gets SIGTERM, then
SIGKILL. A "host crash" is simply SIGKILL of this process: the kernel then
kills the whole PID namespace.
"""

import argparse
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

# Overlays, not tmpfs, even for /tmp: the machine's files stay readable (the
# repository and its venv may live there) while writes stay private.
OVERLAID_DIRS = ("etc", "var", "srv", "root", "tmp")
TMPFS_DIRS = ("run", "dev/shm")
MINION_RESPAWN_DELAY = 1.0


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def prepare_filesystem(host_dir: pathlib.Path, hostname: str):
    socket.sethostname(hostname)
    # sysfs mounted from inside the new netns shows this host's interfaces only.
    mount("-t", "sysfs", "sysfs", "/sys")
    for name in OVERLAID_DIRS:
        upper = host_dir / "upper" / name
        work = host_dir / "work" / name
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        # The merged dir takes the upper dir's mode: keep the machine's (/tmp is
        # 1777; daemons that dropped root, like mariadbd, write there).
        os.chmod(upper, os.stat(f"/{name}").st_mode & 0o7777)
        mount("-t", "overlay", "overlay", "-o",
              f"lowerdir=/{name},upperdir={upper},workdir={work}", f"/{name}")
    for name in TMPFS_DIRS:
        mount("-t", "tmpfs", "-o", "mode=0755" if name == "run" else "mode=1777", "tmpfs", f"/{name}")
    # Debian expects these to exist on a booted system.
    for path in ("/run/lock", "/run/sendsigs.omit.d"):
        os.makedirs(path, exist_ok=True)
    os.chmod("/run/lock", 0o1777)
    # Runtime files left over from before a "reboot" must not survive it.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def wait_for(path: pathlib.Path, deadline: float):
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"hostinit: {path} did not appear")
        time.sleep(0.05)


def start_minion(minion_cmd, log):
    return subprocess.Popen(minion_cmd, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_everything(*_):
    # As PID 1 of the namespace, kill(-1) reaches every other process in it.
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        try:
            os.kill(-1, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + grace
        while time.monotonic() < end:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    time.sleep(0.05)
            except ChildProcessError:
                break
    sys.exit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--host-dir", required=True, type=pathlib.Path)
    parser.add_argument("--lab", required=True, help="lab name (lets `down` find strays)")
    parser.add_argument("minion_cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if os.getpid() != 1:
        raise SystemExit("hostinit must be PID 1 of a new PID namespace")

    signal.signal(signal.SIGTERM, stop_everything)
    signal.signal(signal.SIGINT, stop_everything)
    prepare_filesystem(args.host_dir, args.hostname)
    (args.host_dir / "mounted").touch()
    wait_for(args.host_dir / "network-ready", time.monotonic() + 60)

    minion_cmd = [c for c in args.minion_cmd if c != "--"]
    os.makedirs("/var/log/salt", exist_ok=True)
    log = open("/var/log/salt/minion-console.log", "ab", buffering=0)
    minion = start_minion(minion_cmd, log) if minion_cmd else None
    while True:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            time.sleep(0.5)
            continue
        if minion is not None and pid == minion.pid:
            # Like systemd's Restart=always for salt-minion on a real host.
            time.sleep(MINION_RESPAWN_DELAY)
            minion = start_minion(minion_cmd, log)


if __name__ == "__main__":
    main()
