"""The hastack lab: N controller "hosts" as Linux namespaces on one machine.

Each host is a PID namespace whose init (hostinit.py) has its own network,
UTS, IPC and mount namespaces, overlays over /etc, /var, /srv and /root, and a
salt-minion. A veth pair links each host to a bridge on the machine, where a
salt-master listens. Everything the lab creates is named after the lab, so a
later `up` or `down` finds and removes what a killed lab left behind.

Used by the `hastack-lab` command and by the test fixtures alike.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib.util
import ipaddress
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
STATE_ROOT = pathlib.Path(os.environ.get("HASTACK_LAB_STATE", "/opt/hastack-lab"))
VENV_BIN = pathlib.Path(sys.executable).parent
PACKAGE_DIR = pathlib.Path(__file__).resolve().parent

# Init scripts without a `status` action.
SERVICE_CHECKS = {"keepalived": ["pidof", "keepalived"]}
OVERRIDE_HEADER = "# Set by tests through Lab.set_pillar_override; last in the pillar top.\n"


def _formula_module():
    """The formula's own data functions (_modules/hastack.py), imported by path."""
    spec = importlib.util.spec_from_file_location("hastack_formula_data", REPO / "_modules" / "hastack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FORMULA = _formula_module()


def formula_config(pillar_hastack=None):
    """The formula's defaults and tier blocks merged under pillar_hastack, as map.jinja does."""
    defaults, tier_docs, os_family = FORMULA.read_layers(REPO / "hastack")
    return FORMULA.merge_config(defaults, pillar_hastack or {}, os_family, tier_docs)


def role_services(config):
    """Role -> init scripts of the tiers with states the role carries (what `status` reports)."""
    services = {}
    for watched in FORMULA.watch_of(config).values():
        for role in watched["roles"]:
            services.setdefault(role, [])
            services[role] += [s for s in watched["services"] if s not in services[role]]
    return services


def vote_roles(config):
    """
    Roles with a quorum of their own: in the two-host layout the tie-breaker
    host carries them besides garbd (whose votes count for Galera).
    """
    roles = set()
    for block in FORMULA.tiers_of(config).values():
        quorum = block.get("quorum")
        counted = quorum.get("roles", []) if isinstance(quorum, dict) else []
        if counted and "arbitrator" not in counted:
            roles.update(counted)
    return sorted(roles)


def quorum_roles(config):
    """Roles some tier's quorum counts (the arbitrator aside): the converged
    layout puts them on an odd number of hosts."""
    roles = set()
    for block in FORMULA.tiers_of(config).values():
        quorum = block.get("quorum")
        roles.update(quorum.get("roles", []) if isinstance(quorum, dict) else [])
    return sorted(roles - {"arbitrator"})


LAYOUTS = ("converged", "two-host")
SALT_PORTS = (4505, 4506)
TARGET_FLAGS = {"glob": [], "list": ["-L"], "compound": ["-C"]}


class LabError(RuntimeError):
    """A problem the user can act on; the CLI prints it without a traceback."""


def run(cmd, check=True, capture=True, timeout=None, **kw):
    proc = subprocess.run(cmd, check=False, text=True, timeout=timeout,
                          capture_output=capture, **kw)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip() if capture else ""
        raise LabError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{detail}")
    return proc


def parse_salt_args(args):
    """
    A `salt` command line (target flags, -t, target, function, arguments) as
    LocalClient.cmd's arguments, parsed the CLI's way; None when it uses
    anything else.
    """
    import salt.utils.args  # pylint: disable=import-outside-toplevel

    args = [str(a) for a in args]
    tgt_type, timeout, rest = "glob", None, []
    i = 0
    while i < len(args):
        if args[i] in ("-L", "--list"):
            tgt_type = "list"
        elif args[i] in ("-C", "--compound"):
            tgt_type = "compound"
        elif args[i] in ("-t", "--timeout") and i + 1 < len(args):
            timeout = int(args[i + 1])
            i += 1
        elif args[i].startswith("-"):
            return None
        else:
            rest.append(args[i])
        i += 1
    if len(rest) < 2 or "," in rest[1]:
        return None  # no function, or a compound command
    tgt = rest[0].split(",") if tgt_type == "list" else rest[0]
    return {"tgt": tgt, "tgt_type": tgt_type, "fun": rest[1], "timeout": timeout,
            "arg": salt.utils.args.parse_input(rest[2:])}


def wait_until(predicate, timeout, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _writes_to(pid, path):
    """True when the process's stdout or stderr is the file ``path`` (also once deleted)."""
    for fd in (1, 2):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target in (path, f"{path} (deleted)"):
            return True
    return False


def _cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def _listening(addr, port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((addr, port)) == 0


def _all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


@dataclasses.dataclass
class Lab:
    name: str = "hastack"
    subnet: str = "10.250.0.0/24"
    host_count: int = 3
    say: object = print
    # converged: every role on every host but arbitrator. two-host: every role
    # on all hosts but the last, which carries only the tie-breakers (garbd,
    # the third broker and swift storage node).
    layout: str = "converged"

    # ---------------------------------------------------------------- naming
    @property
    def network(self):
        return ipaddress.ip_network(self.subnet)

    @property
    def master_ip(self):
        return str(self.network[1])

    @property
    def vip(self):
        return str(self.network[10])

    @property
    def hosts(self):
        return [f"ctl{i}" for i in range(1, self.host_count + 1)]

    def host_ip(self, host):
        return str(self.network[10 + int(host[3:])])

    @property
    def bridge(self):
        return f"{self.name}0"[:15]

    def link_name(self, host):
        return f"{self.name}-{host}"[:15]

    def netns_name(self, host):
        return f"{self.name}-{host}"

    @property
    def state_dir(self):
        return STATE_ROOT / self.name

    def host_dir(self, host):
        return self.state_dir / "hosts" / host

    @property
    def master_dir(self):
        return self.state_dir / "master"

    @property
    def master_cache_dir(self):
        """The master's cachedir (root_dir + Salt's default): its job cache is jobs/."""
        return self.master_dir / "var" / "cache" / "salt" / "master"

    @property
    def master_conf_dir(self):
        return self.master_dir / "etc"

    @property
    def pillar_dir(self):
        # Generated pillar (topology and secrets): kept out of git.
        return REPO / "lab" / "pillar" / "generated" / self.name

    # -------------------------------------------------------------- checks
    def preflight(self):
        problems = []
        if os.geteuid() != 0:
            problems.append("the lab needs root (namespaces, bridge, mounts)")
        for ns in ("net", "mnt", "pid", "uts", "ipc"):
            if not pathlib.Path(f"/proc/self/ns/{ns}").exists():
                problems.append(f"kernel lacks {ns} namespaces")
        filesystems = pathlib.Path("/proc/filesystems").read_text()
        if "overlay" not in filesystems:
            problems.append("kernel lacks overlayfs (modprobe overlay)")
        for tool in ("ip", "unshare", "nsenter", "mount", "umount"):
            if shutil.which(tool) is None:
                problems.append(f"missing command: {tool}")
        for hidden in ("/run", "/dev/shm"):
            if str(REPO).startswith(hidden + "/") or str(VENV_BIN).startswith(hidden + "/"):
                problems.append(f"the repository and its venv must not live under {hidden} "
                                "(each host has its own)")
        if not 1 <= self.host_count <= 9:
            problems.append("--hosts must be between 1 and 9")
        if self.layout not in LAYOUTS:
            problems.append(f"unknown layout {self.layout!r} (known: {', '.join(LAYOUTS)})")
        elif self.layout == "two-host" and self.host_count != 3:
            problems.append("the two-host layout needs --hosts 3 (two full hosts and a tie-breaker)")
        if problems:
            raise LabError("cannot run the lab:\n  - " + "\n  - ".join(problems))

    def _check_settings(self):
        """Refuse to touch a running lab that was made with other settings."""
        saved = self.state_dir / "lab.json"
        if not saved.exists():
            return
        old = json.loads(saved.read_text())
        mine = {"subnet": self.subnet, "host_count": self.host_count, "layout": self.layout}
        theirs = dict({"layout": "converged"}, **old)
        if {k: theirs.get(k) for k in mine} != mine and (self._init_pids() or self._master_pid()):
            raise LabError(
                f"lab '{self.name}' is running with {old.get('host_count')} hosts on "
                f"{old.get('subnet')} in the {theirs['layout']} layout; run `hastack-lab down` "
                "before changing its settings")

    def _check_network_free(self):
        out = run(["ip", "-o", "-4", "addr", "show"]).stdout
        for line in out.splitlines():
            dev, addr = line.split()[1], line.split()[3]
            if dev == self.bridge:
                continue
            if ipaddress.ip_interface(addr).network.overlaps(self.network):
                raise LabError(f"{addr} on {dev} overlaps the lab network {self.subnet}")

    def _busy_port(self):
        """(port, error) of the first Salt port taken on the master address, or None."""
        for port in SALT_PORTS:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.master_ip, port))
                except OSError as exc:
                    return port, exc
        return None

    def _check_ports_free(self, wait=20):
        # A killed master's workers may still be exiting (or one was forked while
        # the others died): kill what is left of this lab's master and wait.
        deadline = time.monotonic() + wait
        while (busy := self._busy_port()) is not None:
            for pid in self._master_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                port, exc = busy
                raise LabError(f"port {self.master_ip}:{port} is taken ({exc.strerror}); "
                               "is another salt-master running?") from exc
            time.sleep(0.5)

    # ------------------------------------------------------------ processes
    def _init_pids(self):
        """PIDs (machine view) of this lab's host inits, by host name."""
        found = {}
        marker = self.name.encode()
        for pid in _all_pids():
            argv = _cmdline(pid)
            if b"hastack_lab.hostinit" in argv and b"--lab" in argv:
                if argv[argv.index(b"--lab") + 1] == marker and b"--hostname" in argv:
                    host = argv[argv.index(b"--hostname") + 1].decode()
                    # unshare's own argv carries the same words; the init is its child.
                    if pathlib.Path(f"/proc/{pid}/exe").resolve().name != "unshare":
                        found[host] = pid
        return found

    def _master_pids(self, main_only=False):
        """
        This lab's salt-master processes. salt-master rewrites its process
        titles: most keep the command line's words, but some (EventPublisher)
        keep none, and outlive a stopped master; those are found by their
        output, the lab's master log. ``main_only``: only those with the words.
        """
        conf = str(self.master_conf_dir).encode()
        log = str(self.state_dir / "master.log")
        found = []
        for pid in _all_pids():
            line = b" ".join(_cmdline(pid))
            if (b"salt-master" in line and conf in line) or (not main_only and _writes_to(pid, log)):
                found.append(pid)
        return found

    def _client_pids(self):
        """Salt commands still talking to this lab's master (e.g. a `salt-run state.event` listener a
        killed test run left behind)."""
        conf = str(self.master_conf_dir).encode()
        found = []
        for pid in _all_pids():
            line = b" ".join(_cmdline(pid))
            if pid != os.getpid() and conf in line and b"salt-master" not in line:
                found.append(pid)
        return found

    def _master_pid(self):
        pids = self._master_pids(main_only=True)
        return min(pids) if pids else None

    def powered_on(self):
        """The hosts whose init runs (not powered off), in lab order."""
        inits = self._init_pids()
        return [h for h in self.hosts if h in inits]

    def init_pid(self, host):
        pid = self._init_pids().get(host)
        if pid is None:
            raise LabError(f"host {host} is not running (try `hastack-lab up`)")
        return pid

    # ------------------------------------------------------------ lifecycle
    def up(self, deploy=True):
        started = time.monotonic()
        self.preflight()
        if deploy:
            problems = self.layout_problems()
            if problems:
                raise LabError(f"the {self.layout} layout on {self.host_count} host(s) is no valid stack, "
                               "so nothing was created:\n  - " + "\n  - ".join(problems)
                               + "\n(the converged layout needs --hosts 3 or more; --no-deploy builds "
                               "the hosts alone)")
        self._check_settings()
        self.cleanup_strays()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "lab.json").write_text(json.dumps(
            {"name": self.name, "subnet": self.subnet, "host_count": self.host_count,
             "layout": self.layout}))
        self.say(f"[lab] network {self.subnet}: bridge {self.bridge}, master {self.master_ip}, "
                 f"VIP {self.vip} reserved")
        self._ensure_bridge()
        self._write_pillar()
        self._ensure_master()
        running = self._init_pids()
        for host in self.hosts:
            if host in running and (self.host_dir(host) / "network-ready").exists():
                continue
            self.say(f"[lab] starting host {host} ({self.host_ip(host)})")
            self.start_host(host)
        self._accept_and_ping()
        self.say(f"[lab] {len(self.hosts)} minions answer ({time.monotonic() - started:.1f}s)")
        if deploy:
            self.deploy()
        return time.monotonic() - started

    def deploy(self, pillar=None):
        """Sync the formula's modules to the master, then run hastack.deploy."""
        self.say("[lab] salt-run saltutil.sync_all")
        self.salt_run("saltutil.sync_all")
        self.say("[lab] salt-run state.orch hastack.deploy")
        result = self.orchestrate("hastack.deploy", pillar=pillar)
        for step in result["steps"]:
            mark = "ok  " if step["result"] else "FAIL"
            self.say(f"  {mark} {step['id']:<40} {step['duration_ms'] / 1000:6.1f}s  {step['changes']} changed")
        if not result["ok"]:
            raise LabError("deploy failed:\n" + "\n".join(result["errors"]))
        return result

    def down(self):
        self.say(f"[lab] stopping lab '{self.name}'")
        self.cleanup_strays(remove_state=True)
        left = self.leftovers()
        if left:
            raise LabError("could not remove: " + ", ".join(left))

    def cleanup_strays(self, remove_state=False):
        """Remove what a killed or stopped lab left: processes, netns, links, mounts.

        Hosts whose init is still alive and wired are kept unless remove_state.
        """
        inits = self._init_pids()
        for host, pid in inits.items():
            healthy = (self.host_dir(host) / "network-ready").exists() and host in self.hosts
            if remove_state or not healthy:
                self._kill(pid)
        if remove_state:
            for pid in self._master_pids() + self._client_pids():
                self._kill(pid)
        alive = set(self._init_pids())
        for ns in run(["ip", "netns", "list"]).stdout.split("\n"):
            ns = ns.split(" ")[0]
            if ns.startswith(f"{self.name}-") and ns[len(self.name) + 1:] not in alive:
                run(["ip", "netns", "del", ns], check=False)
        for link in self._links():
            if link == self.bridge and not remove_state:
                continue
            host = link[len(self.name) + 1:]
            if link != self.bridge and host in alive:
                continue
            run(["ip", "link", "del", link], check=False)
        for mountpoint in self._mounts():
            run(["umount", "-l", mountpoint], check=False)
        if remove_state and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        if remove_state:
            try:
                STATE_ROOT.rmdir()  # the last lab gone: leave the machine as it was
            except OSError:
                pass

    def leftovers(self):
        """What of this lab still exists on the machine (empty after down)."""
        found = [f"process {pid} (host {h})" for h, pid in self._init_pids().items()]
        found += [f"salt-master {pid}" for pid in self._master_pids()]
        found += [f"netns {ns.split(' ')[0]}" for ns in run(["ip", "netns", "list"]).stdout.splitlines()
                  if ns.startswith(f"{self.name}-")]
        found += [f"link {link}" for link in self._links()]
        found += [f"mount {m}" for m in self._mounts()]
        if self.state_dir.exists():
            found.append(f"dir {self.state_dir}")
        return found

    def _links(self):
        names = []
        for line in run(["ip", "-o", "link", "show"]).stdout.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name == self.bridge or name.startswith(f"{self.name}-"):
                names.append(name)
        return names

    def _mounts(self):
        points = []
        for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4]
            if point.startswith(str(self.state_dir)) or point.startswith(f"/run/netns/{self.name}-"):
                points.append(point)
        return sorted(points, key=len, reverse=True)

    @staticmethod
    def _kill(pid, sig=signal.SIGKILL, timeout=10):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        wait_until(lambda: Lab._gone_or_zombie(pid), timeout, 0.05, f"process {pid} to exit")

    @staticmethod
    def _gone_or_zombie(pid):
        """True once pid has exited (it may vanish between two reads of /proc)."""
        try:
            return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return True

    # -------------------------------------------------------------- network
    def _ensure_bridge(self):
        if self.bridge not in self._links():
            self._check_network_free()
            run(["ip", "link", "add", self.bridge, "type", "bridge"])
            run(["ip", "addr", "add", f"{self.master_ip}/{self.network.prefixlen}", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])

    # ---------------------------------------------------------------- hosts
    def start_host(self, host):
        """Start (or, with its state kept, reboot) one host; returns its init PID."""
        hdir = self.host_dir(host)
        for marker in ("mounted", "network-ready"):
            (hdir / marker).unlink(missing_ok=True)
        self._write_host_config(host)
        log = open(hdir / "init.log", "ab")
        minion = [str(VENV_BIN / "salt-minion"), "-c", "/etc/salt", "-l", "warning"]
        cmd = ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork",
               "--mount-proc", "--propagation", "private", "--kill-child",
               sys.executable, "-m", "hastack_lab.hostinit", "--hostname", host,
               "--host-dir", str(hdir), "--lab", self.name, "--", *minion]
        env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR.parent))
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, env=env, cwd="/")
        wait_until(lambda: (hdir / "mounted").exists(), 30, 0.05, f"{host} to mount its filesystems")
        pid = self.init_pid(host)
        link = self.link_name(host)
        run(["ip", "link", "del", link], check=False)
        run(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", str(pid)])
        run(["ip", "link", "set", link, "master", self.bridge, "up"])
        inside = ["nsenter", "-t", str(pid), "-n"]
        run([*inside, "ip", "addr", "add", f"{self.host_ip(host)}/{self.network.prefixlen}", "dev", "eth0"])
        run([*inside, "ip", "link", "set", "eth0", "up"])
        run([*inside, "ip", "route", "add", "default", "via", self.master_ip])
        run(["ip", "netns", "del", self.netns_name(host)], check=False)
        run(["ip", "netns", "attach", self.netns_name(host), str(pid)])
        (hdir / "network-ready").touch()
        return pid

    def _write_host_config(self, host):
        etc = self.host_dir(host) / "upper" / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        # The lab has no DNS: an unreachable nameserver makes every lookup (salt
        # grains, apt, services) wait for timeouts. Names come from /etc/hosts.
        (etc / "resolv.conf").write_text("# lab host: no DNS server; names come from /etc/hosts\n")
        conf = etc / "salt" / "minion.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "lab.conf").write_text(yaml.safe_dump({
            "id": host,
            "master": self.master_ip,
            # Salt's default transport (ZeroMQ), as on real hosts. With the TCP
            # transport, minions reconnected to a restarted master but took no
            # job from it any more (saltstack/salt#39463).
            # No systemd here: without this, service.* silently does nothing.
            "disable_modules": ["systemd_service"],
            "log_file": "/var/log/salt/minion",
            "log_level_logfile": "info",
            "acceptance_wait_time": 1,
            "acceptance_wait_time_max": 2,
            "random_reauth_delay": 0,
            "auth_tries": 30,
            # Notice a master that left (a restart) and reconnect within seconds.
            "master_alive_interval": 10,
        }))

    def exec(self, host, cmd, check=True, timeout=120, capture=True):
        """Run cmd inside host (all its namespaces, cwd /)."""
        pid = self.init_pid(host)
        full = ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "--wd=/", "--", *cmd]
        return run(full, check=check, timeout=timeout, capture=capture)

    # ---------------------------------------------------------------- salt
    def _write_pillar(self):
        self.pillar_dir.mkdir(parents=True, exist_ok=True)
        topology = self.topology()
        (self.pillar_dir / "topology.sls").write_text(
            "# Generated by hastack-lab up: the lab's hosts and roles.\n" + yaml.safe_dump(topology))
        secrets_file = self.pillar_dir / "secrets.sls"
        if not secrets_file.exists():
            names = FORMULA.all_secret_names(formula_config())
            generated = {"hastack": {"secrets": {n: secrets.token_hex(16) for n in names}}}
            secrets_file.write_text("# Generated by hastack-lab up; never committed.\n"
                                    + yaml.safe_dump(generated))
            secrets_file.chmod(0o600)
        # A test's override never outlives a lab start (an interrupted run
        # would leave e.g. healing switched on for the next one).
        (self.pillar_dir / "override.sls").write_text(OVERRIDE_HEADER + "{}\n")

    def set_pillar_override(self, data=None):
        """
        Put ``data`` (a pillar dict, e.g. {"hastack": {...}}) over the lab's
        pillar on every minion and the master, or remove it (None); the minions
        refresh their pillar before this returns.
        """
        text = OVERRIDE_HEADER + (yaml.safe_dump(data) if data else "{}\n")
        (self.pillar_dir / "override.sls").write_text(text)
        self.salt("-L", ",".join(self.hosts), "saltutil.refresh_pillar", "wait=True")

    def layout_roles(self):
        """Role -> hosts of this lab's layout (written into the lab's pillar).

        converged: every role on every host, except that the roles with a quorum
        of their own (Galera, RabbitMQ, swift storage) take the largest odd
        number of hosts: a fourth host is one more stateless API and LB host,
        not an even quorum.
        """
        config = formula_config()
        known = FORMULA.known_roles(config)
        if self.layout == "two-host":
            *full, tie_breaker = self.hosts
            roles = {role: list(full) for role in known}
            roles["arbitrator"] = [tie_breaker]
            for role in vote_roles(config):
                roles[role].append(tie_breaker)
            return roles
        voters = self.hosts[:len(self.hosts) - (1 - len(self.hosts) % 2)]
        roles = {role: list(self.hosts) for role in known}
        roles["arbitrator"] = []
        for role in quorum_roles(config):
            roles[role] = list(voters)
        return roles

    def topology(self):
        """The lab's generated pillar: network, hosts and the layout's roles."""
        return {"hastack": {
            "network": {"cidr": self.subnet, "vip": self.vip},
            "hosts": {h: {"ip": self.host_ip(h)} for h in self.hosts},
            "roles": self.layout_roles(),
        }}

    def layout_problems(self):
        """What the formula's validation says of the stack this lab would deploy
        (its layout on its host count, the lab pillar, every secret set), before
        any host exists: a host count no layout makes a valid stack of is refused
        up front, not by the deploy."""
        lab_pillar = yaml.safe_load((REPO / "lab" / "pillar" / "lab.sls").read_text()) or {}
        hastack = FORMULA._merge(lab_pillar.get("hastack") or {}, self.topology()["hastack"])
        names = FORMULA.all_secret_names(formula_config(hastack))
        hastack["secrets"] = {name: secrets.token_hex(16) for name in names}
        return FORMULA.check_config(formula_config(hastack))

    def _write_master_config(self):
        files = self.master_dir / "srv" / "salt"
        files.mkdir(parents=True, exist_ok=True)
        # The formula as an operator's file_roots would serve it (repo root), minus
        # the repo's non-formula trees, plus the lab's top file.
        for entry in ("hastack", "orch", "reactor", "_modules", "_states", "_runners", "_beacons", "_engines"):
            link = files / entry
            if not link.is_symlink():
                link.symlink_to(REPO / entry)
        top = files / "top.sls"
        if not top.is_symlink():
            top.symlink_to(REPO / "lab" / "salt" / "top.sls")
        self.master_conf_dir.mkdir(parents=True, exist_ok=True)
        (self.master_conf_dir / "master").write_text(yaml.safe_dump({
            "id": f"{self.name}-master",
            "root_dir": str(self.master_dir),
            "interface": self.master_ip,
            "file_roots": {"base": [str(files)]},
            "pillar_roots": {"base": [str(self.pillar_dir), str(REPO / "lab" / "pillar")]},
            "log_file": str(self.master_dir / "log" / "master"),
            "key_logfile": str(self.master_dir / "log" / "key"),
            "log_level_logfile": "info",
            "worker_threads": 4,
            "timeout": 30,
            "gather_job_timeout": 20,
            "keep_jobs_seconds": 3600,
            # The auto-heal's reactor mapping and reconciler schedule: the very
            # file operators install (healing itself is off in the lab pillar
            # unless a test switches it on).
            "include": [str(REPO / "hastack" / "files" / "master.d" / "hastack-heal.conf")],
        }))

    def _ensure_master(self):
        self._write_master_config()
        if self._master_pid():
            return
        self._check_ports_free()
        # The master loads engines (the auto-heal's reconciler) only when it
        # starts: sync them first (a runner reading file_roots locally).
        self.say("[lab] salt-run saltutil.sync_engines (before the master starts)")
        (self.master_dir / "var" / "cache" / "salt" / "master" / "proc").mkdir(parents=True, exist_ok=True)
        run(self.salt_cmd("salt-run", "saltutil.sync_engines"), check=False, timeout=300)
        self.say("[lab] starting salt-master")
        log = open(self.state_dir / "master.log", "ab")
        subprocess.Popen([str(VENV_BIN / "salt-master"), "-c", str(self.master_conf_dir), "-l", "warning"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, cwd="/")
        wait_until(lambda: _listening(self.master_ip, SALT_PORTS[1]), 60, 0.2, "salt-master to listen")

    def restart_master(self, stop_timeout=30):
        """
        Restart the lab's salt-master as a service manager would: SIGTERM,
        SIGKILL of what is left after stop_timeout seconds, start again.
        Returns once every minion answers it.
        """
        main = self._master_pid()
        if main:
            with contextlib.suppress(ProcessLookupError):
                os.kill(main, signal.SIGTERM)
            deadline = time.monotonic() + stop_timeout
            while self._master_pids(main_only=True) and time.monotonic() < deadline:
                time.sleep(0.2)
            # ...and what outlived it (an EventPublisher never exits on its own).
            for pid in self._master_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not self._master_pids(), 30, 0.2, "salt-master to stop")
        self._ensure_master()
        self._accept_and_ping()

    def salt_cmd(self, tool, *args):
        return [str(VENV_BIN / tool), "-c", str(self.master_conf_dir), *map(str, args)]

    def salt_json(self, tool, *args, timeout=600):
        # --static: one JSON document for all minions (only `salt` streams per minion).
        static = ["--static"] if tool == "salt" else []
        proc = run(self.salt_cmd(tool, "--out", "json", *static, *args), check=False, timeout=timeout)
        try:
            return json.loads(proc.stdout) if proc.stdout.strip() else {}
        except json.JSONDecodeError as exc:
            raise LabError(f"{tool} {' '.join(args)} gave no JSON:\n{proc.stdout}\n{proc.stderr}") from exc

    def salt(self, *args, timeout=600):
        """
        `salt` against the lab master; returns {minion: return} (JSON types).
        Published from this process (no CLI to start, no ping round before
        the job); arguments the in-process path does not know go to the CLI.
        """
        call = parse_salt_args(args)
        if call is None:
            return self.salt_json("salt", *args, timeout=timeout)
        return self._publish(call, timeout)

    def _publish(self, call, wall_timeout):
        import salt.client  # pylint: disable=import-outside-toplevel

        def job():
            client = salt.client.LocalClient(c_path=str(self.master_conf_dir / "master"))
            try:
                return client.cmd(call["tgt"], call["fun"], arg=call["arg"], timeout=call["timeout"],
                                  tgt_type=call["tgt_type"])
            finally:
                client.destroy()

        # The CLI's wall-clock bound too: Salt waits on while a minion says the job still runs.
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            got = pool.submit(job).result(timeout=wall_timeout)
        except concurrent.futures.TimeoutError as exc:
            raise LabError(f"salt {call['tgt']} {call['fun']}: no end after {wall_timeout}s") from exc
        except Exception:  # pylint: disable=broad-except
            # The master down or restarting: no answer, as the CLI's empty output was.
            return {}
        finally:
            pool.shutdown(wait=False)
        # What the CLI's JSON output gave: JSON types only.
        return json.loads(json.dumps(got or {}, default=str))

    def salt_run(self, *args, timeout=900):
        return self.salt_json("salt-run", *args, timeout=timeout)

    def apply(self, tgt="*", sls=None, tgt_type="glob", timeout=900, test=False):
        """state.apply on minions (a dry run with test); returns [{minion, id, result, changes, comment}]."""
        args = [*TARGET_FLAGS[tgt_type], tgt, "state.apply"]
        if sls:
            args.append(sls)
        if test:
            args.append("test=True")
        # Salt's own timeout too: on a busy machine a minion may answer the CLI's
        # job-status polls late, and the CLI would return without its result.
        return summarize_apply(self.salt(*args, "-t", str(timeout), timeout=timeout))

    def orchestrate(self, sls, pillar=None, timeout=1800):
        """Run an orchestration; returns {ok, steps: [...], errors: [...], raw}."""
        args = ["state.orch", sls]
        if pillar is not None:
            args.append(f"pillar={json.dumps(pillar)}")
        raw = self.salt_run(*args, timeout=timeout)
        return summarize_orchestration(raw)

    def _accept_and_ping(self, hosts=None):
        hosts = list(hosts or self.hosts)
        expected = set(hosts)

        def accept():
            keys = self.salt_json("salt-key", "-L")
            pending = set(keys.get("minions_pre", [])) & expected
            for minion in pending:
                run(self.salt_cmd("salt-key", "-y", "-a", minion))
            return expected <= set(keys.get("minions", []))
        wait_until(accept, 120, 1.0, "minion keys")

        def pong():
            # A shared, busy machine can take tens of seconds to answer.
            answers = self.salt("-L", ",".join(hosts), "test.ping", "-t", "20")
            return all(answers.get(h) is True for h in hosts)
        wait_until(pong, 300, 0.5, "minions to answer test.ping")

    # --------------------------------------------------------------- status
    def secret(self, name):
        """A generated lab secret (tests log in with these)."""
        data = yaml.safe_load((self.pillar_dir / "secrets.sls").read_text())
        return data["hastack"]["secrets"][name]

    def crash(self, host, *names, timeout=10):
        """kill -9 every process of these exact names inside host; wait until those pids are gone.

        Only the killed pids are waited for: with healing on, a new process of the same name
        may already run before this sees the old ones go.
        """
        pattern = "|".join(names)
        pids = set(self.exec(host, ["pgrep", "-x", pattern], check=False).stdout.split())
        if not pids:
            return
        self.exec(host, ["kill", "-9", *pids], check=False)

        def gone():
            return not pids & set(self.exec(host, ["pgrep", "-x", pattern], check=False).stdout.split())
        wait_until(gone, timeout, 0.1, f"{pattern} on {host} to die")
        return [int(p) for p in pids]

    def set_link(self, host, up):
        """Cut (or restore) a host's only network link: a partition."""
        run(["ip", "link", "set", self.link_name(host), "up" if up else "down"])

    def poweroff(self, *hosts):
        """
        Pull the plug of hosts (default: all) at the same instant: kill -9 of a
        host's init ends its whole PID namespace, so every process dies at once
        and nothing shuts down cleanly; the host's link goes down with it.
        Disks (the overlay upper dirs) survive; /run does not.
        """
        targets = list(hosts) or self.hosts
        inits = self._init_pids()
        for host in targets:
            if host in inits:
                os.kill(inits[host], signal.SIGKILL)
        for host in targets:
            run(["ip", "link", "set", self.link_name(host), "down"], check=False)
        for host in targets:
            if host in inits:
                self._kill(inits[host])
            (self.host_dir(host) / "network-ready").unlink(missing_ok=True)

    def poweron(self, *hosts):
        """
        Boot powered-off hosts (default: every host that is not running) with
        an empty /run: their init and salt-minion start, and nothing else, as
        on a host whose services wait for Salt. Returns once their minions answer.
        """
        running = self._init_pids()
        targets = [h for h in (list(hosts) or self.hosts) if h not in running]
        self.cleanup_strays()
        for host in targets:
            self.say(f"[lab] powering on host {host} ({self.host_ip(host)})")
            self.start_host(host)
        self._accept_and_ping(targets)
        return targets

    def _topology_roles(self):
        """Role -> hosts as the lab's generated topology pillar gives them."""
        return yaml.safe_load((self.pillar_dir / "topology.sls").read_text())["hastack"]["roles"]

    def roles_of(self, host, roles=None):
        """Roles of host: from `roles` (role -> hosts) or the lab's generated topology."""
        if roles is None:
            roles = self._topology_roles()
        return [r for r, members in roles.items() if host in (members or [])]

    def pillar_roles(self, answering):
        """
        The roles as the formula sees them: hastack:roles of the minions' pillar,
        so a role changed in any lab pillar file shows; the generated topology
        when no minion answers.
        """
        if answering:
            got = self.salt(answering[0], "pillar.get", "hastack:roles", "unmask=True").get(answering[0])
            if isinstance(got, dict) and got:
                return got
        return self._topology_roles()

    def stack_problems(self):
        """
        What keeps the whole stack from serving, judged per host (empty when
        it serves): every watched service running, Galera Synced in one
        Primary Component of every host, every RabbitMQ node running, every
        HAProxy backend UP, exactly one VIP holder.
        """
        status = self.status()
        size = len(self.hosts)
        problems = []
        for row in status["hosts"]:
            down = [name for name, ok in row["services"].items() if not ok]
            if not row["minion"] or down:
                problems.append(f"{row['host']}: minion {row['minion']}, down {down}")
            facts = row.get("facts", {})
            if facts.get("galera", {}).get("summary") != f"Synced, cluster size {size}, Primary":
                problems.append(f"{row['host']}: galera {facts.get('galera')}")
            if facts.get("rabbitmq", {}).get("summary") != f"{size}/{size} running":
                problems.append(f"{row['host']}: rabbitmq {facts.get('rabbitmq', {}).get('summary')}")
            lb = facts.get("haproxy", {}).get("servers") or []
            if not lb or any(s["status"] != "UP" for s in lb):
                problems.append(f"{row['host']}: haproxy backends {[(s['server'], s['status']) for s in lb]}")
        if len(status["vip_holders"]) != 1:
            problems.append(f"VIP held by {status['vip_holders']}")
        return problems

    def verify(self, hosts=None, timeout=300):
        """
        Run the host checks (tests/integration, testinfra) inside each host,
        with its local backend; the same checks Test Kitchen's verifier runs.
        Returns {host: {"ok": bool, "output": text}}; a host that is not
        running fails.
        """
        suite = REPO / "tests" / "integration"
        results = {}
        running = self._init_pids()
        for host in hosts or self.hosts:
            if host not in running:
                results[host] = {"ok": False, "output": f"{host} is not running"}
                continue
            proc = self.exec(host, ["env", f"HASTACK_SALT_CALL={VENV_BIN / 'salt-call'}",
                                    str(VENV_BIN / "python"), "-m", "pytest", "-c", str(suite / "pytest.ini"),
                                    "--rootdir", str(suite), "--hosts=local://", "-q", str(suite)],
                             check=False, timeout=timeout)
            results[host] = {"ok": proc.returncode == 0, "output": proc.stdout + proc.stderr}
        return results

    def status(self):
        inits = self._init_pids()
        pings = self.salt("-L", ",".join(self.hosts), "test.ping", "-t", "5") if self._master_pid() else {}
        answering = [h for h in self.hosts if pings.get(h) is True]
        roles = self.pillar_roles(answering)
        config = formula_config({"roles": roles})
        services_of_role = role_services(config)
        rows = []
        for host in self.hosts:
            row = {"host": host, "ip": self.host_ip(host), "running": host in inits,
                   "minion": host in answering, "roles": self.roles_of(host, roles), "services": {}}
            row["facts"] = {}
            if row["running"]:
                for role in row["roles"]:
                    for service in services_of_role.get(role, []):
                        check = SERVICE_CHECKS.get(service, [f"/etc/init.d/{service}", "status"])
                        proc = self.exec(host, check, check=False)
                        row["services"][service] = proc.returncode == 0
            rows.append(row)
        tiers = FORMULA.tiers_of(config)
        for tier, gather in TIER_FACTS.items():
            role = FORMULA.tier_roles(tiers[tier])[0]
            members = [h for h in answering if h in (roles.get(role) or [])]
            for host, fact in gather(self, members).items():
                next(r for r in rows if r["host"] == host)["facts"][tier] = fact
        return {"lab": self.name, "network": self.subnet, "vip": self.vip,
                "vip_holders": vip_holders(self, [r["host"] for r in rows if r["running"]]),
                "master": self._master_pid() is not None, "hosts": rows}


