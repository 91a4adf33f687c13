# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.rabbitmq.restart`: restart the brokers one at a time.
# The orchestration lives in orch/rabbitmq/restart.sls.
include:
  - orch.rabbitmq.restart
