// conformance.mjs: checks what Haven answers against the FHIR R4 (4.0.x)
// base specification with FHIR.js (npm "fhir"), a validator nobody on this
// project wrote, carrying the specification's own StructureDefinitions and
// value sets. It finds what Haven's own tests cannot, because they share
// Haven's reading of the specification: a required element left out, an
// element the resource type does not have, a code outside a required value
// set, a wrong data type.
//
// What FHIR.js does not check (and so neither does this): the format of
// primitive values such as dates, invariants written in FHIRPath, and
// codes in value sets it does not carry (SNOMED CT, LOINC: those bindings
// are "example" or "preferred" in R4 and give warnings, not errors).

import fhirjs from 'fhir';

const validator = new fhirjs.Fhir(); // FHIR 4.0 definitions, bundled

// violations returns the errors the validator finds in a resource, as
// "location: message", each once.
export function violations(resource) {
  const result = validator.validate(resource, { errorOnUnexpected: true });
  const seen = new Set();
  for (const m of result.messages ?? []) {
    if (m.severity === 'error') seen.add(`${m.location}: ${m.message}`);
  }
  return [...seen];
}

// Found collects the violations in everything a run received, by where it
// came from, so that one step can report them all.
export class Found {
  constructor() {
    this.bad = []; // { where, problems }
    this.checked = 0;
  }

  // check validates r if it is a FHIR resource (has a resourceType).
  check(r, where) {
    if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string') return;
    this.checked++;
    const problems = violations(r);
    if (problems.length > 0) this.bad.push({ where, problems });
  }

  // watch wraps a fhir-kit-client Client so that every resource it returns,
  // and every OperationOutcome of a request it fails, is checked.
  watch(client, label) {
    return new Proxy(client, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args) => {
          const out = v.apply(target, args);
          if (!(out instanceof Promise)) return out;
          const where = `${label}.${String(prop)}`;
          return out.then(
            (r) => {
              this.check(r, where);
              return r;
            },
            (err) => {
              this.check(err?.response?.data, `${where} (HTTP ${err?.response?.status})`);
              throw err;
            },
          );
        };
      },
    });
  }
}
