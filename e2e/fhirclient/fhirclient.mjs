// fhirclient.mjs: Haven's FHIR R4 API driven by fhir-kit-client, a FHIR
// client nobody on this project wrote, exactly as a health system's
// integration would use it. client_test.go starts Haven and runs this with:
//
//   HAVEN_FHIR_BASE             the FHIR base URL (http://localhost:PORT/fhir)
//   HAVEN_FHIR_CLIENT_ID        a SMART Backend Services client in one tenant
//   HAVEN_FHIR_SCOPE            the scopes it asks for (space separated)
//   HAVEN_FHIR_OTHER_CLIENT_ID  a client in another tenant
//   HAVEN_FHIR_OTHER_SCOPE      the scopes that one asks for
//   HAVEN_FHIR_KEY_FILE         both clients' private key (PEM, EC P-384)
//   HAVEN_FHIR_KEY_ID           its kid in the registered JWK Set (default k1)
//   HAVEN_FHIR_RECORD_PATIENTS  ids of patients whose records Haven made from
//                               its own model (comma separated), to read whole
//   FHIRCLIENT_KEEP_GOING=1     run every step instead of stopping at the
//                               first failure (steps that need a failed one
//                               are skipped)
//
// The expectations are the FHIR R4 specification's (RESTful API, transaction
// Bundles, Patient/$everything), SMART Backend Services' and Bulk Data
// Access v2's, not Haven's own code. Every resource Haven answers with is
// also checked against the R4 base specification by a validator nobody here
// wrote either (FHIR.js, conformance.mjs). Each step prints "ok" when it passes;
// the first failed expectation is printed with what the server answered and
// the script exits 1.

import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'fhir-kit-client';
import { Found, violations } from './conformance.mjs';

const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';
const SNOMED = 'http://snomed.info/sct';
const FHIR_JSON = 'application/fhir+json';
// Bounds on Bulk Data polling. Retry-After is honoured up to pollCap, so a
// server that asks for minutes does not stall the test.
const POLL_DEADLINE_MS = 120_000;
const POLL_CAP_MS = 5_000;

// ---- configuration ----

function setting(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (!v) {
    console.error(`fhirclient.mjs: ${name} is not set (client_test.go sets it; see the top of this file)`);
    process.exit(2);
  }
  return v;
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`fhirclient.mjs: Node ${process.versions.node} is too old; fhir-kit-client needs Node 20 or later`);
  process.exit(2);
}

const cfg = {
  base: setting('HAVEN_FHIR_BASE').replace(/\/+$/, ''),
  clientId: setting('HAVEN_FHIR_CLIENT_ID'),
  scope: setting('HAVEN_FHIR_SCOPE'),
  otherClientId: setting('HAVEN_FHIR_OTHER_CLIENT_ID'),
  otherScope: setting('HAVEN_FHIR_OTHER_SCOPE'),
  key: createPrivateKey(readFileSync(setting('HAVEN_FHIR_KEY_FILE'))),
  keyId: setting('HAVEN_FHIR_KEY_ID', 'k1'),
  recordPatients: setting('HAVEN_FHIR_RECORD_PATIENTS').split(',').filter(Boolean),
};
const keepGoing = process.env.FHIRCLIENT_KEEP_GOING === '1';

// ---- steps and expectations ----

class Expectation extends Error {}

function expect(ok, message) {
  if (!ok) throw new Expectation(message);
}

const passed = new Set();
const results = [];

function finish() {
  const failed = results.filter((r) => r.status === 'FAIL');
  const skipped = results.filter((r) => r.status === 'skipped');
  if (failed.length === 0 && skipped.length === 0) {
    console.log(`fhir-kit-client: all ${results.length} steps passed`);
    process.exit(0);
  }
  const rest = keepGoing ? `, ${skipped.length} skipped` : '; stopped there (FHIRCLIENT_KEEP_GOING=1 runs the rest)';
  console.log(`fhir-kit-client: ${failed.length} step(s) failed, first "${failed[0]?.name}"; ${passed.size} passed${rest}`);
  process.exit(1);
}

