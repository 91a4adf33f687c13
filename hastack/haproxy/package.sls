# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-haproxy-package-installed:
  pkg.installed:
    - name: {{ hastack.haproxy.pkg }}
