# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes Galera off this host: stops the health endpoint and MariaDB (a clean
# shutdown: the other members go on as a Primary component without it) and
# removes what the formula wrote. The datadir stays unless
# hastack:clean:remove_galera_datadir is set: dropping a member's data is an
# operator's decision. The packages always stay (they include tools such as
# python3 and rsync that other software uses). To take the host out of the cluster for good, remove it from
# hastack:roles:db and re-run hastack.deploy, so the other members no longer
# list it. Applying hastack.galera again joins it back (IST with its datadir,
# SST without).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set health = hastack.galera.health %}

hastack-galera-clean-health-service-dead:
  service.dead:
    - name: {{ health.service }}

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

hastack-galera-clean-config-file-absent:
  file.absent:
    - names:
      - {{ hastack.galera.config }}
      - {{ hastack.galera.default_file }}
    - require:
      - service: hastack-galera-clean-service-dead
{%- if hastack.clean.remove_galera_datadir %}

# Opt-in (hastack:clean:remove_galera_datadir): every database of this member.
hastack-galera-clean-datadir-emptied:
  file.directory:
    - name: {{ hastack.galera.datadir }}
    - user: mysql
    - group: mysql
    - clean: True
    - require:
      - service: hastack-galera-clean-service-dead
{%- endif %}
