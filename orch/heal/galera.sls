# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  No db host in a Primary Component (reactor/galera.sls: the Galera beacon
  reporting non-primary, or the reconciler). Stage `start` (the first
  hastack:heal:galera_outage_grace seconds): start MariaDB on every db host
  and wait until one is Synced; pc.recovery restores the Primary Component
  by itself once every member of the last view is back. Stage `recover`
  (the outage outlasted the grace): orch.galera.recover, which bootstraps
  the node with the highest committed position or refuses (unknown
  position, a member still running, different cluster UUIDs, a member that
  does not answer) and changes nothing then.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/heal/_view.jinja" import heal_view with context %}
{%- set event = pillar.get("event_data", {}) %}
{%- set stage = event.get("data", {}).get("stage", "start") %}
{%- set db = hastack.galera.members %}

hastack-heal-galera-begin:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: begin
    - view: {{ heal_view | json }}
    - failhard: True
{%- if stage == "recover" %}

hastack-heal-galera-recovered:
  salt.runner:
    - name: state.orchestrate
    - mods: orch.galera.recover
    - require:
      - salt: hastack-heal-galera-begin
{%- else %}

hastack-heal-galera-recovered:
  salt.function:
    - name: service.start
    - tgt: {{ db | json }}
    - tgt_type: list
    - arg: [{{ hastack.galera.service }}]
    - require:
      - salt: hastack-heal-galera-begin

hastack-heal-galera-synced:
  salt.function:
    - name: hastack.wait_healthy
    - tgt: {{ db | json }}
    - tgt_type: list
    - arg: [hastack_galera.is_synced]
    - kwarg: {timeout: {{ hastack.heal.galera_outage_grace }}}
    - require:
      - salt: hastack-heal-galera-recovered
    - require_in:
      - salt: hastack-heal-galera-done
{%- endif %}

hastack-heal-galera-done:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: done
    - view: {{ heal_view | json }}
    - require:
      - salt: hastack-heal-galera-recovered

hastack-heal-galera-failed:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: failed
    - error: "orch.heal.galera stage {{ stage }} failed (see the orchestration's return)"
    - view: {{ heal_view | json }}
    - onfail:
      - salt: hastack-heal-galera-recovered
{%- if stage != "recover" %}
      - salt: hastack-heal-galera-synced
{%- endif %}