// step runs fn unless a step it needs did not pass; fn may return a note.
async function step(name, needs, fn) {
  const missing = needs.filter((n) => !passed.has(n));
  if (missing.length > 0) {
    console.log(`skip  ${name} (needs: ${missing.join(', ')})`);
    results.push({ name, status: 'skipped' });
    return;
  }
  try {
    const note = await fn();
    passed.add(name);
    results.push({ name, status: 'ok' });
    console.log(`ok    ${name}${note ? `: ${note}` : ''}`);
  } catch (err) {
    results.push({ name, status: 'FAIL' });
    console.log(`FAIL  ${name}: ${describe(err)}`);
    if (!keepGoing) finish();
  }
}

// describe says what went wrong: a failed expectation, an HTTP error from
// fhir-kit-client (with the server's OperationOutcome), or anything else.
function describe(err) {
  if (err instanceof Expectation) return err.message;
  if (err?.response) {
    const { status, data } = err.response;
    const url = err.config?.url ?? '';
    const hint = err.hint ? ` (${err.hint})` : '';
    return `${err.config?.method ?? ''} ${url} answered HTTP ${status}: ${summarize(data)}${hint}`;
  }
  const cause = err?.cause ? ` (cause: ${err.cause.code ?? ''} ${err.cause.message ?? err.cause})` : '';
  return `${err?.stack ?? err}${cause}`;
}

// summarize shortens a response body for a message: an OperationOutcome's
// issues, or the start of anything else.
function summarize(data) {
  if (data?.resourceType === 'OperationOutcome') {
    const issues = (data.issue ?? []).map((i) => `${i.severity}/${i.code}: ${i.diagnostics ?? i.details?.text ?? ''}`);
    return `OperationOutcome [${issues.join('; ')}]`;
  }
  const s = typeof data === 'string' ? data : JSON.stringify(data);
  return s.length > 400 ? `${s.slice(0, 400)}...` : s;
}

// response is the fetch Response fhir-kit-client attached to a result.
function response(result) {
  const { response: res } = Client.httpFor(result);
  expect(res, 'fhir-kit-client returned no HTTP response');
  return res;
}

// refusal expects the request to fail with status and an OperationOutcome
// in FHIR JSON, and returns the error.
async function refusal(promise, status) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    if (!err?.response) throw err;
    const { status: got, data } = err.response;
    expect(got === status, `expected HTTP ${status}, got ${got}: ${summarize(data)}`);
    expect(data?.resourceType === 'OperationOutcome', `HTTP ${got} without an OperationOutcome: ${summarize(data)}`);
    const type = err.config?.headers?.get?.('content-type') ?? '';
    expect(type.startsWith(FHIR_JSON), `HTTP ${got} OperationOutcome has Content-Type ${JSON.stringify(type)}, not ${FHIR_JSON}`);
    return err;
  }
  throw new Expectation(`expected HTTP ${status}, got ${Client.httpFor(result).response?.status}: ${summarize(result)}`);
}

// ---- test data ----

// nhsNumber makes a random valid NHS number (modulus 11) in the 999 range
// kept for testing.
function nhsNumber() {
  for (;;) {
    const digits = [9, 9, 9, ...Array.from(randomBytes(6), (b) => b % 10)];
    const sum = digits.reduce((s, d, i) => s + d * (10 - i), 0);
    let check = 11 - (sum % 11);
    if (check === 11) check = 0;
    if (check !== 10) return [...digits, check].join('');
  }
}

// surname makes a family name no synthetic person has.
function surname(stem) {
  const letters = Array.from(randomBytes(6), (b) => String.fromCharCode(97 + (b % 26))).join('');
  return stem + letters;
}

function patient(nhs, family, given, gender, birthDate) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: NHS_NUMBER, value: nhs }],
    name: [{ use: 'official', family, given }],
    gender,
    birthDate,
  };
}

