"""RabbitMQ tier: cluster formed once, guest gone, no confirmed message lost."""

import time

import pika
import pytest

QUEUE_ARGS = {"x-queue-type": "quorum"}


def cluster_view(lab, host):
    return lab.salt(host, "hastack_rabbitmq.status")[host]


def wait_healthy(lab, host="ctl1", timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = cluster_view(lab, host)
        if view and view["healthy"] and len(view["running"]) == len(lab.hosts):
            return view
        time.sleep(1)
    raise AssertionError(f"cluster not healthy after {timeout}s: {cluster_view(lab, host)}")


def connect(lab, host, user="openstack", password=None, vhost="openstack"):
    password = lab.secret("rabbit_openstack") if password is None else password
    params = pika.ConnectionParameters(
        host=lab.host_ip(host), port=5672, virtual_host=vhost,
        credentials=pika.PlainCredentials(user, password),
        connection_attempts=1, socket_timeout=3, blocked_connection_timeout=10, heartbeat=10)
    return pika.BlockingConnection(params)


def open_channel(lab, host, queue):
    connection = connect(lab, host)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare(queue, durable=True, arguments=QUEUE_ARGS)
    return connection, channel


def publish(channel, queue, ident):
    """True only when the broker confirmed the message."""
    channel.basic_publish("", queue, str(ident).encode(),
                          pika.BasicProperties(delivery_mode=2), mandatory=True)
    return True


def drain(lab, host, queue, timeout=30):
    connection = connect(lab, host)
    channel = connection.channel()
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, _props, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        got.append(int(body))
        channel.basic_ack(method.delivery_tag)
    channel.queue_delete(queue)
    connection.close()
    return got


PIDFILE = "/run/rabbitmq/pid"


def kill_broker(lab, host):
    lab.exec(host, ["sh", "-c", f"kill -9 $(cat {PIDFILE})"])


def beam_pids(lab):
    # The server's pid file: rabbitmqctl runs are beam.smp processes too.
    return {h: lab.exec(h, ["cat", PIDFILE]).stdout.strip() for h in lab.hosts}


def test_cluster_has_every_node_running_without_partitions_or_alarms(lab):
    for host in lab.hosts:
        view = wait_healthy(lab, host)
        assert view["members"] == [f"rabbit@{h}" for h in lab.hosts]
        assert view["partitions"] == {} and view["alarms"] == []


def test_guest_is_gone_and_openstack_user_works(lab):
    users = lab.exec("ctl1", ["rabbitmqctl", "-q", "list_users"]).stdout
    assert "guest" not in users and "openstack" in users
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        connect(lab, "ctl1", user="guest", password="guest", vhost="/")
    connection = connect(lab, "ctl2")
    assert connection.is_open
    connection.close()


def test_deploy_refuses_two_brokers_before_any_change(lab):
    pids = beam_pids(lab)
    result = lab.orchestrate("hastack.deploy", pillar={"hastack": {"roles": {"mq": ["ctl1", "ctl2"]}}})
    assert not result["ok"]
    errors = "\n".join(result["errors"])
    assert "even number of RabbitMQ nodes (2)" in errors and "pause_minority" in errors, errors
    assert [s["id"] for s in result["steps"] if s["result"]] == []
    assert beam_pids(lab) == pids
    assert wait_healthy(lab)["members"] == [f"rabbit@{h}" for h in lab.hosts]


def test_node_loss_loses_no_confirmed_message(lab):
    queue = "hastack-test-node-loss"
    confirmed = []
    connection, channel = open_channel(lab, "ctl1", queue)
    for ident in range(200):
        publish(channel, queue, ident) and confirmed.append(ident)
    killed_at = time.monotonic()
    kill_broker(lab, "ctl1")   # the node the client uses and the queue's leader
    failover = None
    ident = 200
    deadline = time.monotonic() + 60
    while ident < 400 and time.monotonic() < deadline:
        try:
            publish(channel, queue, ident) and confirmed.append(ident)
            failover = failover or time.monotonic() - killed_at
            ident += 1
        except (pika.exceptions.AMQPError, OSError):
            try:
                connection, channel = open_channel(lab, "ctl2", queue)
            except (pika.exceptions.AMQPError, OSError):
                time.sleep(0.2)
    assert ident == 400, f"publishing did not resume within 60 s (at {ident})"
    got = drain(lab, "ctl2", queue)
    assert len(got) == len(set(got)), "a message was delivered twice"
    assert set(confirmed) <= set(got), f"lost confirmed messages: {sorted(set(confirmed) - set(got))[:10]}"
    assert len(confirmed) >= 390
    print(f"rabbitmq node loss: publishing resumed {failover:.2f}s after kill -9; "
          f"{len(confirmed)} confirmed, {len(got)} consumed")
    # Heal the way an operator (or the heal reactor) does: apply the host's states.
    started = time.monotonic()
    rows = lab.apply("ctl1")
    assert all(r["result"] for r in rows), [r for r in rows if not r["result"]]
    wait_healthy(lab)
    print(f"rabbitmq node back in cluster after {time.monotonic() - started:.1f}s")


def test_partitioned_node_pauses_and_rejoins_when_the_link_returns(lab):
    queue = "hastack-test-partition"
    connection, channel = open_channel(lab, "ctl1", queue)
    lab.set_link("ctl3", up=False)
    cut = time.monotonic()
    try:
        paused = None
        while time.monotonic() - cut < 60:
            probe = lab.exec("ctl3", ["rabbitmq-diagnostics", "-q", "check_running"], check=False)
            if probe.returncode != 0:
                paused = time.monotonic() - cut
                break
            time.sleep(0.5)
        assert paused is not None, "ctl3 kept running as a minority"
        confirmed = [i for i in range(100) if publish(channel, queue, i)]
        assert len(confirmed) == 100
    finally:
        lab.set_link("ctl3", up=True)
    restored = time.monotonic()
    view = wait_healthy(lab, "ctl3", timeout=120)
    assert view["partitions"] == {}
    print(f"rabbitmq partition: minority paused after {paused:.1f}s; "
          f"healthy {time.monotonic() - restored:.1f}s after the link came back")
    connection.close()
    assert sorted(drain(lab, "ctl3", queue)) == list(range(100))


def test_forget_refuses_running_node_and_unknown_node(lab):
    running = lab.orchestrate("hastack.rabbitmq.forget", pillar={"node": "ctl2"})
    assert not running["ok"]
    assert "rabbit@ctl2 is still running" in "\n".join(running["errors"])
    unknown = lab.orchestrate("hastack.rabbitmq.forget", pillar={"node": "nosuch"})
    assert not unknown["ok"]
    assert "must be one of the mq role" in "\n".join(unknown["errors"])
    assert wait_healthy(lab)["members"] == [f"rabbit@{h}" for h in lab.hosts]


def test_forget_then_rejoin_a_dead_node(lab):
    kill_broker(lab, "ctl3")
    deadline = time.monotonic() + 60
    while "rabbit@ctl3" in cluster_view(lab, "ctl1")["running"]:
        assert time.monotonic() < deadline, "ctl1 still sees ctl3 running"
        time.sleep(0.5)
    forgot = lab.orchestrate("hastack.rabbitmq.forget", pillar={"node": "ctl3"})
    assert forgot["ok"], forgot["errors"]
    assert cluster_view(lab, "ctl1")["members"] == ["rabbit@ctl1", "rabbit@ctl2"]
    started = time.monotonic()
    rejoined = lab.orchestrate("hastack.rabbitmq.rejoin", pillar={"node": "ctl3"})
    assert rejoined["ok"], rejoined["errors"]
    view = wait_healthy(lab)
    assert view["members"] == [f"rabbit@{h}" for h in lab.hosts]
    assert "guest" not in lab.exec("ctl3", ["rabbitmqctl", "-q", "list_users"]).stdout
    print(f"rabbitmq rejoin of a forgotten node: {time.monotonic() - started:.1f}s")
