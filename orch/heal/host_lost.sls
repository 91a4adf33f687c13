# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Forget a RabbitMQ member whose host stayed silent past hastack:heal:host_grace
  (reactor/host_lost.sls, from the reconciler). hastack_heal.forget_check asks
  the other members and refuses unless one of them sees a strict majority
  running (never from a paused minority), the node does not run there and it
  is not the last disc node; a refusal releases the lock and fires `refused`.
  Then orch.rabbitmq.forget removes it (and refuses again on its own checks).
#}
{%- from "orch/heal/_view.jinja" import heal_view with context %}
{%- set event = pillar.get("event_data", {}) %}
{%- set minion = event.get("data", {}).get("id", "") %}

hastack-heal-host-lost-begin:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: begin
    - view: {{ heal_view | json }}
    - failhard: True

hastack-heal-host-lost-{{ minion }}-forget-checked:
  salt.runner:
    - name: hastack_heal.forget_check
    - node: {{ minion }}
    - view: {{ heal_view | json }}
    - require:
      - salt: hastack-heal-host-lost-begin

hastack-heal-host-lost-refused:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: refused
    - error: "forgetting {{ minion }} is not safe now (see the hastack/heal/rabbitmq/refused event)"
    - view: {{ heal_view | json }}
    - onfail:
      - salt: hastack-heal-host-lost-{{ minion }}-forget-checked

hastack-heal-host-lost-{{ minion }}-forgotten:
  salt.runner:
    - name: state.orchestrate
    - mods: orch.rabbitmq.forget
    - pillar: {"node": {{ minion | json }}}
    - require:
      - salt: hastack-heal-host-lost-{{ minion }}-forget-checked

hastack-heal-host-lost-done:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: done
    - view: {{ heal_view | json }}
    - require:
      - salt: hastack-heal-host-lost-{{ minion }}-forgotten

hastack-heal-host-lost-failed:
  salt.runner:
    - name: hastack_heal.heal
    - event_data: {{ event | json }}
    - step: failed
    - error: "orch.rabbitmq.forget failed for {{ minion }}"
    - view: {{ heal_view | json }}
    # Only when the forget itself ran and failed: a refused check has already
    # ended this heal (refused), and must not count as a failure towards gave_up.
    - require:
      - salt: hastack-heal-host-lost-{{ minion }}-forget-checked
    - onfail:
      - salt: hastack-heal-host-lost-{{ minion }}-forgotten
