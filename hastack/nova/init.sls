# -*- coding: utf-8 -*-
# vim: ft=sls
# Nova's control plane on an api host: nova-api and nova-api-metadata (uwsgi
# on the stack IP), nova-conductor, nova-scheduler. The schemas, the cells
# and nova's keystone registration are made once, on one host, by
# orch.nova.deploy (hastack.nova.bootstrap), never by every host.
include:
  - .package
  - .config
  - .service
