# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.rabbitmq.forget pillar='{"node": "ctl3"}'`:
# remove a dead broker from the cluster.
# The orchestration lives in orch/rabbitmq/forget.sls.
include:
  - orch.rabbitmq.forget
