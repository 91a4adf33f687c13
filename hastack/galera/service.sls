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

# Timeouts Galera can change at runtime reach the running member now, on every
# member in the same apply: a member restarted later with new short timeouts
# would otherwise suspect peers that still use the old keepalive interval.
hastack-galera-service-runtime-options-present:
  hastack_galera.runtime_options_present:
    - name: wsrep_provider_options
    - options: {{ hastack.galera.effective_provider_options | json }}
    - socket: {{ hastack.galera.socket }}
    - require:
      - hastack_galera: hastack-galera-service-running
