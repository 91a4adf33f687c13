# -*- coding: utf-8 -*-
# vim: ft=sls
# placement-api (uwsgi) on the stack IP. A config change restarts it. No
# `sig`: the init script's status is what Salt asks (Salt's own process
# search by signature skips every ps line that holds its job id).
# The uwsgi server exits when its app cannot load (need-app), e.g. while the
# database is briefly out of reach: `retry` starts it again before the state fails.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-placement-service-running:
  service.running:
    - name: {{ hastack.placement.service }}
    - enable: True
    - retry:
        attempts: 3
        interval: 10
    - watch:
      - sls: hastack.placement.config
      - file: hastack-placement-package-default-file-managed
