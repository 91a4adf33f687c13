# -*- coding: utf-8 -*-
# vim: ft=sls
# Writes the Galera settings; never restarts a running member (a config
# change is picked up at its next start; restart members one at a time).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-galera-config-log-directory-managed:
  file.directory:
    - name: {{ hastack.galera.log_dir }}
    - user: mysql
    - group: adm
    - mode: '2750'
    - require:
      - sls: hastack.galera.package

# Holds the SST user's password: readable by root and the mysql group only.
hastack-galera-config-file-managed:
  file.managed:
    - name: {{ hastack.galera.config }}
    - source: salt://hastack/galera/files/galera.cnf.jinja
    - template: jinja
    - user: root
    - group: mysql
    - mode: '0640'
    - show_changes: False
    - context:
        galera: {{ hastack.galera | json }}
        my_ip: {{ hastack.my_ip }}
        minion_id: {{ hastack.minion_id }}
        sst_password: {{ hastack.secrets.get("galera_sst", "") | json }}
    - require:
      - sls: hastack.galera.package

hastack-galera-config-default-file-managed:
  file.managed:
    - name: {{ hastack.galera.default_file }}
    - source: salt://hastack/galera/files/default-mariadb.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        galera: {{ hastack.galera | json }}
    - require:
      - sls: hastack.galera.package
