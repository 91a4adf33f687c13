# -*- coding: utf-8 -*-
# vim: ft=sls
# Remove a dead node from the RabbitMQ cluster:
#   salt-run state.orch hastack.rabbitmq.forget pillar='{"node": "ctl3"}'
# Runs on one answering member; refuses (changing nothing) while the node
# still runs or when it is the last disc node (hastack_rabbitmq.check_forget).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set minion = pillar.get("node", "") %}
{%- set node_known = minion in hastack.rabbitmq.deploy_order %}
{%- set mq_members = hastack.rabbitmq.deploy_order | join(", ") %}
{%- set others = hastack.rabbitmq.deploy_order | reject("equalto", minion) | list %}

hastack-rabbitmq-forget-pillar-validated:
  hastack.validated:
    - failhard: True

hastack-rabbitmq-forget-node-known:
  test.configurable_test_state:
    - name: {{ minion or "(none)" }}
    - changes: False
    - result: {{ node_known }}
    - comment: "pillar node must be one of the mq role: {{ mq_members }}"
    - failhard: True

hastack-rabbitmq-forget-node-forgotten:
  salt.function:
    - name: hastack_rabbitmq.forget
    - tgt: {{ others | json }}
    - tgt_type: list
    # One answering member is enough: membership is cluster-wide.
    - subset: 1
    - arg:
      - {{ hastack.rabbitmq.node_prefix }}@{{ minion }}
    - require:
      - hastack: hastack-rabbitmq-forget-pillar-validated
      - test: hastack-rabbitmq-forget-node-known
