package haven

import (
	"encoding/json"
	"strings"
)

// resourceKindPrefix starts the kind of every generic FHIR resource.
const resourceKindPrefix = "fhir:"

// ResourceKind is the kind under which a FHIR resource type that has no
// record type of its own (Encounter, Procedure, Immunization...) is kept.
func ResourceKind(fhirType string) Kind { return Kind(resourceKindPrefix + fhirType) }

// ResourceType is the FHIR type a generic resource kind holds, or "".
func ResourceType(k Kind) string {
	t, ok := strings.CutPrefix(string(k), resourceKindPrefix)
	if !ok {
		return ""
	}
	return t
}

// resourceClasses says which of Haven's own kinds each generic FHIR type is
// judged as by policy: an Encounter is read under the same rules as a
// note, an Immunization as a medication. A type missing here cannot be
// kept. Directory types (practitioners and organisations outside the care
// organisation's own staff) are the organisation's records, like staff.
var resourceClasses = map[string]Kind{
	"Encounter":         KindNote,
	"Procedure":         KindCondition,
	"Immunization":      KindMedication,
	"MedicationRequest": KindMedication,
	"DiagnosticReport":  KindObservation,
	"ImagingStudy":      KindObservation,
	"Goal":              KindCarePlan,
	"Practitioner":      KindStaff,
	"PractitionerRole":  KindStaff,
	"Organization":      KindStaff,
}

// PolicyKind is the kind policy judges a record of kind k as: k itself for
// Haven's own kinds, the class of a generic FHIR resource otherwise.
func PolicyKind(k Kind) Kind {
	if t := ResourceType(k); t != "" {
		if c, ok := resourceClasses[t]; ok {
			return c
		}
	}
	return k
}

// KeepsResource reports whether Haven keeps FHIR type t as a generic
// resource.
func KeepsResource(t string) bool {
	_, ok := resourceClasses[t]
	return ok
}

// Resource is a FHIR resource Haven keeps whole, sealed like every other
// record: in its person's compartment (under the person's key) when it is
// about someone, as the organisation's otherwise. Haven reads the few
// elements it searches on when the resource is written and keeps them,
// sealed too, beside it; the store sees only the random id.
type Resource struct {
	ID       string `json:"id"`
	PersonID string `json:"personId,omitempty"`
	Type     string `json:"type"`
	// Body is the resource as FHIR JSON, without meta (the store's version
	// and time are the truth).
	Body json.RawMessage `json:"body"`
	// Identifiers are the resource's business identifiers as system|value,
	// indexed for exact search.
	Identifiers []string `json:"identifiers,omitempty"`
	// Date is the clinically relevant date-time (YYYY-MM-DD... as sent)
	// that the FHIR date search parameter compares, if the type has one.
	Date string `json:"date,omitempty"`
}

func (r *Resource) Kind() Kind       { return ResourceKind(r.Type) }
func (r *Resource) RecordID() string { return r.ID }
func (r *Resource) Subject() string  { return r.PersonID }

// Validate checks what the store and policy rely on; the FHIR layer checks
// the body itself.
func (r *Resource) Validate() error {
	var c checker
	c.id("id", r.ID)
	if r.PersonID != "" {
		c.id("personId", r.PersonID)
	}
	if !KeepsResource(r.Type) {
		c.fail("type", "%q is not a resource type Haven keeps", r.Type)
	}
	if PolicyKind(r.Kind()) == KindStaff && r.PersonID != "" {
		c.fail("personId", "%s resources belong to the organisation, not to a person", r.Type)
	}
	if PolicyKind(r.Kind()) != KindStaff && r.PersonID == "" {
		c.fail("personId", "%s resources are about a person; the subject is required", r.Type)
	}
	if len(r.Body) == 0 || r.Body[0] != '{' {
		c.fail("body", "must be a JSON object")
	}
	c.list("identifiers", r.Identifiers, MaxShortField)
	c.text("date", r.Date, 40, false)
	return c.err
}
