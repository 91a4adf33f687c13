# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes keepalived off this host: stops it and removes the config the formula wrote.
# The package stays unless hastack:clean:remove_packages is set.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-keepalived-clean-service-dead:
  service.dead:
    - name: {{ hastack.keepalived.service }}
    # Debian's sysvinit script has no `status`: find the daemon by its
    # command line there (systemd ignores this). Stopping it hands the VIP on.
    - sig: {{ hastack.keepalived.daemon }}

hastack-keepalived-clean-config-file-absent:
  file.absent:
    - name: {{ hastack.keepalived.config }}
    - require:
      - service: hastack-keepalived-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-keepalived-clean-package-removed:
  pkg.removed:
    - name: {{ hastack.keepalived.pkg }}
    - require:
      - file: hastack-keepalived-clean-config-file-absent
{%- endif %}
