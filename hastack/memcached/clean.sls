# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes memcached from a host that lost the cache role.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-memcached-service-clean-dead:
  service.dead:
    - name: {{ hastack.memcached.service }}
    - enable: False

hastack-memcached-config-clean-file-absent:
  file.absent:
    - name: {{ hastack.memcached.config }}
    - require:
      - service: hastack-memcached-service-clean-dead

hastack-memcached-package-clean-removed:
  pkg.removed:
    - name: {{ hastack.memcached.pkg }}
    - require:
      - file: hastack-memcached-config-clean-file-absent
