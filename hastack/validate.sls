# -*- coding: utf-8 -*-
# vim: ft=sls
# Refuses bad pillar before anything changes: runs first, stops the run on failure.

hastack-validate-pillar-validated:
  hastack.validated:
    - order: 1
    - failhard: True
