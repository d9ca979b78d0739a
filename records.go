package haven

import (
	"encoding/json"
	"time"
)

// Kind names a type of record. It is part of every record's identity and of
// the associated data its ciphertext is bound to.
type Kind string

// The kinds of record Haven keeps.
const (
	KindPerson      Kind = "person"
	KindCondition   Kind = "condition"
	KindAllergy     Kind = "allergy"
	KindMedication  Kind = "medication"
	KindObservation Kind = "observation"
	KindNote        Kind = "note"
	KindCarePlan    Kind = "care-plan"
	KindCareTeam    Kind = "care-team"
	KindVisit       Kind = "visit"
	// KindHomeAccess is how to get into a person's home. It is kept apart from
	// the rest of the record so that policy and audit can treat it as the most
	// protected thing Haven holds.
	KindHomeAccess Kind = "home-access"
	KindStaff      Kind = "staff"
)

// PersonKinds are the kinds that belong to one person's record, in the order
// a full record lists them. Home access is deliberately absent: reading a
// person's record never reveals how to enter their home.
var PersonKinds = []Kind{KindCondition, KindAllergy, KindMedication, KindObservation,
	KindNote, KindCarePlan, KindCareTeam, KindVisit}

// Record is implemented by every stored record type.
type Record interface {
	Kind() Kind
	RecordID() string
	// Subject is the id of the person the record is about, or "" for records
	// that belong to the tenant itself (staff).
	Subject() string
	Validate() error
}

// Tenant is a care organisation: a data controller whose data Haven
// processes. It holds no personal data, so it is stored unsealed.
type Tenant struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	ODSCode string    `json:"odsCode"` // NHS Organisation Data Service code
	Created time.Time `json:"created"`
}

// Address is a UK postal address.
type Address struct {
	Lines    []string `json:"lines"`
	City     string   `json:"city"`
	Postcode string   `json:"postcode"`
}

