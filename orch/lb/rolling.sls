# -*- coding: utf-8 -*-
# vim: ft=sls
# Change one host without cutting clients off:
#   salt-run state.orch hastack.lb.rolling pillar='{"node": "ctl2", "sls": "hastack"}'
# Every HAProxy stops sending it new connections, its sessions finish (those
# still open after haproxy:session_grace are closed: pooled connections), its
# states are applied, and it returns once its health checks pass again.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set node = pillar.get("node", "") %}
{%- set sls = pillar.get("sls", "hastack") %}
{%- set node_known = node in hastack.stack_minions %}
{%- set lb_hosts = hastack.roles.get("lb", []) %}
{%- set timeout = hastack.haproxy.drain_timeout %}

hastack-rolling-pillar-validated:
  hastack.validated:
    - failhard: True

hastack-rolling-node-known:
  test.configurable_test_state:
    - name: {{ node or "(none)" }}
    - changes: False
    - result: {{ node_known }}
    - comment: "pillar node must be a stack minion"
    - failhard: True

hastack-rolling-{{ node }}-drained:
  salt.function:
    - name: hastack_haproxy.drain_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ node }}]
    - require:
      - test: hastack-rolling-node-known

hastack-rolling-{{ node }}-sessions-finished:
  salt.function:
    - name: hastack_haproxy.wait_drained
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ node }}]
    - kwarg: {timeout: {{ timeout }}, close_after: {{ hastack.haproxy.session_grace }}}
    - require:
      - salt: hastack-rolling-{{ node }}-drained

hastack-rolling-{{ node }}-applied:
  salt.state:
    - tgt: {{ node }}
    - sls: {{ sls }}
    - require:
      - salt: hastack-rolling-{{ node }}-sessions-finished

hastack-rolling-{{ node }}-ready:
  salt.function:
    - name: hastack_haproxy.ready_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ node }}]
    - require:
      - salt: hastack-rolling-{{ node }}-applied

hastack-rolling-{{ node }}-healthy:
  salt.function:
    - name: hastack_haproxy.wait_up
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ node }}]
    - kwarg: {timeout: {{ timeout }}}
    - require:
      - salt: hastack-rolling-{{ node }}-ready
