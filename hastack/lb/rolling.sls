# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.lb.rolling pillar='{"node": "ctl2", "sls": "hastack"}'`:
# drain one host in HAProxy, apply its states, bring it back.
# The orchestration lives in orch/lb/rolling.sls.
include:
  - orch.lb.rolling