def _rabbitmq_facts(lab, members):
    """Each mq node's own view of its cluster."""
    views = lab.salt("-L", ",".join(members), "hastack_rabbitmq.status") if members else {}
    facts = {}
    for host in members:
        view = views.get(host)
        if not isinstance(view, dict):
            facts[host] = {"summary": "not running"}
            continue
        summary = f"{len(view['running'])}/{len(view['members'])} running"
        if view["partitions"]:
            summary += ", PARTITIONED"
        if view["alarms"]:
            summary += ", alarms: " + ",".join(view["alarms"])
        facts[host] = {"summary": summary, **view}
    return facts


def vip_holders(lab, hosts=None):
    """Hosts that carry the VIP right now (one, when all is well)."""
    holders = []
    for host in lab.hosts if hosts is None else hosts:
        out = lab.exec(host, ["ip", "-4", "-o", "addr", "show"], check=False).stdout
        if f" {lab.vip}/" in out:
            holders.append(host)
    return holders


def _lb_facts(lab, members):
    """VIP holder and each HAProxy's view of its backends."""
    views = lab.salt("-L", ",".join(members), "hastack_haproxy.servers") if members else {}
    holders = vip_holders(lab, members)
    facts = {}
    for host in members:
        rows = views.get(host)
        if not isinstance(rows, list):
            facts[host] = {"summary": "haproxy not answering", "vip": host in holders}
            continue
        backends = {}
        for row in rows:
            backends.setdefault(row["backend"], []).append(row)
        parts = ["VIP here"] if host in holders else []
        for backend, servers in sorted(backends.items()):
            up = [r["server"] for r in servers if r["status"].startswith("UP")]
            odd = [f"{r['server']}:{r['status']}" for r in servers if not r["status"].startswith("UP")]
            parts.append(f"{backend} {len(up)}/{len(servers)} up" + (f" ({' '.join(odd)})" if odd else ""))
        summary = "; ".join(parts) or "no backends"
        facts[host] = {"summary": summary, "vip": host in holders, "servers": rows}
    return facts