// Person is someone receiving care.
type Person struct {
	ID        string  `json:"id"`
	NHSNumber string  `json:"nhsNumber"`
	Given     string  `json:"given"`
	Family    string  `json:"family"`
	BirthDate Date    `json:"birthDate"`
	Gender    string  `json:"gender"` // FHIR administrative gender
	Address   Address `json:"address"`
	Phone     string  `json:"phone,omitempty"`
	// GP is the registered general practice's ODS code and name.
	GPPractice string `json:"gpPractice,omitempty"`
	// Canary marks a decoy person that no legitimate workflow touches; a
	// read of one is a signal of enumeration.
	Canary bool `json:"canary,omitempty"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// Condition is a problem or diagnosis (SNOMED CT coded).
type Condition struct {
	ID       string `json:"id"`
	PersonID string `json:"personId"`
	Code     string `json:"code"`
	Display  string `json:"display"`
	Onset    Date   `json:"onset,omitempty"`
	Status   string `json:"status"` // active, resolved, inactive
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// Allergy is an allergy or intolerance.
type Allergy struct {
	ID        string `json:"id"`
	PersonID  string `json:"personId"`
	Substance string `json:"substance"`
	Reaction  string `json:"reaction,omitempty"`
	Severity  string `json:"severity,omitempty"` // mild, moderate, severe
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// Medication is a medicine a person takes.
type Medication struct {
	ID        string `json:"id"`
	PersonID  string `json:"personId"`
	Name      string `json:"name"`
	Dose      string `json:"dose"`
	Frequency string `json:"frequency"`
	Route     string `json:"route,omitempty"`
	Start     Date   `json:"start,omitempty"`
	End       Date   `json:"end,omitempty"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// Observation is a measurement such as a blood pressure or a weight.
type Observation struct {
	ID       string  `json:"id"`
	PersonID string  `json:"personId"`
	Code     string  `json:"code"` // LOINC or SNOMED CT
	Display  string  `json:"display"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// ValueText is a value that is not a number ("Never smoker", or a
	// blood pressure's "128/82 mmHg"); Value is then 0 and not shown.
	ValueText string    `json:"valueText,omitempty"`
	At        time.Time `json:"at"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// Note is a free-text clinical or care note.
type Note struct {
	ID       string    `json:"id"`
	PersonID string    `json:"personId"`
	AuthorID string    `json:"authorId"`
	At       time.Time `json:"at"`
	Text     string    `json:"text"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// CarePlan says what care a person receives and why.
type CarePlan struct {
	ID         string   `json:"id"`
	PersonID   string   `json:"personId"`
	Title      string   `json:"title"`
	Goals      []string `json:"goals"`
	Activities []string `json:"activities"`
	Start      Date     `json:"start"`
	Review     Date     `json:"review,omitempty"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// CareTeam is the staff who care for a person. Membership is what later
// decides whose record a carer may open.
type CareTeam struct {
	ID       string   `json:"id"`
	PersonID string   `json:"personId"`
	Name     string   `json:"name"`
	StaffIDs []string `json:"staffIds"`
	// Service is the service that provides this team's care ("Home care",
	// "Community nursing"). Coordinators and clinicians of that service
	// see the person (docs/permissions.md).
	Service string `json:"service,omitempty"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// Visit is a planned home-care visit.
type Visit struct {
	ID       string    `json:"id"`
	PersonID string    `json:"personId"`
	StaffID  string    `json:"staffId"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Status   string    `json:"status"` // planned, in-progress, completed, cancelled, missed
	Tasks    []string  `json:"tasks,omitempty"`
	// FHIR is the resource as a FHIR client sent it, when it came through
	// the FHIR API or an import: kept sealed inside this record, so what
	// Haven does not map is not lost (docs/fhir.md).
	FHIR json.RawMessage `json:"fhir,omitempty"`
}

// HomeAccess is how to get into a person's home: the data whose theft in
// 2022 put 890 people receiving home care at risk.
type HomeAccess struct {
	ID                string `json:"id"`
	PersonID          string `json:"personId"`
	KeySafeCode       string `json:"keySafeCode,omitempty"`
	EntryInstructions string `json:"entryInstructions,omitempty"`
	Hazards           string `json:"hazards,omitempty"`
}

// Staff is a member of a care organisation's staff. Signing in is handled
// elsewhere; this is the record of who they are.
type Staff struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	Email string `json:"email"`
	Team  string `json:"team,omitempty"` // the team they work in
	// Service is the service they work for; it must match a care team's
	// Service exactly for the service rules of docs/permissions.md.
	Service string `json:"service,omitempty"`
}

func (r *Person) Kind() Kind      { return KindPerson }
func (r *Condition) Kind() Kind   { return KindCondition }
func (r *Allergy) Kind() Kind     { return KindAllergy }
func (r *Medication) Kind() Kind  { return KindMedication }
func (r *Observation) Kind() Kind { return KindObservation }
func (r *Note) Kind() Kind        { return KindNote }
func (r *CarePlan) Kind() Kind    { return KindCarePlan }
func (r *CareTeam) Kind() Kind    { return KindCareTeam }
func (r *Visit) Kind() Kind       { return KindVisit }
func (r *HomeAccess) Kind() Kind  { return KindHomeAccess }
func (r *Staff) Kind() Kind       { return KindStaff }

func (r *Person) RecordID() string      { return r.ID }
func (r *Condition) RecordID() string   { return r.ID }
func (r *Allergy) RecordID() string     { return r.ID }
func (r *Medication) RecordID() string  { return r.ID }
func (r *Observation) RecordID() string { return r.ID }
func (r *Note) RecordID() string        { return r.ID }
func (r *CarePlan) RecordID() string    { return r.ID }
func (r *CareTeam) RecordID() string    { return r.ID }
func (r *Visit) RecordID() string       { return r.ID }
func (r *HomeAccess) RecordID() string  { return r.ID }
func (r *Staff) RecordID() string       { return r.ID }

func (r *Person) Subject() string      { return r.ID }
func (r *Condition) Subject() string   { return r.PersonID }
func (r *Allergy) Subject() string     { return r.PersonID }
func (r *Medication) Subject() string  { return r.PersonID }
func (r *Observation) Subject() string { return r.PersonID }
func (r *Note) Subject() string        { return r.PersonID }
func (r *CarePlan) Subject() string    { return r.PersonID }
func (r *CareTeam) Subject() string    { return r.PersonID }
func (r *Visit) Subject() string       { return r.PersonID }
func (r *HomeAccess) Subject() string  { return r.PersonID }
func (r *Staff) Subject() string       { return "" }

// New returns an empty record of kind k, ready to decode into.
func New(k Kind) (Record, bool) {
	switch k {
	case KindPerson:
		return new(Person), true
	case KindCondition:
		return new(Condition), true
	case KindAllergy:
		return new(Allergy), true
	case KindMedication:
		return new(Medication), true
	case KindObservation:
		return new(Observation), true
	case KindNote:
		return new(Note), true
	case KindCarePlan:
		return new(CarePlan), true
	case KindCareTeam:
		return new(CareTeam), true
	case KindVisit:
		return new(Visit), true
	case KindHomeAccess:
		return new(HomeAccess), true
	case KindStaff:
		return new(Staff), true
	}
	if KeepsResource(ResourceType(k)) {
		return new(Resource), true
	}
	return nil, false
}

// PersonRecord is everything Haven holds about one person except how to
// enter their home.
type PersonRecord struct {
	Person       Person        `json:"person"`
	Conditions   []Condition   `json:"conditions"`
	Allergies    []Allergy     `json:"allergies"`
	Medications  []Medication  `json:"medications"`
	Observations []Observation `json:"observations"`
	Notes        []Note        `json:"notes"`
	CarePlans    []CarePlan    `json:"carePlans"`
	CareTeams    []CareTeam    `json:"careTeams"`
	Visits       []Visit       `json:"visits"`
}
