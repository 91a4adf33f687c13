# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  `salt-run state.orch hastack.galera.recover`: bring a fully stopped Galera
  cluster back without losing a committed transaction.

  Nothing is gathered unless the pillar is valid. While rendering, every db
  member reports its position (hastack_galera.position with the pillar's
  datadir and socket: grastate.dat, gvwstate.dat, and `mariadbd --wsrep-recover`
  when the seqno was not recorded). The pure decision
  hastack_galera_plan.recover_plan (run on the master; it needs no MariaDB
  there) picks the node with the highest committed seqno, or
  refuses: a member that does not answer, different cluster UUIDs, an ambiguous
  position, a member still running. A refusal changes nothing: the run fails
  with the reason. Then the chosen node bootstraps and the others start one at
  a time, each waiting until Synced, each with the whole Galera tier (its
  health endpoint too: a host that rebooted runs nothing yet); garbd last.

  Pillar (e.g. `pillar='{"hastack": {"galera": {"recover": {"allow_partial": true}}}}'`):
    hastack:galera:recover:allow_partial  go on with the answering strict majority
    hastack:galera:recover:force          bootstrap this minion, skip the choice
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set db = hastack.galera.members %}
{%- set options = hastack.galera.recover %}

hastack-galera-recover-pillar-validated:
  hastack.validated:
    - failhard: True
{#- Nothing is gathered (gathering runs --wsrep-recover) from an invalid pillar. #}
{%- if salt["hastack.validate"]().valid %}
{%- set positions = salt["saltutil.cmd"](tgt=db, tgt_type="list", fun="hastack_galera.position",
                                         kwarg={"datadir": hastack.galera.datadir,
                                                "socket": hastack.galera.socket},
                                         timeout=10, gather_job_timeout=10) if db else {} %}
{%- set decision = salt["hastack_galera_plan.recover_plan"](positions, db,
                                                            allow_partial=options.allow_partial,
                                                            force=options.force) %}

{%- if not decision.ok %}

hastack-galera-recover-refused:
  test.fail_without_changes:
    - comment: {{ decision.comment | json }}
    - failhard: True
    - require:
      - hastack: hastack-galera-recover-pillar-validated
{%- else %}

hastack-galera-recover-decision:
  test.show_notification:
    - text: {{ decision.comment | json }}
    - require:
      - hastack: hastack-galera-recover-pillar-validated

hastack-galera-recover-{{ decision.bootstrap }}-bootstrapped:
  salt.state:
    - tgt: {{ decision.bootstrap }}
    - sls: hastack.galera
    - pillar: {"hastack": {"galera": {"bootstrap": true}}}
    - require:
      - test: hastack-galera-recover-decision
{%-   for member in decision.order %}

hastack-galera-recover-{{ member }}-rejoined:
  salt.state:
    - tgt: {{ member }}
    - sls: hastack.galera
    - require:
{%-     if loop.first %}
      - salt: hastack-galera-recover-{{ decision.bootstrap }}-bootstrapped
{%-     else %}
      - salt: hastack-galera-recover-{{ loop.previtem }}-rejoined
{%-     endif %}
{%-   endfor %}
{%-   if hastack.roles.get("arbitrator") %}

# garbd cannot outlive its cluster: it comes back once the data members are.
hastack-galera-recover-arbitrator-applied:
  salt.state:
    - tgt: {{ hastack.roles.arbitrator | json }}
    - tgt_type: list
    - sls: hastack.arbitrator
    - require:
      - salt: hastack-galera-recover-{{ decision.bootstrap }}-bootstrapped
{%-     for member in decision.order %}
      - salt: hastack-galera-recover-{{ member }}-rejoined
{%-     endfor %}
{%-   endif %}
{%- endif %}
{%- endif %}
