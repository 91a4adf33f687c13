# -*- coding: utf-8 -*-
# vim: ft=sls
# A Galera (MariaDB) member of the db role. A stopped node starts only when it
# can join a running member; forming a new cluster is left to the
# orchestrations (hastack.deploy, hastack.galera.recover).
include:
  - .package
  - .config
  - .service
  - .users
  - .health