# Per-tier facts for `status`: tier -> function(lab, answering members of the
# tier's role) -> {host: {summary, ...}}.
def _galera_facts(lab, members):
    """Each db node's wsrep state and the cluster size it sees."""
    views = lab.salt("-L", ",".join(members), "hastack_galera.status") if members else {}
    facts = {}
    for host in members:
        view = views.get(host)
        if not isinstance(view, dict) or not view:
            facts[host] = {"summary": "not running", "state": None, "cluster_size": 0}
            continue
        state = view.get("wsrep_local_state_comment", "?")
        size = int(view.get("wsrep_cluster_size") or 0)
        summary = f"{state}, cluster size {size}, {view.get('wsrep_cluster_status', '?')}"
        facts[host] = {"summary": summary, "state": state, "cluster_size": size,
                       "cluster_status": view.get("wsrep_cluster_status"),
                       "last_committed": view.get("wsrep_last_committed")}
    return facts


TIER_FACTS = {
    "haproxy": _lb_facts,
    "galera": _galera_facts,
    "rabbitmq": _rabbitmq_facts,
}


def summarize_apply(raw):
    """Flatten `salt --out json --static state.apply` output, in run order."""
    rows = []
    for minion, states in sorted(raw.items()):
        if not isinstance(states, dict):  # render error or no return
            rows.append({"minion": minion, "id": "<render>", "result": False,
                         "changes": {}, "comment": str(states)})
            continue
        for ret in sorted(states.values(), key=lambda r: r.get("__run_num__", 0)):
            rows.append({"minion": minion, "id": ret.get("__id__", "?"), "result": ret.get("result"),
                         "changes": ret.get("changes") or {}, "comment": ret.get("comment", "")})
    return rows


