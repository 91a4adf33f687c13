# -*- coding: utf-8 -*-
# vim: ft=sls
# keystone (uwsgi) on the stack IP. A config change restarts it; new keys do
# not (keystone reads them at every token operation).
# The uwsgi server exits when its app cannot load (need-app), e.g. while the
# database is briefly out of reach: `retry` starts it again before the state fails.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config
  - .keys

hastack-keystone-service-running:
  service.running:
    - name: {{ hastack.keystone.service }}
    - enable: True
    - retry:
        attempts: 3
        interval: 10
    - require:
      - sls: hastack.keystone.keys
    - watch:
      - sls: hastack.keystone.config
      - file: hastack-keystone-package-default-file-managed
