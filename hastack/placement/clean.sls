# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes placement off this host: stops it and removes what the formula wrote
# (placement.conf, the uwsgi settings, the init script's settings). The
# database and the keystone registration stay; the packages stay unless
# hastack:clean:remove_packages is set. The other api hosts keep serving.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set placement = hastack.placement %}

hastack-placement-clean-service-dead:
  service.dead:
    - name: {{ placement.service }}

hastack-placement-clean-files-absent:
  file.absent:
    - names:
      - {{ placement.config }}
      - {{ placement.uwsgi_ini }}
      - {{ placement.default_file }}
    - require:
      - service: hastack-placement-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-placement-clean-package-removed:
  pkg.removed:
    - pkgs: {{ placement.pkgs | json }}
    - require:
      - file: hastack-placement-clean-files-absent
{%- endif %}