def summarize_orchestration(raw):
    """Flatten `salt-run --out json state.orch` output into ordered steps."""
    data = raw.get("data", raw) if isinstance(raw, dict) else {}
    steps, errors = [], []
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), (dict, list)):
        data = next(iter(data.values()))
    if isinstance(data, list):  # render errors come back as a list of strings
        return {"ok": False, "steps": [], "errors": [str(e) for e in data], "raw": raw}
    for key, ret in sorted(data.items(), key=lambda kv: kv[1].get("__run_num__", 0)
                           if isinstance(kv[1], dict) else 0):
        if not isinstance(ret, dict):
            errors.append(str(ret))
            continue
        changes = ret.get("changes") or {}
        changed = 0
        if isinstance(changes.get("ret"), dict):
            for minion_ret in changes["ret"].values():
                if isinstance(minion_ret, dict):
                    changed += sum(1 for s in minion_ret.values()
                                   if isinstance(s, dict) and s.get("changes"))
        step = {"id": ret.get("__id__", key), "result": ret.get("result") is True,
                "comment": ret.get("comment", ""), "duration_ms": ret.get("duration", 0) or 0,
                "changes": changed, "raw": ret}
        steps.append(step)
        if not step["result"]:
            # salt.function failures carry the minion's error text in changes.ret.
            details = failed_minion_details(changes.get("ret"))
            errors.append(f"{step['id']}: {step['comment']}" + "".join(f"\n  {d}" for d in details))
    return {"ok": bool(steps) and not errors, "steps": steps, "errors": errors, "raw": raw}


