# -*- coding: utf-8 -*-
# vim: ft=sls
# nova-api and nova-api-metadata (uwsgi, on the stack IP), nova-conductor and
# nova-scheduler, each from its Debian init script. A config change restarts
# them. No `sig`: the init scripts' status is what Salt asks (Salt's own
# process search by signature skips every ps line that holds its job id).
# The uwsgi server exits when its app cannot load (need-app), e.g. while the
# database is briefly out of reach: `retry` starts it again before the state fails.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set nova = hastack.nova %}

include:
  - .config
{%- for name in nova.daemons %}

hastack-nova-service-{{ name }}-running:
  service.running:
    - name: {{ name }}
    - enable: True
    - retry:
        attempts: 3
        interval: 10
    - watch:
      - sls: hastack.nova.config
{%- endfor %}
{%- for name in nova.uwsgi_services | sort %}

hastack-nova-service-{{ name }}-running:
  service.running:
    - name: {{ name }}
    - enable: True
    - retry:
        attempts: 3
        interval: 10
    - watch:
      - sls: hastack.nova.config
      - file: hastack-nova-package-{{ name }}-default-file-managed
{%- endfor %}
