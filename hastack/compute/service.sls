# -*- coding: utf-8 -*-
# vim: ft=sls
# nova-compute from its Debian init script; a config change restarts it.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-compute-service-running:
  service.running:
    - name: {{ hastack.compute.service }}
    - enable: True
    - watch:
      - sls: hastack.compute.config
