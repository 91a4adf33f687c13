# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

# Config changes are applied by reload (new process takes the listeners, old
# one finishes its sessions), never by restart.
hastack-haproxy-service-running:
  service.running:
    - name: {{ hastack.haproxy.service }}
    - enable: True
    - reload: True
    - watch:
      - sls: hastack.haproxy.config