// matches are a searchset's resources of a type (not OperationOutcomes).
function matches(bundle, type) {
  expect(bundle?.resourceType === 'Bundle' && bundle.type === 'searchset', `expected a searchset Bundle, got ${summarize(bundle)}`);
  return (bundle.entry ?? []).filter((e) => e.resource?.resourceType === type && (e.search?.mode ?? 'match') === 'match').map((e) => e.resource);
}

// idFrom reads the logical id of type from a Location
// ([base/]Type/id[/_history/v]).
function idFrom(location, type) {
  const m = new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`).exec(location ?? '');
  expect(m, `expected a location of a ${type}, got ${JSON.stringify(location)}`);
  return m[1];
}

// ---- SMART Backend Services ----

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// token gets an access token with a private_key_jwt client assertion signed
// ES384 (RFC 7523; SMART Backend Services).
async function token(tokenUrl, clientId, scope) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES384', typ: 'JWT', kid: cfg.keyId };
  // exp under the 5 minutes SMART allows, so a clock a little ahead is fine.
  const claims = { iss: clientId, sub: clientId, aud: tokenUrl, exp: now + 240, iat: now, jti: randomUUID() };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha384', Buffer.from(input), { key: cfg.key, dsaEncoding: 'ieee-p1363' });
  const assertion = `${input}.${b64url(signature)}`;
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  const text = await res.text();
  expect(res.status === 200, `token endpoint answered HTTP ${res.status}: ${text.slice(0, 400)}`);
  const body = JSON.parse(text);
  expect(typeof body.access_token === 'string' && body.access_token !== '', `no access_token in ${text.slice(0, 400)}`);
  expect(String(body.token_type).toLowerCase() === 'bearer', `token_type is ${JSON.stringify(body.token_type)}, not bearer`);
  expect(Number.isInteger(body.expires_in) && body.expires_in > 0, `expires_in is ${JSON.stringify(body.expires_in)}`);
  return body;
}

// ---- the run ----

const state = {};
// found holds what the validator says of every resource Haven answers with.
const validated = new Found();
const anonymous = validated.watch(new Client({ baseUrl: cfg.base }), 'anonymous');
let fhir; // the main client, with the bearerToken option
let other; // the other tenant's client, with the token in customHeaders

const strict = { headers: { prefer: 'handling=strict' } };

// The conformance check can fail: the validator must find what is wrong
// with resources broken in ways the specification forbids, and nothing in
// a correct one.
await step('the validator refuses broken resources', [], async () => {
  const good = patient(nhsNumber(), 'Valid', ['Vera'], 'female', '1950-01-01');
  expect(violations(good).length === 0, `a correct Patient was refused: ${violations(good).join('; ')}`);
  const broken = [
    [{ ...good, gender: 'banana' }, 'Patient.gender'],
    [{ ...good, favouriteColour: 'blue' }, 'Patient.favouriteColour'],
    [{ resourceType: 'Observation', code: { text: 'pulse' } }, 'Observation.status'],
    [{ resourceType: 'OperationOutcome', issue: [{ severity: 'error' }] }, 'OperationOutcome.issue[0].code'],
  ];
  for (const [r, where] of broken) {
    const v = violations(r);
    expect(v.some((m) => m.startsWith(where)), `no error at ${where} for ${JSON.stringify(r)}: ${JSON.stringify(v)}`);
  }
  return `${broken.length} broken resources refused, a correct one accepted`;
});

await step('metadata', [], async () => {
  const cs = await anonymous.capabilityStatement();
  expect(cs.resourceType === 'CapabilityStatement', `GET metadata is not a CapabilityStatement: ${summarize(cs)}`);
  expect(cs.fhirVersion === '4.0.1', `fhirVersion is ${JSON.stringify(cs.fhirVersion)}, not 4.0.1`);
  // fhir-kit-client's SMART discovery: .well-known/smart-configuration,
  // the CapabilityStatement's oauth-uris, or openid-configuration.
  const auth = await anonymous.smartAuthMetadata();
  expect(auth.tokenUrl, 'SMART discovery found no token endpoint');
  state.tokenUrl = auth.tokenUrl.href;
  const types = (cs.rest ?? []).flatMap((r) => (r.resource ?? []).map((x) => x.type));
  return `FHIR ${cs.fhirVersion}, token endpoint ${state.tokenUrl}, serves ${types.join(', ') || 'nothing'}`;
});

await step('token', ['metadata'], async () => {
  const t = await token(state.tokenUrl, cfg.clientId, cfg.scope);
  state.accessToken = t.access_token;
  fhir = validated.watch(new Client({ baseUrl: cfg.base, bearerToken: t.access_token }), 'fhir');
  return `granted "${t.scope}", expires in ${t.expires_in}s`;
});

await step('token for another tenant', ['metadata'], async () => {
  const t = await token(state.tokenUrl, cfg.otherClientId, cfg.otherScope);
  other = validated.watch(new Client({ baseUrl: cfg.base, customHeaders: { Authorization: `Bearer ${t.access_token}` } }), 'other');
  return `granted "${t.scope}"`;
});

state.nhs = nhsNumber();
state.family = surname('Kitclient');
state.given = 'Ottoline';

await step('create Patient', ['token'], async () => {
  const created = await fhir.create({
    resourceType: 'Patient',
    body: patient(state.nhs, state.family, [state.given], 'female', '1948-07-05'),
  });
  const res = response(created);
  expect(res.status === 201, `expected 201 Created, got ${res.status}`);
  state.id = idFrom(res.headers.get('location'), 'Patient');
  expect(!created.id || created.id === state.id, `body id ${created.id} is not the Location's ${state.id}`);
  expect(res.headers.get('etag') === 'W/"1"', `ETag is ${res.headers.get('etag')}, not W/"1"`);
  return `Patient/${state.id}, NHS number ${state.nhs}`;
});

