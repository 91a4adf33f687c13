# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes garbd off this host: stops it and removes the config the formula
# wrote. The package stays unless hastack:clean:remove_packages is set.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-arbitrator-clean-service-dead:
  service.dead:
    - name: {{ hastack.arbitrator.service }}

hastack-arbitrator-clean-config-file-absent:
  file.absent:
    - name: {{ hastack.arbitrator.config }}
    - require:
      - service: hastack-arbitrator-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-arbitrator-clean-package-removed:
  pkg.removed:
    - name: {{ hastack.arbitrator.pkg }}
    - require:
      - file: hastack-arbitrator-clean-config-file-absent
{%- endif %}
