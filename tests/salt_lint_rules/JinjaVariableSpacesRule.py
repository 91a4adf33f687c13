"""salt-lint rule H206: rule 206 (spaces inside `{{ }}`) without its false positives.

Rule 206 takes any `}}` for the end of a Jinja expression, so the nested flow
mappings the orchestrations pass as inline pillar (`{"a": {"b": true}}}`) read
as unspaced Jinja. This rule checks the same spacing but leaves runs of three
or more braces alone; .salt-lint skips 206 and loads this one in its place.
salt-lint loads the class named like the file from the `rulesdir` of .salt-lint.
"""

import re

from saltlint.linter.rule import JinjaRule


class JinjaVariableSpacesRule(JinjaRule):
    id = "H206"
    shortdesc = "Jinja variables should have spaces before and after: '{{ var_name }}'"
    description = (
        "Jinja variables should have spaces before and after: '{{ var_name }}' "
        "(rule 206, not counting runs of three or more braces, which are nested flow mappings)"
    )
    severity = "LOW"
    version_added = "hastack"

    # Rule 206's pattern, with each `{{` / `}}` required to be exactly two braces.
    bracket_regex = re.compile(
        r"(?<!{){{[^ {}\-\+\d]|(?<!{){{[-\+][^ {}]|[^ {}\-\+\d]}}(?!})|[^ {}][-\+\d]}}(?!})"
    )

    def match(self, file, line):
        return self.bracket_regex.search(line)
