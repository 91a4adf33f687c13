# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes haproxy off this host: stops it and removes the config the formula wrote.
# The package stays unless hastack:clean:remove_packages is set.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-haproxy-clean-service-dead:
  service.dead:
    - name: {{ hastack.haproxy.service }}
    # Debian's init script reports "running" once the config is gone (its
    # `test -f $CONFIG || exit 0`): find the daemon by its command line.
    - sig: {{ hastack.haproxy.daemon }}

hastack-haproxy-clean-config-file-absent:
  file.absent:
    - name: {{ hastack.haproxy.config }}
    - require:
      - service: hastack-haproxy-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-haproxy-clean-package-removed:
  pkg.removed:
    - name: {{ hastack.haproxy.pkg }}
    - require:
      - file: hastack-haproxy-clean-config-file-absent
{%- endif %}
