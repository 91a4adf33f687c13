# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.galera.recover`: the orchestration lives in
# orch/galera/recover.sls.
include:
  - orch.galera.recover
