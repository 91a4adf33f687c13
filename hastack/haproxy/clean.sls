# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-haproxy-service-clean-dead:
  service.dead:
    - name: {{ hastack.haproxy.service }}
    - enable: False

hastack-haproxy-package-clean-removed:
  pkg.removed:
    - name: {{ hastack.haproxy.pkg }}
    - require:
      - service: hastack-haproxy-service-clean-dead
