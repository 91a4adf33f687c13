"""Small helpers the host checks share (testinfra `host` in, plain values out)."""

import shlex


def uses_systemd(host):
    return host.file("/run/systemd/system").is_directory


def service_running(host, name, processes=None):
    """Whether service `name` runs: systemd's view, else its init script's status,
    else (a script without status) the process the tier block names."""
    if uses_systemd(host):
        return host.run(f"systemctl is-active --quiet {shlex.quote(name)}").rc == 0
    signature = (processes or {}).get(name)
    if signature:
        return process_running(host, signature)
    script = f"/etc/init.d/{name}"
    if name == "keepalived":  # Debian's sysvinit script has no status
        return host.run("pidof keepalived").rc == 0
    return host.run(f"{script} status").rc == 0


def listens(host, address, port):
    """A TCP socket listening on exactly address:port."""
    out = host.check_output(f"ss -Hltn 'sport = :{int(port)}'")
    return any(line.split()[3] == f"{address}:{port}" for line in out.splitlines() if len(line.split()) > 3)


def http_status(host, url, timeout=5):
    """The HTTP status `url` answers with, seen from this host (0: no answer)."""
    code = f"""
import sys, urllib.request, urllib.error
try:
    print(urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open({url!r}, timeout={timeout}).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except Exception:
    print(0)
"""
    return int(host.check_output(f"python3 -c {shlex.quote(code)}") or 0)


# Looks through /proc itself: `pgrep -f` would also find the shell that runs it
# (its command line holds the signature), and takes a leading "-" for an option.
PROCESS_RUNNING = """
import os, sys
signature, skip = sys.argv[1], {os.getpid(), os.getppid()}
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) in skip:
        continue
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\\0")
    except OSError:  # gone meanwhile
        continue
    if signature in b" ".join(words).decode(errors="replace"):
        sys.exit(0)
sys.exit(1)
"""


def process_running(host, signature):
    """A process whose command line holds `signature` (the tier block's `processes`)."""
    return host.run(f"python3 -c {shlex.quote(PROCESS_RUNNING)} {shlex.quote(signature)}").rc == 0


def listeners(host, port):
    """[(address, process name)] of the TCP sockets listening on `port`."""
    out = host.check_output(f"ss -Hltnp 'sport = :{int(port)}'")
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 3:
            name = line.split('(("', 1)[1].split('"', 1)[0] if '(("' in line else ""
            found.append((fields[3].rsplit(":", 1)[0], name))
    return found
