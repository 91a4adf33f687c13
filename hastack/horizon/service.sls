# -*- coding: utf-8 -*-
# vim: ft=sls
# Apache on the stack IP; a config change restarts it (a new Listen needs a
# restart, not a reload).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-horizon-service-running:
  service.running:
    - name: {{ hastack.horizon.service }}
    # No `enable`: the package enables apache2 at boot, and Salt's sysvinit
    # provider never sees a service whose name ends in a digit as enabled
    # (it would try again on every apply).
    - watch:
      - sls: hastack.horizon.config