await step('read Patient', ['create Patient'], async () => {
  const p = await fhir.read({ resourceType: 'Patient', id: state.id });
  const res = response(p);
  expect(res.status === 200, `expected 200, got ${res.status}`);
  expect(p.resourceType === 'Patient' && p.id === state.id, `read returned ${summarize(p)}`);
  const ids = (p.identifier ?? []).filter((i) => i.system === NHS_NUMBER).map((i) => i.value);
  expect(ids.length === 1 && ids[0] === state.nhs, `NHS number is ${JSON.stringify(ids)}, not ${state.nhs}`);
  const name = (p.name ?? []).find((n) => n.use === 'official');
  expect(name?.family === state.family && name?.given?.[0] === state.given, `official name is ${JSON.stringify(name)}`);
  expect(p.gender === 'female' && p.birthDate === '1948-07-05', `gender/birthDate are ${p.gender}/${p.birthDate}`);
  expect(p.meta?.versionId === '1', `meta.versionId is ${JSON.stringify(p.meta?.versionId)}, not "1"`);
  expect(res.headers.get('etag') === 'W/"1"', `ETag is ${res.headers.get('etag')}, not W/"1"`);
  state.read = p;
  return `version ${p.meta.versionId}`;
});

await step('update Patient (If-Match W/"1")', ['read Patient'], async () => {
  const body = structuredClone(state.read);
  body.name = [{ use: 'official', family: state.family, given: [state.given, 'Perpetua'] }];
  state.updated = body;
  const up = await fhir.update({ resourceType: 'Patient', id: state.id, body, options: { headers: { 'if-match': 'W/"1"' } } });
  const res = response(up);
  expect(res.status === 200, `expected 200, got ${res.status}`);
  expect(res.headers.get('etag') === 'W/"2"', `ETag is ${res.headers.get('etag')}, not W/"2"`);
  const again = await fhir.read({ resourceType: 'Patient', id: state.id });
  const given = (again.name ?? []).find((n) => n.use === 'official')?.given ?? [];
  expect(given.includes('Perpetua'), `the update was not kept: given names ${JSON.stringify(given)}`);
  expect(again.meta?.versionId === '2', `meta.versionId is ${JSON.stringify(again.meta?.versionId)} after the update`);
  return 'version 2';
});

