# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-keepalived-service-clean-dead:
  service.dead:
    - name: {{ hastack.keepalived.service }}
    - enable: False

hastack-keepalived-package-clean-removed:
  pkg.removed:
    - name: {{ hastack.keepalived.pkg }}
    - require:
      - service: hastack-keepalived-service-clean-dead
