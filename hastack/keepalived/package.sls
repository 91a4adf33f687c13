# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-keepalived-package-installed:
  pkg.installed:
    - name: {{ hastack.keepalived.pkg }}
