# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.deploy`: the orchestration lives in orch/deploy.sls.
include:
  - orch.deploy
