# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-rabbitmq-package-installed:
  pkg.installed:
    - name: {{ hastack.rabbitmq.pkg }}