await step('stale update is 412', ['update Patient (If-Match W/"1")'], async () => {
  const body = structuredClone(state.updated);
  body.gender = 'other';
  await refusal(fhir.update({ resourceType: 'Patient', id: state.id, body, options: { headers: { 'if-match': 'W/"1"' } } }), 412);
  const p = await fhir.read({ resourceType: 'Patient', id: state.id });
  expect(p.gender === 'female', `the stale update was applied: gender ${p.gender}`);
  return '412 OperationOutcome, nothing changed';
});

// searchOne expects exactly the created Patient from a strict search.
async function searchOne(searchParams) {
  const bundle = await fhir.search({ resourceType: 'Patient', searchParams, options: strict });
  const found = matches(bundle, 'Patient');
  expect(found.length === 1 && found[0].id === state.id, `expected Patient/${state.id} alone, got ${JSON.stringify(found.map((p) => p.id))}`);
  expect(bundle.total === undefined || bundle.total === 1, `Bundle.total is ${bundle.total}, not 1`);
  return '1 match';
}

await step('search by NHS number', ['create Patient'], () => searchOne({ identifier: `${NHS_NUMBER}|${state.nhs}` }));
await step('search by family', ['create Patient'], () => searchOne({ family: state.family }));
await step('search by name', ['create Patient'], () => searchOne({ name: state.family }));

await step('no token is 401', ['create Patient'], async () => {
  const err = await refusal(anonymous.read({ resourceType: 'Patient', id: state.id }), 401);
  const challenge = err.config?.headers?.get?.('www-authenticate') ?? '';
  expect(/^Bearer\b/i.test(challenge), `401 without a Bearer WWW-Authenticate challenge: ${JSON.stringify(challenge)}`);
  return '401 OperationOutcome';
});

await step('another tenant gets 404', ['create Patient', 'token for another tenant'], async () => {
  await refusal(other.read({ resourceType: 'Patient', id: state.id }), 404);
  const bundle = await other.search({ resourceType: 'Patient', searchParams: { identifier: `${NHS_NUMBER}|${state.nhs}` }, options: strict });
  const found = matches(bundle, 'Patient');
  expect(found.length === 0, `the other tenant's search found ${JSON.stringify(found.map((p) => p.id))}`);
  return '404 OperationOutcome (not 403), and its search finds nothing';
});

// ---- transaction Bundles ----

function condition(subject) {
  return {
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: { coding: [{ system: SNOMED, code: '44054006', display: 'Diabetes mellitus type 2' }] },
    subject: { reference: subject },
    onsetDateTime: '2019-03-14',
  };
}

function observation(subject) {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: SNOMED, code: '27113001', display: 'Body weight' }] },
    subject: { reference: subject },
    effectiveDateTime: '2026-11-20T10:30:00Z',
    valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
}

// transactionOf builds a transaction whose first entry conditionally
// creates the patient with nhs (If-None-Exist) and whose others refer to
// it by its urn:uuid.
function transactionOf(nhs, family, given, others) {
  const patientUrl = `urn:uuid:${randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: patientUrl,
        resource: patient(nhs, family, [given], 'male', '1957-01-23'),
        request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS_NUMBER}|${nhs}` },
      },
      ...others(patientUrl).map((resource) => ({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource,
        request: { method: 'POST', url: resource.resourceType },
      })),
    ],
  };
}

// transact posts a transaction with fhir-kit-client, which posts to
// [base]/ (with the slash).
async function transact(body) {
  try {
    return await fhir.transaction({ body });
  } catch (err) {
    if (err?.response?.status === 404 || err?.response?.status === 405) {
      err.hint = `fhir-kit-client posts transactions to [base]/, with the slash: ${cfg.base}/`;
    }
    throw err;
  }
}

// statuses are a transaction-response's entry statuses, checked to be
// one per request entry.
function statuses(reply, request) {
  expect(reply?.resourceType === 'Bundle' && reply.type === 'transaction-response', `expected a transaction-response Bundle, got ${summarize(reply)}`);
  const entries = reply.entry ?? [];
  expect(entries.length === request.entry.length, `transaction-response has ${entries.length} entries for ${request.entry.length} requests`);
  return entries.map((e) => String(e.response?.status ?? ''));
}

