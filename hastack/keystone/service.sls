# -*- coding: utf-8 -*-
# vim: ft=sls
# keystone (uwsgi) on the stack IP. A config change restarts it; new keys do
# not (keystone reads them at every token operation).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config
  - .keys

hastack-keystone-service-running:
  service.running:
    - name: {{ hastack.keystone.service }}
    - enable: True
    - require:
      - sls: hastack.keystone.keys
    - watch:
      - sls: hastack.keystone.config
      - file: hastack-keystone-package-default-file-managed
