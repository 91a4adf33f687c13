# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Full deployment: `salt-run state.orch hastack.deploy` (after
  `salt-run saltutil.sync_all`, so the master has the formula's modules).

  Validation comes first; with an invalid pillar only that step renders, so
  nothing is gathered or changed. Then every stack host gets hastack.common,
  and the tiers follow in their deploy order (hastack.deploy_steps, derived
  from the `after` lists of the tier blocks). Each tier sits between two
  markers, hastack-deploy-<tier>-started and hastack-deploy-<tier>-done; a
  tier starts only when the one before it is done, so a failed tier stops
  every tier after it, and the failure names the tier.

  A tier is rolled out by its own orchestration (deploy: {orchestration: ...},
  whose steps require its started marker and are required by its done marker),
  one host at a time (deploy: {serial: true}) or on all its hosts at once.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set valid = salt["hastack.validate"]()["valid"] %}
{%- set steps = hastack.deploy.sequence if valid else [] %}

{%- if steps | selectattr("orchestration") | list %}

include:
{%-   for step in steps | selectattr("orchestration") %}
  - {{ step.orchestration }}
{%-   endfor %}
{%- endif %}

hastack-deploy-pillar-validated:
  hastack.validated:
    - failhard: True
{%- if valid %}

hastack-deploy-modules-synced:
  salt.function:
    - name: saltutil.sync_all
    - tgt: {{ hastack.stack_minions | json }}
    - tgt_type: list
    - require:
      - hastack: hastack-deploy-pillar-validated

hastack-deploy-common-applied:
  salt.state:
    - tgt: {{ hastack.stack_minions | json }}
    - tgt_type: list
    - sls: hastack.common
    - require:
      - salt: hastack-deploy-modules-synced
{%- endif %}

{%- set previous = namespace(id="salt: hastack-deploy-common-applied") %}
{%- for step in steps %}

hastack-deploy-{{ step.tier }}-started:
  test.succeed_without_changes:
    - require:
      - {{ previous.id }}
{%-   if step.orchestration %}
{#-     The tier's own steps hang between the two markers. #}
{%-   elif step.serial %}
{%-     set chain = namespace(id="test: hastack-deploy-" ~ step.tier ~ "-started") %}
{%-     for member in step.members %}

hastack-deploy-{{ step.tier }}-{{ member }}-applied:
  salt.state:
    - tgt: {{ member }}
    - sls: {{ step.sls }}
    - require:
      - {{ chain.id }}
    - require_in:
      - test: hastack-deploy-{{ step.tier }}-done
{%-       set chain.id = "salt: hastack-deploy-" ~ step.tier ~ "-" ~ member ~ "-applied" %}
{%-     endfor %}
{%-   else %}

hastack-deploy-{{ step.tier }}-applied:
  salt.state:
    - tgt: {{ step.members | json }}
    - tgt_type: list
    - sls: {{ step.sls }}
    - require:
      - test: hastack-deploy-{{ step.tier }}-started
    - require_in:
      - test: hastack-deploy-{{ step.tier }}-done
{%-   endif %}

hastack-deploy-{{ step.tier }}-done:
  test.succeed_without_changes:
    - require:
      - test: hastack-deploy-{{ step.tier }}-started
{%-   set previous.id = "test: hastack-deploy-" ~ step.tier ~ "-done" %}
{%- endfor %}
{%- if valid %}

{#- Last, once every tier runs: the auto-heal's beacons (hastack.beacons). #}
hastack-deploy-beacons-applied:
  salt.state:
    - tgt: {{ hastack.stack_minions | json }}
    - tgt_type: list
    - sls: hastack.beacons
    - require:
      - {{ previous.id }}
{%- endif %}