state.txNHS = nhsNumber();
state.txFamily = surname('Transacta');

await step('transaction', ['token'], async () => {
  const body = transactionOf(state.txNHS, state.txFamily, 'Barnaby', (p) => [condition(p), observation(p)]);
  const reply = await transact(body);
  expect(response(reply).status === 200, `expected 200 for the transaction, got ${response(reply).status}`);
  const got = statuses(reply, body);
  expect(got.every((s) => /^201\b/.test(s)), `expected 201 for every entry, got ${JSON.stringify(got)}`);
  const [p, c, o] = reply.entry.map((e) => e.response.location);
  state.txPatient = idFrom(p, 'Patient');
  state.condition = idFrom(c, 'Condition');
  state.observation = idFrom(o, 'Observation');
  // The urn:uuid references must now name the created Patient.
  for (const [type, id] of [['Condition', state.condition], ['Observation', state.observation]]) {
    const r = await fhir.read({ resourceType: type, id });
    expect(r.subject?.reference?.endsWith(`Patient/${state.txPatient}`), `${type}/${id}.subject is ${JSON.stringify(r.subject)}, not Patient/${state.txPatient}`);
  }
  return `201 ${got.length} times: Patient/${state.txPatient}, Condition/${state.condition}, Observation/${state.observation}`;
});

await step('transaction: conditional create finds the patient', ['transaction'], async () => {
  const body = transactionOf(state.txNHS, state.txFamily, 'Barnaby', () => []);
  const reply = await transact(body);
  const got = statuses(reply, body);
  expect(/^200\b/.test(got[0]), `If-None-Exist matched a patient, so expected 200, got ${got[0]}`);
  const id = idFrom(reply.entry[0].response.location, 'Patient');
  expect(id === state.txPatient, `If-None-Exist answered Patient/${id}, not Patient/${state.txPatient}`);
  const bundle = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: `${NHS_NUMBER}|${state.txNHS}` }, options: strict });
  expect(matches(bundle, 'Patient').length === 1, 'a second patient with the same NHS number was created');
  return `200, Patient/${id}, no duplicate`;
});

await step('transaction: all or nothing', ['transaction'], async () => {
  const nhs = nhsNumber();
  // The Observation lacks code and has a status R4 does not define, so the
  // transaction must fail, and the Patient before it must not be kept.
  const body = transactionOf(nhs, surname('Rollback'), 'Nobody', (p) => {
    const bad = observation(p);
    delete bad.code;
    bad.status = 'not-a-status';
    return [condition(p), bad];
  });
  let reply;
  try {
    reply = await transact(body);
  } catch (err) {
    if (!err?.response) throw err;
    const { status, data } = err.response;
    expect(status >= 400 && status < 500, `expected a 4xx for the invalid transaction, got ${status}: ${summarize(data)}`);
    expect(data?.resourceType === 'OperationOutcome', `HTTP ${status} without an OperationOutcome: ${summarize(data)}`);
    const bundle = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: `${NHS_NUMBER}|${nhs}` }, options: strict });
    const kept = matches(bundle, 'Patient');
    expect(kept.length === 0, `the failed transaction kept Patient/${kept[0]?.id}`);
    return `${status} OperationOutcome, nothing kept`;
  }
  throw new Expectation(`an invalid transaction was accepted: ${summarize(reply)}`);
});

