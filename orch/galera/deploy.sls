# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Galera steps of hastack.deploy (included by orch/deploy.sls, which renders
  it only after the pillar validated; the steps hang between the markers
  hastack-deploy-galera-started and hastack-deploy-galera-done).

  The db members get the hastack.galera states one at a time, in hastack:roles:db
  order; each step returns only when its node is Synced (the state polls with a
  deadline). A running member is left alone, so a re-run changes nothing.

  hastack_galera_plan.deploy_plan (run here, on the master) decides from live
  facts (does each member hold grastate.dat, does MariaDB run there) and returns
  the steps with each member's pillar: a member runs, so the others join it;
  or no member holds state, so the first one bootstraps a new cluster (and
  even then the state does it only when no other member answers on the Galera
  port); or nothing can start safely (a full outage, a silent member), and the
  first Galera step fails saying why and naming hastack.galera.recover.
  Built-in functions gather the facts: on a first deploy the minions do not
  have the formula's modules yet.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set db = hastack.galera.members %}
{%- if db %}
{%-   set has_state = salt["saltutil.cmd"](tgt=db, tgt_type="list", fun="file.file_exists",
                                            arg=[hastack.galera.datadir ~ "/grastate.dat"],
                                            timeout=10, gather_job_timeout=10) %}
{%-   set running = salt["saltutil.cmd"](tgt=db, tgt_type="list", fun="service.status",
                                         arg=[hastack.galera.service], timeout=10, gather_job_timeout=10) %}
{%-   set plan = salt["hastack_galera_plan.deploy_plan"](has_state, running, db) %}
{%-   if not plan.ok %}

hastack-deploy-galera-refused:
  test.fail_without_changes:
    - comment: {{ plan.reason | json }}
    - require:
      - test: hastack-deploy-galera-started
    - require_in:
      - test: hastack-deploy-galera-done
{%-   else %}
{%-     set chain = namespace(id="test: hastack-deploy-galera-started") %}
{%-     for step in plan.steps %}

hastack-deploy-galera-{{ step.minion }}-applied:
  salt.state:
    - tgt: {{ step.minion }}
    - sls: hastack.galera
    - pillar: {{ step.pillar | json }}
    - require:
      - {{ chain.id }}
    - require_in:
      - test: hastack-deploy-galera-done
{%-       set chain.id = "salt: hastack-deploy-galera-" ~ step.minion ~ "-applied" %}
{%-     endfor %}
{%-   endif %}
{%- endif %}
