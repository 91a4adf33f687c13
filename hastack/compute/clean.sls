# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes nova-compute off this host: stops it and removes nova-compute.conf.
# Its service record stays in nova's database (`openstack compute service
# delete` forgets it); the packages stay unless hastack:clean:remove_packages
# is set.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-compute-clean-service-dead:
  service.dead:
    - name: {{ hastack.compute.service }}

hastack-compute-clean-files-absent:
  file.absent:
    - names:
      - {{ hastack.compute.config }}
    - require:
      - service: hastack-compute-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-compute-clean-package-removed:
  pkg.removed:
    - pkgs: {{ hastack.compute.all_pkgs | json }}
    - require:
      - file: hastack-compute-clean-files-absent
{%- endif %}
