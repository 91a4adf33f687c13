# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Bring back a host that was lost (reactor/host_back.sls: the reconciler
  declared it lost and hears it again). After the runner's begin step: a RabbitMQ
  member rejoins (orch.rabbitmq.rejoin resets it first when the cluster
  forgot it), the whole host is applied, its quorum queues get replicas on it
  again (`rabbitmq-queues grow`), and it is made ready in every HAProxy.
  One host comes back at a time (cluster `hosts`); its service heals wait.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/heal/_view.jinja" import heal_view with context %}
{%- set event = pillar.get("event_data", {}) %}
{%- set minion = event.get("data", {}).get("id", "") %}
{%- set in_mq = minion in hastack.roles.get("mq", []) %}
{%- set lb_hosts = hastack.roles.get("lb", []) %}
{%- set node = hastack.rabbitmq.node_prefix ~ "@" ~ minion %}
{%- set timeout = hastack.haproxy.drain_timeout %}

hastack-heal-host-back-begin:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: begin
    - view: {{ heal_view | json }}
    - failhard: True
{%- if in_mq %}

hastack-heal-host-back-{{ minion }}-rabbitmq-rejoined:
  salt.runner:
    - name: state.orchestrate
    - mods: orch.rabbitmq.rejoin
    - pillar: {"node": {{ minion | json }}}
    - require:
      - salt: hastack-heal-host-back-begin
    - require_in:
      - salt: hastack-heal-host-back-{{ minion }}-applied
{%- endif %}

hastack-heal-host-back-{{ minion }}-applied:
  salt.state:
    - tgt: {{ minion }}
    - sls: hastack
    # A service heal's run may still be going on the host: wait for it.
    - queue: True
    - require:
      - salt: hastack-heal-host-back-begin
{%- if in_mq %}

hastack-heal-host-back-{{ minion }}-quorum-queues-grown:
  salt.function:
    - name: cmd.run
    - tgt: {{ minion }}
    - arg:
      - ["rabbitmq-queues", "grow", {{ node | json }}, "all"]
    - kwarg: {python_shell: false}
    - require:
      - salt: hastack-heal-host-back-{{ minion }}-applied
    - require_in:
      - salt: hastack-heal-host-back-done
{%- endif %}
{%- if lb_hosts %}

hastack-heal-host-back-{{ minion }}-ready:
  salt.function:
    - name: hastack_haproxy.ready_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ minion }}]
    - kwarg: {skip_stopped: true}
    - require:
      - salt: hastack-heal-host-back-{{ minion }}-applied

hastack-heal-host-back-{{ minion }}-up:
  salt.function:
    - name: hastack_haproxy.wait_up
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ minion }}]
    - kwarg: {timeout: {{ timeout }}, skip_stopped: true}
    - require:
      - salt: hastack-heal-host-back-{{ minion }}-ready
    - require_in:
      - salt: hastack-heal-host-back-done
{%- endif %}

hastack-heal-host-back-done:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: done
    - view: {{ heal_view | json }}
    - require:
      - salt: hastack-heal-host-back-{{ minion }}-applied

hastack-heal-host-back-failed:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: failed
    - error: "a step of orch.heal.host_back failed (see the orchestration's return)"
    - view: {{ heal_view | json }}
    - onfail:
      - salt: hastack-heal-host-back-{{ minion }}-applied
{%- if in_mq %}
      - salt: hastack-heal-host-back-{{ minion }}-rabbitmq-rejoined
      - salt: hastack-heal-host-back-{{ minion }}-quorum-queues-grown
{%- endif %}
{%- if lb_hosts %}
      - salt: hastack-heal-host-back-{{ minion }}-ready
      - salt: hastack-heal-host-back-{{ minion }}-up
{%- endif %}
