"""`hastack-lab`: bring the lab up, look at it, talk to its Salt, tear it down."""

import argparse
import json
import os
import sys
import time

from .lab import LAYOUTS, Lab, LabError


def print_status(status):
    holders = ",".join(status.get("vip_holders") or []) or "NOBODY"
    print(f"lab {status['lab']}  network {status['network']}  VIP {status['vip']} on {holders}  "
          f"master {'up' if status['master'] else 'DOWN'}")
    print(f"{'host':<6} {'ip':<15} {'ns':<5} {'minion':<7} services")
    for row in status["hosts"]:
        services = " ".join(f"{name}:{'up' if ok else 'DOWN'}" for name, ok in row["services"].items())
        print(f"{row['host']:<6} {row['ip']:<15} {'up' if row['running'] else 'DOWN':<5} "
              f"{'ok' if row['minion'] else 'DOWN':<7} {services or '-'}")
        for tier, fact in row.get("facts", {}).items():
            print(f"{'':<6} {tier}: {fact['summary']}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hastack-lab", description=__doc__)
    parser.add_argument("--name", default=os.environ.get("HASTACK_LAB_NAME", "hastack"),
                        help="lab name; several labs can coexist (default: hastack)")
    parser.add_argument("--subnet", default=os.environ.get("HASTACK_LAB_SUBNET", "10.250.0.0/24"))
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="create the hosts, start Salt, deploy the stack")
    up.add_argument("--hosts", type=int, default=3,
                    help="1 to 9 (default 3); a deploy needs 3 or more converged hosts "
                         "(the quorum roles take an odd number of them)")
    up.add_argument("--no-deploy", action="store_true")
    up.add_argument("--layout", choices=LAYOUTS, default=None,
                    help="converged (default): every role on every host; two-host: two full "
                         "hosts plus a tie-breaker host (garbd, third broker)")
    off = sub.add_parser("poweroff", help="pull the plug of hosts (default: all) at once")
    off.add_argument("hosts", nargs="*")
    on = sub.add_parser("poweron", help="boot powered-off hosts (init and minion only)")
    on.add_argument("hosts", nargs="*")
    link = sub.add_parser("link", help="cut or restore a host's network link: link HOST down|up")
    link.add_argument("host")
    link.add_argument("state", choices=("down", "up"))
    status = sub.add_parser("status", help="one row per host")
    status.add_argument("--json", action="store_true")
    verify = sub.add_parser("verify", help="run the host checks (tests/integration) inside hosts (default: all)")
    verify.add_argument("hosts", nargs="*")
    sub.add_parser("down", help="stop and remove everything the lab made")
    for tool in ("salt", "salt-run", "salt-key"):
        p = sub.add_parser(tool, help=f"the real {tool} against the lab master")
        p.add_argument("args", nargs=argparse.REMAINDER)
    call = sub.add_parser("salt-call", help="salt-call inside a host")
    call.add_argument("host")
    call.add_argument("args", nargs=argparse.REMAINDER)
    ex = sub.add_parser("exec", help="run a command inside a host: exec HOST -- CMD...")
    ex.add_argument("host")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    argv = list(sys.argv[1:] if argv is None else argv)
    # Salt's own options (-L, --out ...) must reach salt untouched: split them
    # off before argparse, which would take them for ours.
    passthrough = []
    for index, word in enumerate(argv):
        if word in ("salt", "salt-run", "salt-key"):
            argv, passthrough = argv[:index + 1], argv[index + 1:]
            break
        if word in ("salt-call", "exec") and index + 1 < len(argv):
            argv, passthrough = argv[:index + 2], argv[index + 2:]
            break
    args = parser.parse_args(argv)
    for name in ("args", "cmd"):
        if hasattr(args, name):
            setattr(args, name, passthrough)

    # A running lab keeps its host count and layout unless `up` names new ones.
    saved_file = Lab(name=args.name, subnet=args.subnet).state_dir / "lab.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    host_count = args.hosts if args.command == "up" else saved.get("host_count", 3)
    layout = (args.layout if args.command == "up" else None) or saved.get("layout", "converged")
    lab = Lab(name=args.name, subnet=args.subnet, host_count=host_count, layout=layout)
    try:
        if args.command == "up":
            elapsed = lab.up(deploy=not args.no_deploy)
            print(f"[lab] up in {elapsed:.1f}s")
            print_status(lab.status())
        elif args.command == "down":
            started = time.monotonic()
            lab.down()
            print(f"[lab] down in {time.monotonic() - started:.1f}s; nothing left behind")
        elif args.command == "status":
            status = lab.status()
            print(json.dumps(status, indent=2) if args.json else "", end="\n" if args.json else "")
            if not args.json:
                print_status(status)
        elif args.command == "verify":
            results = lab.verify(args.hosts or None)
            for host, result in results.items():
                print(f"== {host}: {'ok' if result['ok'] else 'FAILED'}")
                print(result["output"].rstrip())
            return 0 if all(r["ok"] for r in results.values()) else 1
        elif args.command == "poweroff":
            lab.poweroff(*args.hosts)
            print(f"[lab] powered off: {' '.join(args.hosts) or 'every host'}")
        elif args.command == "poweron":
            started = time.monotonic()
            booted = lab.poweron(*args.hosts)
            print(f"[lab] booted {' '.join(booted) or 'nothing (all running)'} "
                  f"in {time.monotonic() - started:.1f}s")
        elif args.command == "link":
            lab.set_link(args.host, args.state == "up")
        elif args.command in ("salt", "salt-run", "salt-key"):
            os.execv(lab.salt_cmd(args.command)[0], lab.salt_cmd(args.command, *args.args))
        elif args.command == "salt-call":
            from .lab import VENV_BIN
            return lab.exec(args.host, [str(VENV_BIN / "salt-call"), *args.args],
                            check=False, capture=False, timeout=None).returncode
        elif args.command == "exec":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            if not cmd:
                parser.error("exec needs a command: exec HOST -- CMD...")
            return lab.exec(args.host, cmd, check=False, capture=False, timeout=None).returncode
    except LabError as exc:
        print(f"hastack-lab: {exc}", file=sys.stderr)
        return 2
    return 0
