"""
The auto-heal's reconciler loop on the salt master.

Runs ``hastack_heal.reconcile`` every ``heal:reconcile_interval`` seconds (the
runner returns the interval it read from the pillar; ``interval`` below is
only the first wait and the fallback). An engine, not a master ``schedule:``
job: the master's scheduler cannot run runner functions on Salt 3008 with
Python 3.11 (copying its function table recurses), and one long-lived process
costs less than a process forked per run.

Configured by ``hastack/files/master.d/hastack-heal.conf``:

.. code-block:: yaml

    engines:
      - hastack_heal:
          interval: 10

The module is synced to the master with ``salt-run saltutil.sync_engines``
(or ``saltutil.sync_all``); the master loads engines when it starts.
"""

import logging
import time

log = logging.getLogger(__name__)

__virtualname__ = "hastack_heal"


def __virtual__():
    return __virtualname__


def next_wait(result, fallback, spent):
    """Seconds to sleep after a reconcile that took ``spent`` seconds and returned ``result``."""
    interval = fallback
    if isinstance(result, dict):
        try:
            interval = float(result.get("interval") or fallback)
        except (TypeError, ValueError):
            interval = fallback
    return max(1.0, interval - spent)


def start(interval=10):
    import salt.runner  # pylint: disable=import-outside-toplevel

    opts = dict(__opts__)
    opts["quiet"] = True
    client = salt.runner.RunnerClient(opts)
    fallback = float(interval)
    time.sleep(fallback)
    while True:
        began = time.monotonic()
        result = None
        try:
            result = client.cmd("hastack_heal.reconcile", print_event=False, full_return=False)
        except Exception:  # pylint: disable=broad-except
            log.exception("hastack_heal reconcile failed")
        time.sleep(next_wait(result, fallback, time.monotonic() - began))
