# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

# garbd runs as nobody (the init script says so): its log and work dir are nobody's.
hastack-arbitrator-config-work-directory-managed:
  file.directory:
    - name: {{ hastack.arbitrator.work_dir }}
    - user: nobody
    - group: nogroup
    - mode: '0750'

hastack-arbitrator-config-log-file-managed:
  file.managed:
    - name: {{ hastack.arbitrator.logfile }}
    - user: nobody
    - group: nogroup
    - mode: '0640'
    - replace: False

hastack-arbitrator-config-file-managed:
  file.managed:
    - name: {{ hastack.arbitrator.config }}
    - source: salt://hastack/arbitrator/files/garb.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        arbitrator: {{ hastack.arbitrator | json }}
        cluster_name: {{ hastack.galera.cluster_name }}
        my_ip: {{ hastack.my_ip }}
    - require:
      - sls: hastack.arbitrator.package
