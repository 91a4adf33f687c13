# -*- coding: utf-8 -*-
# vim: ft=sls
# Placement on an api host. The database schema and placement's keystone
# user, service and endpoints are made once, on one host, by
# orch.placement.deploy (hastack.placement.bootstrap), never by every host.
include:
  - .package
  - .config
  - .service