await step('Patient/$everything', ['transaction'], async () => {
  let bundle = await fhir.operation({ name: '$everything', resourceType: 'Patient', id: state.txPatient, method: 'GET' });
  expect(response(bundle).status === 200, `expected 200, got ${response(bundle).status}`);
  const seen = new Map(); // "Type/id" → resource
  for (let page = 0; bundle; page++) {
    expect(page < 50, 'more than 50 pages of $everything');
    expect(bundle.resourceType === 'Bundle' && bundle.type === 'searchset', `expected a searchset Bundle, got ${summarize(bundle)}`);
    for (const e of bundle.entry ?? []) {
      if (e.resource?.id) seen.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
    }
    bundle = await fhir.nextPage({ bundle });
  }
  const want = [`Patient/${state.txPatient}`, `Condition/${state.condition}`, `Observation/${state.observation}`];
  const missing = want.filter((k) => !seen.has(k));
  expect(missing.length === 0, `$everything lacks ${missing.join(', ')}; it holds ${[...seen.keys()].join(', ')}`);
  const strangers = [...seen.values()].filter((r) => r.resourceType === 'Patient' && r.id !== state.txPatient);
  expect(strangers.length === 0, `$everything holds other patients: ${strangers.map((r) => r.id).join(', ')}`);
  return `${seen.size} resources, including ${want.join(', ')}`;
});

// The records Haven keeps in its own model (people, care teams, visits,
// notes, alerts) rather than as resources a client sent: read whole, so
// that the conformance step below sees every type Haven writes itself.
await step('records kept in Haven\'s own model, read whole', ['token'], async () => {
  const types = new Map(); // resourceType → count
  for (const id of cfg.recordPatients) {
    let bundle = await fhir.operation({ name: '$everything', resourceType: 'Patient', id, method: 'GET' });
    for (let page = 0; bundle; page++) {
      expect(page < 50, `more than 50 pages of Patient/${id}/$everything`);
      for (const e of bundle.entry ?? []) types.set(e.resource?.resourceType, (types.get(e.resource?.resourceType) ?? 0) + 1);
      bundle = await fhir.nextPage({ bundle });
    }
  }
  for (const resourceType of ['Practitioner', 'CareTeam']) { // staff and care teams
    const bundle = await fhir.search({ resourceType, searchParams: { _count: 50 } });
    const found = matches(bundle, resourceType);
    expect(found.length > 0, `a search of ${resourceType} found none`);
    types.set(resourceType, (types.get(resourceType) ?? 0) + found.length);
  }
  expect(types.size >= 8, `expected the records to span at least 8 types, got ${[...types.keys()].join(', ')}`);
  return [...types].map(([t, n]) => `${n} ${t}`).join(', ');
});

// The patient's access report: the audit log's entries about them, as
// AuditEvent resources Haven makes from its log.
await step('AuditEvent: who read the patient', ['read Patient'], async () => {
  const bundle = await fhir.search({ resourceType: 'AuditEvent', searchParams: { patient: state.id, _count: 50 } });
  const events = matches(bundle, 'AuditEvent');
  expect(events.length > 0, `no AuditEvent about Patient/${state.id}, though it was created, read and updated`);
  const about = events.filter((e) => (e.entity ?? []).some((x) => x.what?.reference === `Patient/${state.id}`));
  expect(about.length === events.length, `${events.length - about.length} of ${events.length} AuditEvents are not about Patient/${state.id}`);
  return `${events.length} events about Patient/${state.id}`;
});

// ---- Bulk Data export (v2) ----

