# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-memcached-service-running:
  service.running:
    - name: {{ hastack.memcached.service }}
    - enable: True
    - watch:
      - sls: hastack.memcached.config
