# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Galera steps of hastack.deploy (included by orch/deploy.sls; they require
  its common step). garbd (role arbitrator) follows the data members.

  The db members get the hastack.galera states one at a time, in hastack:roles:db
  order; each step returns only when its node is Synced (the state polls with a
  deadline). A running member is left alone, so a re-run changes nothing.

  Which node may bootstrap is decided here, while rendering, from live facts:
  only when NO member holds cluster state yet (no grastate.dat anywhere: a brand
  new cluster) may the first member form a new Primary component, and even then
  the state does it only when no other member answers on the Galera port. A
  member that does not answer counts as holding state. A stopped member joins
  through a running one (IST/SST); when none runs, the step fails and names
  `salt-run state.orch hastack.galera.recover`.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set db = hastack.galera.members %}
{%- if db %}
{%-   set grastate = hastack.galera.datadir ~ "/grastate.dat" %}
{%-   set answers = salt["saltutil.cmd"](tgt=db, tgt_type="list", fun="file.file_exists",
                                         arg=[grastate], timeout=10, gather_job_timeout=10) %}
{%-   set fresh = [] %}
{%-   for member in db %}
{%-     if answers.get(member, {}).get("ret") is sameas false %}
{%-       do fresh.append(member) %}
{%-     endif %}
{%-   endfor %}
{%-   set new_cluster = fresh | length == db | length %}
{%-   for member in db %}
{%-     set bootstrap = new_cluster and loop.first %}

hastack-deploy-galera-{{ member }}-applied:
  salt.state:
    - tgt: {{ member }}
    - sls: hastack.galera
    - pillar: {{ {"hastack": {"galera": {"bootstrap": bootstrap}}} | json }}
    - require:
{%-     if loop.first %}
      - salt: hastack-deploy-common-applied
{%-     else %}
      - salt: hastack-deploy-galera-{{ loop.previtem }}-applied
{%-     endif %}
{%-   endfor %}
{%- endif %}

{%- if hastack.roles.get("arbitrator") %}

hastack-deploy-arbitrator-applied:
  salt.state:
    - tgt: {{ hastack.roles.arbitrator | json }}
    - tgt_type: list
    - sls: hastack.arbitrator
    - require:
      - salt: hastack-deploy-common-applied
{%-   for member in db %}
      - salt: hastack-deploy-galera-{{ member }}-applied
{%-   endfor %}
{%- endif %}
