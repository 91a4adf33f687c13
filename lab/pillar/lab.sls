# Lab tuning: small memory footprints so three hosts fit on one machine.
# Only sizes live here; the formula itself does not know it runs in a lab.
hastack:
  memcached:
    memory_mb: 32
