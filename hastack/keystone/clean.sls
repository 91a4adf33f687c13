# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes keystone off this host: stops it and removes what the formula wrote
# (keystone.conf, the uwsgi settings, the init script's settings, both key
# repositories). The database
# stays on the Galera tier; the packages stay unless
# hastack:clean:remove_packages is set. The other api hosts keep serving.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set keystone = hastack.keystone %}

hastack-keystone-clean-service-dead:
  service.dead:
    - name: {{ keystone.service }}

hastack-keystone-clean-files-absent:
  file.absent:
    - names:
      - {{ keystone.config }}
      - {{ keystone.uwsgi_ini }}
      - {{ keystone.default_file }}
{%- for repo, spec in keystone.key_repositories | dictsort %}
      - {{ spec.path }}
{%- endfor %}
    - require:
      - service: hastack-keystone-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-keystone-clean-package-removed:
  pkg.removed:
    - pkgs: {{ keystone.pkgs | json }}
    - require:
      - file: hastack-keystone-clean-files-absent
{%- endif %}
