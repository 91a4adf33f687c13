# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  `salt-run state.orch hastack.rabbitmq.restart`: restart the brokers one at
  a time, e.g. so that a changed setting reaches the running nodes.

  While rendering, every broker reports its cluster status, and the pure
  decision hastack_rolling.rabbitmq_restart_plan (run on the master) refuses,
  changing nothing, unless every broker runs in one cluster without
  partitions or alarms. Then hastack_rolling.rabbitmq_restart restarts each
  broker in turn: it checks the cluster again, waits until no quorum queue
  needs this node for its majority, restarts it and returns once the node
  sees every broker running without partitions; only then does the next one
  start. A failed step stops the rollout.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set members = hastack.rabbitmq.deploy_order %}

hastack-rabbitmq-restart-pillar-validated:
  hastack.validated:
    - failhard: True
{#- Nothing is gathered from an invalid pillar. #}
{%- if salt["hastack.validate"]().valid %}
{%- set statuses = salt["saltutil.cmd"](tgt=members, tgt_type="list", fun="hastack_rabbitmq.status",
                                        timeout=30, gather_job_timeout=15) if members else {} %}
{%- set plan = salt["hastack_rolling.rabbitmq_restart_plan"](statuses, members,
                                                             node_prefix=hastack.rabbitmq.node_prefix) %}
{%- if not plan.ok %}

hastack-rabbitmq-restart-refused:
  test.fail_without_changes:
    - comment: {{ ("RabbitMQ rolling restart refused, nothing was changed: " ~ plan.reason) | json }}
    - failhard: True
    - require:
      - hastack: hastack-rabbitmq-restart-pillar-validated
{%- else %}

hastack-rabbitmq-restart-plan:
  test.show_notification:
    - text: {{ plan.reason | json }}
    - require:
      - hastack: hastack-rabbitmq-restart-pillar-validated

hastack-rabbitmq-restart-modules-synced:
  salt.function:
    - name: saltutil.sync_modules
    - tgt: {{ members | json }}
    - tgt_type: list
    - require:
      - test: hastack-rabbitmq-restart-plan

# Every broker a member of every quorum queue first: a queue declared while
# a broker was out has fewer members, and would block the restarts for ever.
hastack-rabbitmq-restart-queues-grown:
  salt.function:
    - name: hastack_rabbitmq.grow_queues
    - tgt: {{ members | json }}
    - tgt_type: list
    - require:
      - salt: hastack-rabbitmq-restart-modules-synced
{%-   for member in plan.order %}

hastack-rabbitmq-restart-{{ member }}-restarted:
  salt.function:
    - name: hastack_rolling.rabbitmq_restart
    - tgt: {{ member }}
    - arg:
      - {{ hastack.rabbitmq.cluster_nodes | json }}
    - kwarg:
        service: {{ hastack.rabbitmq.service }}
        timeout: {{ hastack.rabbitmq.wait_timeout }}
    - require:
{%-     if loop.first %}
      - salt: hastack-rabbitmq-restart-queues-grown
{%-     else %}
      - salt: hastack-rabbitmq-restart-{{ loop.previtem }}-restarted
{%-     endif %}
{%-   endfor %}
{%- endif %}
{%- endif %}
