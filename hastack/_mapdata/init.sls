# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt <minion> state.apply hastack._mapdata`: writes what the states of this
# minion see (defaults < tiers < os_family < pillar, plus every derived fact)
# to a file, for debugging a pillar. Secrets are masked (hastack.mapdata).
{%- set dump = {"values": salt["hastack.mapdata"]()} %}

hastack-_mapdata-dump-file-managed:
  file.managed:
    - name: /var/cache/hastack/mapdata.yaml
    - makedirs: True
    - mode: '0600'
    - source: salt://hastack/_mapdata/_mapdata.jinja
    - template: jinja
    - context:
        dump: {{ dump | json }}
