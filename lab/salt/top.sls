# The lab's top file: every minion gets the formula; roles decide the rest.
base:
  '*':
    - hastack
