# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.galera.restart`: restart the Galera members one at a time.
# The orchestration lives in orch/galera/restart.sls.
include:
  - orch.galera.restart
