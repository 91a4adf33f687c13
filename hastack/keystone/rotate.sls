# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orch hastack.keystone.rotate`: rotate the fernet and
# credential keys of every api host after raising their generation in pillar.
# The orchestration lives in orch/keystone/rotate.sls.
include:
  - orch.keystone.rotate
