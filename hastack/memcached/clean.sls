# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes memcached off this host: stops it and removes the config the formula wrote.
# The package stays unless hastack:clean:remove_packages is set.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-memcached-clean-service-dead:
  service.dead:
    - name: {{ hastack.memcached.service }}

hastack-memcached-clean-config-file-absent:
  file.absent:
    - name: {{ hastack.memcached.config }}
    - require:
      - service: hastack-memcached-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-memcached-clean-package-removed:
  pkg.removed:
    - name: {{ hastack.memcached.pkg }}
    - require:
      - file: hastack-memcached-clean-config-file-absent
{%- endif %}
