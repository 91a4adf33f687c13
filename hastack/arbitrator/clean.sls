# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes garbd from a host that lost the arbitrator role.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-arbitrator-service-clean-dead:
  service.dead:
    - name: {{ hastack.arbitrator.service }}
    - enable: False

hastack-arbitrator-config-clean-file-absent:
  file.absent:
    - name: {{ hastack.arbitrator.config }}
    - require:
      - service: hastack-arbitrator-service-clean-dead

hastack-arbitrator-package-clean-removed:
  pkg.removed:
    - name: {{ hastack.arbitrator.pkg }}
    - require:
      - file: hastack-arbitrator-config-clean-file-absent
