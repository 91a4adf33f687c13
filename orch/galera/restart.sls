# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  `salt-run state.orch hastack.galera.restart`: restart the Galera members one
  at a time, e.g. so that a changed setting (hastack:galera:max_connections)
  reaches the running daemons; the states only write the config and never
  restart a running member.

  While rendering, every db member reports its wsrep status, and the pure
  decision hastack_rolling.galera_restart_plan (run on the master) refuses,
  changing nothing, unless every member is Synced in one whole Primary
  component. It orders the members with the HAProxy writer last.

  Then, for each member in turn: it is drained on every HAProxy (all the
  backends that use it) and its sessions end; hastack_rolling.galera_restart
  restarts MariaDB there (it checks again first) and returns once the node is
  Synced with the whole cluster again; it is put back into every backend and
  the next member starts only once its health checks pass everywhere. A failed
  step stops the rollout and puts the member back into rotation (its health
  check keeps it out while it is not Synced).
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set db = hastack.galera.members %}
{%- set lb_hosts = hastack.roles.get("lb", []) %}
{%- set galera_backend = hastack.haproxy.backends.get("galera", {}) %}
{%- set sync_targets = (db + lb_hosts) | unique | list %}

hastack-galera-restart-pillar-validated:
  hastack.validated:
    - failhard: True
{#- Nothing is gathered from an invalid pillar. #}
{%- if salt["hastack.validate"]().valid %}
{%- set statuses = salt["saltutil.cmd"](tgt=db, tgt_type="list", fun="hastack_galera.status",
                                        timeout=10, gather_job_timeout=10) if db else {} %}
{%- set plan = salt["hastack_rolling.galera_restart_plan"](statuses, db,
                                                           arbitrators=hastack.roles.get("arbitrator", []),
                                                           servers=galera_backend.get("servers", [])) %}
{%- if not plan.ok %}

hastack-galera-restart-refused:
  test.fail_without_changes:
    - comment: {{ ("Galera rolling restart refused, nothing was changed: " ~ plan.reason) | json }}
    - failhard: True
    - require:
      - hastack: hastack-galera-restart-pillar-validated
{%- else %}

hastack-galera-restart-plan:
  test.show_notification:
    - text: {{ plan.reason | json }}
    - require:
      - hastack: hastack-galera-restart-pillar-validated

hastack-galera-restart-modules-synced:
  salt.function:
    - name: saltutil.sync_modules
    - tgt: {{ sync_targets | json }}
    - tgt_type: list
    - require:
      - test: hastack-galera-restart-plan
{%-   for member in plan.order %}

hastack-galera-restart-{{ member }}-drained:
  salt.function:
    - name: hastack_haproxy.drain_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ member }}]
    - require:
{%-     if loop.first %}
      - salt: hastack-galera-restart-modules-synced
{%-     else %}
      - salt: hastack-galera-restart-{{ loop.previtem }}-healthy
{%-     endif %}

hastack-galera-restart-{{ member }}-sessions-finished:
  salt.function:
    - name: hastack_haproxy.wait_drained
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ member }}]
    - kwarg: {timeout: {{ hastack.haproxy.drain_timeout }}, close_after: {{ hastack.haproxy.session_grace }}}
    - require:
      - salt: hastack-galera-restart-{{ member }}-drained

hastack-galera-restart-{{ member }}-restarted:
  salt.function:
    - name: hastack_rolling.galera_restart
    - tgt: {{ member }}
    - kwarg:
        service: {{ hastack.galera.service }}
        size: {{ plan.size }}
        timeout: {{ hastack.galera.sync_timeout }}
        log_error: {{ hastack.galera.log_error }}
    - require:
      - salt: hastack-galera-restart-{{ member }}-sessions-finished

hastack-galera-restart-{{ member }}-ready:
  salt.function:
    - name: hastack_haproxy.ready_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ member }}]
    - require:
      - salt: hastack-galera-restart-{{ member }}-restarted

hastack-galera-restart-{{ member }}-healthy:
  salt.function:
    - name: hastack_haproxy.wait_up
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ member }}]
    - kwarg: {timeout: {{ hastack.haproxy.drain_timeout }}}
    - require:
      - salt: hastack-galera-restart-{{ member }}-ready

# A failed step leaves no member drained: health checks decide again.
hastack-galera-restart-{{ member }}-ready-after-failure:
  salt.function:
    - name: hastack_haproxy.ready_host
    - tgt: {{ lb_hosts | json }}
    - tgt_type: list
    - arg: [{{ member }}]
    - onfail:
      - salt: hastack-galera-restart-{{ member }}-drained
      - salt: hastack-galera-restart-{{ member }}-sessions-finished
      - salt: hastack-galera-restart-{{ member }}-restarted
{%-   endfor %}
{%- endif %}
{%- endif %}
