# -*- coding: utf-8 -*-
# vim: ft=sls
# Hands the event to orch/heal/host_lost.sls; every decision is made there, by the
# hastack_heal runner. One ID per tag (the tag names the minion).
hastack-heal-host_lost-{{ tag | replace("/", "-") }}:
  runner.state.orchestrate:
    - args:
      - mods: orch.heal.host_lost
      - pillar:
          event_data: {"tag": {{ tag | json }}, "data": {{ data | json }}}
