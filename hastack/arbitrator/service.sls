# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

# galera-arbitrator-4 installs its init script without boot links, and Salt's
# sysvinit enable needs insserv, which a host without systemd may lack.
# update-rc.d makes the links, so the service state finds garb enabled.
hastack-arbitrator-service-init-links-present:
  cmd.run:
    - name: update-rc.d {{ hastack.arbitrator.service }} defaults
    - unless:
      - fun: file.find
        path: /etc/rc2.d
        name: 'S??{{ hastack.arbitrator.service }}'
    - require:
      - sls: hastack.arbitrator.package

hastack-arbitrator-service-running:
  service.running:
    - name: {{ hastack.arbitrator.service }}
    - enable: True
    - require:
      - cmd: hastack-arbitrator-service-init-links-present
    - watch:
      - sls: hastack.arbitrator.config
