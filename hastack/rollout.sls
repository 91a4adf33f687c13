# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.rollout`: the stateless API tiers, one host at
# a time, drained from HAProxy first. The orchestration lives in orch/rollout/.
include:
  - orch.rollout