await step('$export kick-off', ['create Patient'], async () => {
  const kick = await fhir.operation({
    name: '$export',
    resourceType: 'Patient',
    method: 'GET',
    options: { headers: { accept: FHIR_JSON, prefer: 'respond-async' } },
  });
  const res = response(kick);
  expect(res.status === 202, `expected 202 Accepted, got ${res.status}: ${summarize(kick)}`);
  state.status = res.headers.get('content-location');
  expect(state.status, '202 without Content-Location');
  state.status = new URL(state.status, `${cfg.base}/`).href;
  return `202, status at ${state.status}`;
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterMs(value) {
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Math.min(Math.max(Number.isFinite(ms) ? ms : 1000, 100), POLL_CAP_MS);
}

await step('$export status', ['$export kick-off'], async () => {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  for (let polls = 1; ; polls++) {
    const st = await fhir.request(state.status, { options: { headers: { accept: 'application/json' } } });
    const res = response(st);
    if (res.status === 200) {
      state.manifest = st;
      break;
    }
    expect(res.status === 202, `the status endpoint answered ${res.status}, not 202 or 200`);
    const retry = res.headers.get('retry-after');
    expect(retry, 'a 202 from the status endpoint has no Retry-After');
    expect(Date.now() < deadline, `the export was not complete after ${polls} polls in ${POLL_DEADLINE_MS / 1000}s`);
    await sleep(retryAfterMs(retry));
  }
  const m = state.manifest;
  expect(typeof m.transactionTime === 'string' && !Number.isNaN(Date.parse(m.transactionTime)), `manifest transactionTime is ${JSON.stringify(m.transactionTime)}`);
  expect(typeof m.request === 'string' && m.request.includes('$export'), `manifest request is ${JSON.stringify(m.request)}`);
  expect(m.requiresAccessToken === true, `manifest requiresAccessToken is ${JSON.stringify(m.requiresAccessToken)}, not true`);
  expect(Array.isArray(m.output) && m.output.length > 0, `manifest has no output: ${summarize(m)}`);
  expect(Array.isArray(m.error ?? []), 'manifest error is not an array');
  return `complete: ${m.output.map((o) => `${o.type}${o.count === undefined ? '' : ` (${o.count})`}`).join(', ')}`;
});

await step('$export download', ['$export status'], async () => {
  const ids = new Map(); // type → Set of ids
  for (const out of state.manifest.output) {
    expect(typeof out.type === 'string' && typeof out.url === 'string', `output entry ${JSON.stringify(out)}`);
    const url = new URL(out.url, `${cfg.base}/`).href;
    const res = await fetch(url, { headers: { authorization: `Bearer ${state.accessToken}`, accept: 'application/fhir+ndjson' } });
    const text = await res.text();
    expect(res.status === 200, `GET ${url} answered ${res.status}: ${text.slice(0, 400)}`);
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    for (const [i, line] of lines.entries()) {
      let r;
      try {
        r = JSON.parse(line);
      } catch {
        throw new Expectation(`${url} line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
      }
      expect(r.resourceType === out.type, `${url} line ${i + 1} is a ${r.resourceType} in a ${out.type} file`);
      validated.check(r, `${out.type} export line ${i + 1}`);
      if (!ids.has(r.resourceType)) ids.set(r.resourceType, new Set());
      ids.get(r.resourceType).add(r.id);
    }
  }
  const want = [['Patient', state.id]];
  // With FHIRCLIENT_KEEP_GOING=1 the export runs even when the transaction
  // failed; what it would have created is then not looked for.
  if (passed.has('transaction')) {
    want.push(['Patient', state.txPatient], ['Condition', state.condition], ['Observation', state.observation]);
  }
  const missing = want.filter(([type, id]) => !ids.get(type)?.has(id)).map(([type, id]) => `${type}/${id}`);
  expect(missing.length === 0, `the export lacks ${missing.join(', ')}`);
  // requiresAccessToken: the files are not for anyone without one.
  const first = new URL(state.manifest.output[0].url, `${cfg.base}/`).href;
  const bare = await fetch(first, { headers: { accept: 'application/fhir+ndjson' } });
  await bare.arrayBuffer();
  expect(bare.status === 401, `GET ${first} without a token answered ${bare.status}, not 401`);
  const counts = [...ids].map(([type, set]) => `${set.size} ${type}`).join(', ');
  return `${state.manifest.output.length} file(s): ${counts}; holds ${want.map(([type, id]) => `${type}/${id}`).join(', ')}; 401 without a token`;
});

// Last, so that it covers every answer above: resources read, created,
// updated, searched, the transaction's response, $everything, every
// exported line, and every OperationOutcome of a refusal.
await step('every resource answered conforms to FHIR R4', ['the validator refuses broken resources'], async () => {
  expect(validated.checked > 0, 'no resource was checked');
  const report = validated.bad.map(({ where, problems }) => `${where}: ${problems.join('; ')}`);
  expect(report.length === 0, `${report.length} of ${validated.checked} resources break the specification:\n  ${report.join('\n  ')}`);
  return `${validated.checked} resources checked by FHIR.js`;
});

finish();
