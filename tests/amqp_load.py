"""A publisher doing real work on the brokers: one confirmed message at a time.

Lab tests that restart or break the RabbitMQ tier run it to count what users
feel: the messages the brokers confirmed (each must be consumable afterwards)
and the longest gap between two confirms. Like an OpenStack service it knows
every broker and moves to the next one when its connection fails. It
publishes persistent messages to a durable quorum queue through the lab's
brokers only, at most one per `interval`, and stops by itself after
`max_seconds`.
"""

import threading
import time

import pika

QUEUE_ARGS = {"x-queue-type": "quorum"}
USER = "openstack"
VHOST = "openstack"


def connect(lab, host, timeout=3):
    params = pika.ConnectionParameters(
        host=lab.host_ip(host), port=5672, virtual_host=VHOST,
        credentials=pika.PlainCredentials(USER, lab.secret("rabbit_openstack")),
        connection_attempts=1, socket_timeout=timeout, blocked_connection_timeout=10, heartbeat=10)
    return pika.BlockingConnection(params)


def declare(channel, queue):
    channel.queue_declare(queue, durable=True, arguments=QUEUE_ARGS)


class ConfirmedPublisher(threading.Thread):
    """Publishes messages '<n>' to `queue` with publisher confirms until stopped."""

    def __init__(self, lab, queue, hosts=None, interval=0.02, max_seconds=900):
        super().__init__(daemon=True)
        self.lab, self.queue, self.interval = lab, queue, interval
        self.hosts = list(hosts or lab.hosts)
        self.deadline = time.monotonic() + max_seconds
        self.confirms = []  # (monotonic time, n) of every confirmed message
        self.failures = 0
        self.reconnects = 0
        self._stop_event = threading.Event()

    def _open(self, index):
        connection = connect(self.lab, self.hosts[index % len(self.hosts)])
        channel = connection.channel()
        channel.confirm_delivery()
        declare(channel, self.queue)
        return connection, channel

    def run(self):
        n, index, connection, channel = 0, 0, None, None
        while not self._stop_event.is_set() and time.monotonic() < self.deadline:
            try:
                if channel is None:
                    connection, channel = self._open(index)
                n += 1
                # Blocks until the broker confirms; raises on a nack or a lost connection.
                channel.basic_publish("", self.queue, str(n).encode(),
                                      pika.BasicProperties(delivery_mode=2), mandatory=True)
                self.confirms.append((time.monotonic(), n))
            except (pika.exceptions.AMQPError, OSError):
                self.failures += 1
                self._close(connection)
                connection, channel = None, None
                index += 1
                self.reconnects += 1
                self._stop_event.wait(0.1)
                continue
            self._stop_event.wait(self.interval)
        self._close(connection)

    @staticmethod
    def _close(connection):
        try:
            if connection is not None and connection.is_open:
                connection.close()
        except (pika.exceptions.AMQPError, OSError):
            pass

    def stop(self):
        self._stop_event.set()
        self.join(30)

    def wait_for_confirms(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.confirms) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.confirms)} of {count} messages confirmed "
                                     f"({self.failures} failed) within {timeout}s")
            time.sleep(0.05)

    def confirmed(self):
        return {n for _, n in self.confirms}

    def longest_gap(self, after=None):
        """Longest time between two confirmed messages (those after `after` and the one before)."""
        times = [t for t, _ in self.confirms]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False) if after is None or b >= after]
        return round(max(gaps), 2) if gaps else None


def consume_all(lab, host, queue, timeout=600, delete=True):
    """
    Every message body (as int) in `queue`, acknowledged; the queue is deleted
    afterwards. Fails, deleting nothing, when the queue is not empty by
    `timeout`: a cut-off read must not look like lost messages.
    """
    connection = connect(lab, host, timeout=10)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=500)
    got = []
    deadline = time.monotonic() + timeout
    # Five seconds without a delivery: the queue is empty.
    for method, _props, body in channel.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        got.append(int(body))
        channel.basic_ack(method.delivery_tag)
        if time.monotonic() > deadline:
            break
    channel.cancel()
    left = channel.queue_declare(queue, passive=True).method.message_count
    if left:
        connection.close()
        raise AssertionError(f"{left} messages still in {queue} after reading {len(got)} for {timeout}s")
    if delete:
        channel.queue_delete(queue)
    connection.close()
    return got
