# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Restart a watched service that stopped on a live host (reactor/service.sls:
  a `service` beacon event or the reconciler's service_down). The runner's
  begin step decides whether to act at all (a running service, switch off,
  maintenance, a duplicate, a busy cluster or the backoff stop the run here)
  and takes the cluster's lock. Then: out of HAProxy first where the tier says
  `drain`, the tier's states applied, its health function waited for, back in
  HAProxy; done (or failed) releases the lock and fires the event.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/heal/_view.jinja" import heal_view with context %}
{%- set event = pillar.get("event_data", {}) %}
{%- set minion = event.get("data", {}).get("id", "") %}
{%- set service = event.get("data", {}).get("service_name", "") %}
{%- set spec = hastack.heal.services.get(service, {}) %}
{%- set lb_hosts = hastack.roles.get("lb", []) %}
{%- set drain = spec.get("drain", False) and lb_hosts %}
{%- set timeout = hastack.haproxy.drain_timeout %}

hastack-heal-service-begin:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: begin
    - view: {{ heal_view | json }}
    - failhard: True
{%- if drain %}

hastack-heal-service-{{ minion }}-drained:
  salt.function:
    - name: hastack_haproxy.drain_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ minion }}]
    - kwarg: {skip_stopped: true}
    - require:
      - salt: hastack-heal-service-begin
    - require_in:
      - salt: hastack-heal-service-{{ minion }}-applied
{%- endif %}

hastack-heal-service-{{ minion }}-applied:
  salt.state:
    - tgt: {{ minion }}
    - sls: {{ spec.get("sls", "hastack") }}
    # Waits for a state run still going on the host (e.g. the one of a heal
    # whose orchestration died with a restarted master) instead of failing.
    - queue: True
    # A queued or slow run is waited for as long as the heal's lock holds: a
    # busy minion that misses the master's job check is no failed heal.
    - timeout: {{ hastack.heal.lock_ttl }}
    - require:
      - salt: hastack-heal-service-begin

hastack-heal-service-{{ minion }}-healthy:
  salt.function:
    - name: hastack.wait_healthy
    - tgt: {{ minion }}
    - arg: [{{ spec.get("health", "") | json }}]
    - kwarg: {timeout: {{ timeout }}}
    - require:
      - salt: hastack-heal-service-{{ minion }}-applied
{%- if drain %}

hastack-heal-service-{{ minion }}-ready:
  salt.function:
    - name: hastack_haproxy.ready_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ minion }}]
    - kwarg: {skip_stopped: true}
    - require:
      - salt: hastack-heal-service-{{ minion }}-healthy
    - require_in:
      - salt: hastack-heal-service-done
{%- endif %}

hastack-heal-service-done:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: done
    - view: {{ heal_view | json }}
    - require:
      - salt: hastack-heal-service-{{ minion }}-healthy

hastack-heal-service-failed:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: failed
    - error: "a step of orch.heal.service failed (see the orchestration's return)"
    - view: {{ heal_view | json }}
    - onfail:
{%- if drain %}
      - salt: hastack-heal-service-{{ minion }}-drained
      - salt: hastack-heal-service-{{ minion }}-ready
{%- endif %}
      - salt: hastack-heal-service-{{ minion }}-applied
      - salt: hastack-heal-service-{{ minion }}-healthy
