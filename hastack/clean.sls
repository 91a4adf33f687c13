# -*- coding: utf-8 -*-
# vim: ft=sls
# `state.apply hastack.clean`: takes hastack off this minion. The clean states
# of its tiers run in reverse tier order (the last tier applied is the first
# one removed), then common's. Services stop and the files the formula wrote
# go; packages and the Galera datadir stay unless hastack:clean says otherwise
# (parameters/defaults.yaml). Services are stopped, not disabled at boot:
# Salt's sysvinit enable needs insserv, which Debian hosts without systemd may
# lack, so a later apply could not enable them again. Without their configs
# HAProxy and keepalived do not start at boot; MariaDB and RabbitMQ would, so
# take a cleaned host out of its roles (or apply hastack again) before a
# reboot. The other members keep serving: Galera and
# RabbitMQ go on with the rest. Applying hastack (or hastack.deploy) again
# brings the minion back into its clusters. The auto-heal's beacons go first
# (hastack.beacons.clean), so that they do not report the services stopping.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - hastack.validate
  - hastack.beacons.clean
{%- for tier in hastack.my_tiers | reverse %}
  - hastack.{{ tier }}.clean
{%- endfor %}
  - hastack.common.clean
