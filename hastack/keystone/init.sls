# -*- coding: utf-8 -*-
# vim: ft=sls
# Keystone on an api host. The database schema and the admin, the service and
# its endpoints are made once, on one host, by orch.keystone.deploy
# (hastack.keystone.bootstrap), never by every host.
include:
  - .package
  - .config
  - .keys
  - .service
