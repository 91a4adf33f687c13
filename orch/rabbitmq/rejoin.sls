# -*- coding: utf-8 -*-
# vim: ft=sls
# Bring back a node that was forgotten (or reset):
#   salt-run state.orch hastack.rabbitmq.rejoin pillar='{"node": "ctl3"}'
# Stale cluster data is removed only when no running member lists the node;
# then hastack.rabbitmq starts it and joins it to the running cluster.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set minion = pillar.get("node", "") %}
{%- set node_known = minion in hastack.rabbitmq.deploy_order %}
{%- set mq_members = hastack.rabbitmq.deploy_order | join(", ") %}

hastack-rabbitmq-rejoin-pillar-validated:
  hastack.validated:
    - failhard: True

hastack-rabbitmq-rejoin-node-known:
  test.configurable_test_state:
    - name: {{ minion or "(none)" }}
    - changes: False
    - result: {{ node_known }}
    - comment: "pillar node must be one of the mq role: {{ mq_members }}"
    - failhard: True

hastack-rabbitmq-rejoin-stale-data-cleared:
  salt.state:
    - tgt: {{ minion }}
    - sls: hastack.rabbitmq.stale_data_clean
    - queue: True
    - require:
      - hastack: hastack-rabbitmq-rejoin-pillar-validated
      - test: hastack-rabbitmq-rejoin-node-known

hastack-rabbitmq-rejoin-joined:
  salt.state:
    - tgt: {{ minion }}
    - sls: hastack.rabbitmq
    - queue: True
    - require:
      - salt: hastack-rabbitmq-rejoin-stale-data-cleared
