# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes the dashboard off this host: stops Apache and removes what the
# formula wrote for it (local_settings.py, the secret key, the site and its
# link). ports.conf and the packages stay (these unless
# hastack:clean:remove_packages is set). The other dashboard hosts keep serving.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set horizon = hastack.horizon %}

hastack-horizon-clean-service-dead:
  service.dead:
    - name: {{ horizon.service }}

hastack-horizon-clean-files-absent:
  file.absent:
    - names:
      - {{ horizon.config }}
      - {{ horizon.secret_key_file }}
      - {{ horizon.site_conf }}
      - {{ horizon.site_link }}
    - require:
      - service: hastack-horizon-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-horizon-clean-package-removed:
  pkg.removed:
    - pkgs: {{ horizon.pkgs | json }}
    - require:
      - file: hastack-horizon-clean-files-absent
{%- endif %}
