"""Read a JUnit XML file with junitparser (Debian python3-junitparser) and print what it counted as JSON."""
import json
import sys

from junitparser import JUnitXml, Failure, Error, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        kinds = [type(r).__name__.lower() for r in case.result]
        cases.append({"name": case.name, "classname": case.classname, "result": kinds,
                      "types": [r.type for r in case.result], "messages": [r.message for r in case.result]})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures, "errors": suite.errors,
                   "skipped": suite.skipped, "cases": cases})
xml.update_statistics()
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "skipped": xml.skipped, "suites": suites}))
