# -*- coding: utf-8 -*-
# vim: ft=sls
# Running and Synced. Joins through a running member; bootstraps only when the
# orchestration set hastack:galera:bootstrap on this node and no member answers.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-galera-service-running:
  hastack_galera.running:
    - name: {{ hastack.galera.service }}
    - peers: {{ hastack.galera.peer_ips | json }}
    - port: {{ hastack.arbitrator.port }}
    - bootstrap: {{ hastack.galera.bootstrap | json }}
    - timeout: {{ hastack.galera.sync_timeout }}
    - datadir: {{ hastack.galera.datadir }}
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.config
