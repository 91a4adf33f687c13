# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-arbitrator-service-running:
  service.running:
    - name: {{ hastack.arbitrator.service }}
    - enable: True
    - watch:
      - sls: hastack.arbitrator.config
