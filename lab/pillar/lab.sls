# Lab tuning: small memory footprints so three hosts fit on one machine.
# Only sizes live here; the formula itself does not know it runs in a lab.
hastack:
  memcached:
    memory_mb: 32
  galera:
    innodb_buffer_pool_size: 64M
    gcache_size: 64M
    # Every OpenStack process on the three hosts keeps an oslo.db pool per
    # database, all through the VIP to one writer: 100 ran out (error 1040)
    # when a rebooted host's nova-api started, so its app never loaded.
    max_connections: 500
    startup_timeout: 120
    sync_timeout: 180
  # Tests that kill services on purpose must not race the healer: healing is
  # off in the lab; the chaos tests (tests/chaos) switch it on for themselves
  # through Lab.set_pillar_override.
  heal:
    enabled: false
    # Three hosts on a shared, busy machine answer the reconciler slowly (4 s
    # left busy hosts 'silent'). While a host is down, every reconciler round
    # waits this long twice (its answer, then Salt's find_job): 20 s made each
    # round take 40 s, and every heal after a power loss waited on that.
    answer_timeout: 10
  # Nova's workers: one each on three hosts sharing one machine.
  nova:
    conductor_workers: 1
    scheduler_workers: 1
  # nova-compute only proves the control plane works: no hypervisor in the
  # lab. Debian's nova-compute needs one package providing
  # nova-compute-hypervisor; nova-compute-ironic is the lightest (its only
  # file, nova-compute.conf, is replaced by hastack.compute).
  compute:
    driver: fake.FakeDriver
    hypervisor_pkg: nova-compute-ironic
