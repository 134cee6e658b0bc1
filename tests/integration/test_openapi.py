"""docs/api/openapi.yaml: it validates against the official OpenAPI 3.0 schema (JSON::Validator, offline), is
internally consistent (unique operationIds, declared path parameters, security that matches each operation's
access level), and describes exactly the routes a running console registers (GET /api/v1/meta/routes), with the
same access level for each. Needs python3-yaml and libjson-validator-perl (scripts/setup)."""
import json
import pathlib
import re
import subprocess

import pytest
import yaml

from conftest import REPO

SPEC = REPO / "docs" / "api" / "openapi.yaml"
VALIDATOR = pathlib.Path(__file__).with_name("openapi_validate.pl")
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
ACCESS = ("public", "session", "analyst", "admin")
# The security requirement sets of docs/api/openapi.yaml (x-otw-security): what each kind of route must declare.
READ = [{"bearerJwt": []}, {"apiToken": []}, {"sessionCookie": []}]
WRITE = [{"bearerJwt": []}, {"apiToken": []}, {"sessionCookie": [], "csrfHeader": []}]
EXTERNAL = [{"externalToken": []}, {"apiToken": []}, {"bearerJwt": []}]


@pytest.fixture(scope="module")
def spec():
    with open(SPEC) as f:
        return yaml.safe_load(f)


def operations(doc):
    """(method, path, operation, path item) for every operation of the document."""
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method], item


def normalise(path):
    """Path parameter names do not matter: the route table names every parameter {id}."""
    return re.sub(r"\{[^}/]*\}", "{id}", path)


