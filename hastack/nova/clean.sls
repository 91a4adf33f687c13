# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes nova's control plane off this host: stops its services and removes
# what the formula wrote (nova.conf, the uwsgi settings, the init scripts'
# settings). The databases, the cells and the keystone registration stay;
# the packages stay unless hastack:clean:remove_packages is set. The other
# api hosts keep serving.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set nova = hastack.nova %}
{%- for name in nova.uwsgi_services | sort %}

hastack-nova-clean-{{ name }}-service-dead:
  service.dead:
    - name: {{ name }}
    - require_in:
      - file: hastack-nova-clean-files-absent
{%- endfor %}
{%- for name in nova.daemons %}

hastack-nova-clean-{{ name }}-service-dead:
  service.dead:
    - name: {{ name }}
    - require_in:
      - file: hastack-nova-clean-files-absent
{%- endfor %}

hastack-nova-clean-files-absent:
  file.absent:
    - names:
      - {{ nova.config }}
{%- for name, service in nova.uwsgi_services | dictsort %}
      - {{ service.ini }}
      - {{ service.default_file }}
{%- endfor %}
{%- if hastack.clean.remove_packages %}

hastack-nova-clean-package-removed:
  pkg.removed:
    - pkgs: {{ nova.pkgs | json }}
    - require:
      - file: hastack-nova-clean-files-absent
{%- endif %}