def failed_minion_details(minion_rets):
    """What failed on each minion of a failed orchestration step: the error text of a
    salt.function, or each failed state (id and comment) of a salt.state run."""
    details = []
    if not isinstance(minion_rets, dict):
        return details
    for minion, ret in minion_rets.items():
        if isinstance(ret, str):
            details.append(f"{minion}: {ret}")
        elif isinstance(ret, list):  # a render error
            details.extend(f"{minion}: {item}" for item in ret)
        elif isinstance(ret, dict):
            for state_key, state in ret.items():
                if isinstance(state, dict) and state.get("result") is False:
                    name = state.get("__id__") or state_key
                    text = failure_text(state.get("comment", ""))
                    changes = state.get("changes") if isinstance(state.get("changes"), dict) else {}
                    if "retcode" in changes:  # a failed command: its exit code and last words
                        said = [line.strip() for line in str(changes.get("stderr") or changes.get("stdout") or "")
                                .splitlines() if line.strip()]
                        text += f" (exit {changes['retcode']}: {' | '.join(said[-3:])[-600:]})"
                    details.append(f"{minion}: {name}: {text}")
    return details


def failure_text(comment, limit=600):
    """A failed state's comment, short: of a traceback, its last lines (the exception)."""
    text = str(comment)
    if "Traceback (most recent call last)" in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        text = "exception: " + " | ".join(lines[-2:])
    return text if len(text) <= limit else text[:limit] + "..."
