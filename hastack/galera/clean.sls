# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes Galera off a host that lost the db role: stops MariaDB and the health
# endpoint and removes what the formula wrote. The data directory and the
# packages stay: dropping a member's data is an operator's decision. Take the
# host out of hastack:roles:db and re-run hastack.deploy first, so that the
# remaining members no longer list it.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set health = hastack.galera.health %}

hastack-galera-clean-health-service-dead:
  service.dead:
    - name: {{ health.service }}
    - enable: False

hastack-galera-clean-health-files-absent:
  file.absent:
    - names:
      - {{ health.init_script }}
      - {{ health.script }}
      - /etc/default/{{ health.service }}
    - require:
      - service: hastack-galera-clean-health-service-dead

hastack-galera-clean-service-dead:
  service.dead:
    - name: {{ hastack.galera.service }}
    - enable: False

hastack-galera-clean-config-file-absent:
  file.absent:
    - names:
      - {{ hastack.galera.config }}
      - {{ hastack.galera.default_file }}
    - require:
      - service: hastack-galera-clean-service-dead