def resolve(doc, ref):
    """The object a local $ref ("#/a/b") points to, or None."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def walk(node, where=""):
    """Every (json pointer, dict) below node."""
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            yield from walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{where}/{i}")


def test_validates_against_the_openapi_schema():
    try:
        out = subprocess.run(["perl", str(VALIDATOR), str(SPEC)], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        pytest.fail("perl is missing (scripts/setup installs it)")
    if "Can't locate JSON/Validator" in out.stdout + out.stderr:
        pytest.fail("JSON::Validator is missing: install libjson-validator-perl (scripts/setup)")
    assert out.returncode == 0, f"{SPEC} is not a valid OpenAPI 3.0 document:\n{out.stdout}{out.stderr}"


def test_internal_consistency(spec):
    problems = []
    seen_ids = {}
    for method, path, op, item in operations(spec):
        where = f"{method.upper()} {path}"
        oid = op.get("operationId")
        if not oid:
            problems.append(f"{where}: no operationId")
        elif oid in seen_ids:
            problems.append(f"{where}: operationId {oid} also used by {seen_ids[oid]}")
        else:
            seen_ids[oid] = where
        # Path parameters: every {name} declared as a path parameter, and nothing else declared in the path.
        params = [resolve(spec, p["$ref"]) if "$ref" in p else p for p in item.get("parameters", []) +
                  op.get("parameters", [])]
        if any(p is None for p in params):
            problems.append(f"{where}: a parameter $ref does not resolve")
            continue
        declared = {p["name"] for p in params if p["in"] == "path"}
        in_path = set(re.findall(r"\{([^}/]*)\}", path))
        if declared != in_path:
            problems.append(f"{where}: path parameters {sorted(in_path)} but declared {sorted(declared)}")
        if not any(str(code).startswith("2") for code in op.get("responses", {})):
            problems.append(f"{where}: no 2xx response")
        # Security: declared on every operation and consistent with its access level.
        access = op.get("x-otw-access")
        if access not in ACCESS:
            problems.append(f"{where}: x-otw-access is {access!r}, not one of {ACCESS}")
            continue
        if "security" not in op:
            problems.append(f"{where}: no security requirement declared")
            continue
        sec = op["security"]
        if path.startswith("/external/"):
            want = [] if access == "public" else EXTERNAL
        else:
            want = [] if access == "public" else READ if method == "get" else WRITE
        if sec != want:
            problems.append(f"{where}: access {access} needs security {json.dumps(want)}, has {json.dumps(sec)}")
    # Every local $ref resolves (the validator checks this too, but names no pointer when it fails).
    for where, node in walk(spec):
        ref = node.get("$ref")
        if isinstance(ref, str) and resolve(spec, ref) is None:
            problems.append(f"{where}: $ref {ref} does not resolve")
    # Every component is used somewhere (a stale one is a sign the description drifted).
    used = {node["$ref"] for _, node in walk(spec) if isinstance(node.get("$ref"), str)}
    for kind, members in spec.get("components", {}).items():
        if kind == "securitySchemes":
            continue
        for name in members:
            if f"#/components/{kind}/{name}" not in used:
                problems.append(f"components/{kind}/{name} is never referenced")
    assert not problems, "docs/api/openapi.yaml:\n  " + "\n  ".join(problems)


def test_matches_the_registered_routes(spec, console):
    con = console()
    r = con.api("GET", "/api/v1/meta/routes")
    assert r.status == 200, r
    registered = {}
    for route in r.body["items"]:
        registered[(route["method"], normalise(route["pattern"]))] = route["access"]
    documented = {}
    for method, path, op, _ in operations(spec):
        documented[(method.upper(), normalise(path))] = op.get("x-otw-access")

    def show(keys):
        return "\n".join(f"    {m} {p}" for p, m in sorted((p, m) for m, p in keys))

    missing = set(registered) - set(documented)
    extra = set(documented) - set(registered)
    wrong = sorted(f"    {m} {p}: server says {registered[(m, p)]}, document says {documented[(m, p)]}"
                   for m, p in set(registered) & set(documented) if registered[(m, p)] != documented[(m, p)])
    report = []
    if missing:
        report.append(f"registered by the console but not in docs/api/openapi.yaml ({len(missing)}):\n"
                      + show(missing))
    if extra:
        report.append(f"in docs/api/openapi.yaml but not registered by the console ({len(extra)}):\n" + show(extra))
    if wrong:
        report.append(f"access level differs ({len(wrong)}):\n" + "\n".join(wrong))
    assert not report, "\n".join(report)
    assert len(registered) == len(r.body["items"]), "the console lists a route twice"


def conforms(doc, schema, value, where="$"):
    """Problems of value against an OpenAPI 3.0 schema object (the subset this document uses: $ref, allOf, oneOf,
    type, nullable, enum, required, properties, additionalProperties: false, items). A small checker on purpose:
    it needs nothing beyond the standard library and names the JSON path of each problem."""
    if "$ref" in schema:
        return conforms(doc, resolve(doc, schema["$ref"]), value, where)
    if value is None:
        ok = schema.get("nullable") or (not schema.get("type") and "allOf" not in schema and "oneOf" not in schema)
        return [] if ok else [f"{where}: null"]
    problems = []
    for sub in schema.get("allOf", []):
        problems += conforms(doc, sub, value, where)
    if "oneOf" in schema and all(conforms(doc, s, value, where) for s in schema["oneOf"]):
        problems.append(f"{where}: matches none of oneOf")
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}
    t = schema.get("type")
    if t and (not isinstance(value, types[t]) or (t in ("integer", "number") and isinstance(value, bool))):
        return problems + [f"{where}: {json.dumps(value)[:60]} is not {t}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        problems += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{where}: undocumented member {k}" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                problems += conforms(doc, props[k], v, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value[:20]):
            problems += conforms(doc, schema["items"], v, f"{where}[{i}]")
    return problems


def answer_schema(doc, method, path, status):
    op = doc["paths"][path][method]
    resp = op["responses"].get(str(status)) or op["responses"].get("default")
    assert resp, f"{method.upper()} {path} documents no {status} answer"
    if "$ref" in resp:
        resp = resolve(doc, resp["$ref"])
    return resp["content"]["application/json"]["schema"]


def test_answers_match_the_document(spec, console):
    """A few real answers of each kind (object, list page, error, create) against the document's schemas."""
    con = console()
    problems = []

    def check(method, url, path, body=None, status=200, token=object):
        kw = {} if token is object else {"token": token}
        r = con.api(method.upper(), url, body, **kw)
        assert r.status == status, (method, url, r)
        problems.extend(f"{method.upper()} {url}: {p}" for p in
                        conforms(spec, answer_schema(spec, method, path, status), r.body))
        return r.body

    check("get", "/api/v1/health", "/api/v1/health", token=None)
    check("get", "/api/v1/auth/me", "/api/v1/auth/me")
    check("get", "/api/v1/meta/routes", "/api/v1/meta/routes")
    site = check("post", "/api/v1/sites", "/api/v1/sites", {"name": "s1"}, 201)
    zone = check("post", "/api/v1/zones", "/api/v1/zones", {"site_id": site["id"], "name": "z1"}, 201)
    check("get", f"/api/v1/sites/{site['id']}", "/api/v1/sites/{id}")
    check("get", "/api/v1/zones", "/api/v1/zones")
    act = check("post", "/api/v1/sensors", "/api/v1/sensors", {"name": "n1", "zone_id": zone["id"]}, 201)
    check("get", f"/api/v1/sensors/{act['sensor_id']}", "/api/v1/sensors/{id}")
    check("get", f"/api/v1/sensors/{act['sensor_id']}/settings/effective", "/api/v1/sensors/{id}/settings/effective")
    check("get", "/api/v1/alerts?severity=major,critical", "/api/v1/alerts")
    check("get", "/api/v1/users", "/api/v1/users")
    check("get", "/api/v1/audit-log?limit=5", "/api/v1/audit-log")
    check("post", "/api/v1/exclusion-rules", "/api/v1/exclusion-rules",
          {"name": "r1", "title": "New connection", "zone_id": zone["id"]}, 201)
    check("post", "/api/v1/maintenance-windows", "/api/v1/maintenance-windows",
          {"name": "w1", "ttl_seconds": 600, "zone_id": zone["id"]}, 201)
    token = check("post", "/api/v1/api-tokens", "/api/v1/api-tokens", {"name": "t1", "role": "admin"}, 201)
    check("get", "/api/v1/api-tokens", "/api/v1/api-tokens")
    check("get", "/api/v1/sites/999999", "/api/v1/sites/{id}", status=404)
    check("post", "/api/v1/sites", "/api/v1/sites", {"name": "s1", "bogus": 1}, 400)
    check("get", "/api/v1/sites", "/api/v1/sites", token=token["token"])
    if ("GET", "/external/v1/appliances") in {(m.upper(), p) for m, p, _, _ in operations(spec)} and \
            con.api("GET", "/external/v1/appliances", token=token["token"]).status == 200:
        check("get", "/external/v1/appliances", "/external/v1/appliances", token=token["token"])
    assert not problems, "answers that do not match docs/api/openapi.yaml:\n  " + "\n  ".join(problems)
