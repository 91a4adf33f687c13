# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.rabbitmq.rejoin pillar='{"node": "ctl3"}'`:
# bring a forgotten (or reset) broker back into the cluster.
# The orchestration lives in orch/rabbitmq/rejoin.sls.
include:
  - orch.rabbitmq.rejoin
