package fhir

// Haven's own clinical records as FHIR R4 resources: the pure mappings the
// engine calls, one pair of functions per type, listed in mappedTypes.
//
// Conventions (FHIR R4, UK Core where it has something to say):
//
//   - The resource as the client sent it is kept whole, sealed, in the
//     record's FHIR field. toDomain therefore reads the elements Haven shows
//     and leaves the rest where it is: it refuses a resource only when Haven
//     could not show it truthfully (a required value is missing, a status
//     says the record is wrong or not current, a modifier it cannot read).
//     Every error is a *haven.InvalidError naming the FHIR path of the
//     element ("Condition.code.coding[0].display"), or the resource type for
//     the resource as a whole; a JSON type that is wrong for the element, or
//     an empty string, is refused at its path.
//   - modifierExtension (anywhere, contained resources included) and
//     implicitRules are refused: they may change what the resource means, and
//     FHIR requires a system that cannot read them to refuse the resource.
//   - Words. A concept Haven keeps as words (a substance, a medicine, a route,
//     a reaction, an activity, a task, a service) is read from the
//     CodeableConcept's text, else its first coding with a display. A concept
//     Haven keeps coded (a condition, an observation) keeps its coding's code
//     and display, the display falling back to the concept's text.
//   - Dates. FHIR date, dateTime and instant are read. A calendar date (onset,
//     start, end, review) is the date part as written, whatever the zone. A
//     point in time (when observed, written, visited) keeps its zone; a date
//     alone is midnight UTC; a time needs a zone (FHIR requires one). A
//     partial date (YYYY or YYYY-MM) is refused where Haven requires the
//     value, and elsewhere left unmapped (the original still holds it).
//   - References to Haven's staff are relative, "Practitioner/<staff id>".
//     The person is the engine's business: it resolves the subject (patient,
//     or the Appointment's Patient participant) and passes its id.
//   - Numbers are kept as sent: a quantity in text ("109.07105000190084
//     mm[Hg]") is the value's JSON text, never rounded.
//
// fromDomain writes the elements Haven maps, the elements FHIR requires that
// Haven does not keep (statuses, CarePlan.intent) and the subject reference.
// Where the record still holds what its original resource said, the
// original's elements are written verbatim (codings, systems, extensions and
// all), so a resource read back is the resource sent; where Haven's value
// changed, or there is no original, Haven's value is written in a plain form
// that toDomain reads back to the same value. mappedElements lists every
// top-level element fromDomain may write for each type: an engine that merges
// fromDomain's output into the stored original should delete those elements
// from the original first, so that a changed choice element (onsetPeriod now
// onsetDateTime) does not leave both.
//
// Per type:
//
//   - Condition ↔ Condition. code: the first SNOMED CT coding, else coding[0];
//     its code is required, its display (else code.text) too. clinicalStatus
//     (condition-clinical: active, recurrence, relapse, inactive, remission,
//     resolved) is Status; when absent, Status is "resolved" if an
//     abatement[x] is present and "active" otherwise. verificationStatus
//     refuted or entered-in-error is refused. onsetDateTime or
//     onsetPeriod.start gives Onset; onsetAge, onsetRange and onsetString are
//     not mapped.
//   - AllergyIntolerance ↔ Allergy. code (text, else display) is Substance.
//     The manifestations of reaction[0], joined by ", ", are Reaction, and
//     reaction[0].severity (mild, moderate, severe) Severity. clinicalStatus
//     inactive or resolved is refused (Haven lists current allergies, which
//     carers act on), as is verificationStatus refuted or entered-in-error.
//     A severity without a reaction is written with a data-absent-reason
//     manifestation.
//   - MedicationStatement ↔ Medication. medicationCodeableConcept (else
//     medicationReference.display) is Name. Dose: dosage[0].doseAndRate[0]
//     doseQuantity ("value unit") or doseRange ("low to high unit"), else
//     dosage[0].text. Frequency: dosage[0].timing.code.text, else the timing's
//     repeat in words ("twice daily", "every 4 to 6 hours at 08:00",
//     "once daily in the morning"), else timing.code's display; as needed
//     adds "when required" (alone when there is no timing), or "when
//     required for <reason>" from asNeededCodeableConcept. Dose and frequency
//     are required. dosage[0].route is Route; effectivePeriod (or
//     effectiveDateTime) gives Start and End. status not-taken or
//     entered-in-error is refused. Written back, a dose "number unit" is a
//     doseQuantity and any other dose dosage.text; a frequency in the words
//     above is a timing.repeat, any other timing.code.text; status is active,
//     or completed once End has passed.
//   - Observation ↔ Observation. code.coding[0] code and display (else
//     code.text). valueQuantity is Value and Unit (unit, else code); any other
//     value is ValueText (Value 0): a concept's words, a string, "Yes"/"No", a
//     quantity with a comparator ("<5 mmol/L"), a range, a ratio, a time. A
//     blood pressure's systolic and diastolic components are "128/82 mmHg";
//     other components are "Label value unit; Label value unit". No value
//     needs dataAbsentReason and reads "No value: <reason>". At is
//     effectiveDateTime, effectiveInstant, effectivePeriod.start or issued.
//     status cancelled or entered-in-error is refused; status is written as
//     "final" when there is no original. Written back, a blood pressure panel
//     (LOINC 85354-9 or 55284-4, SNOMED CT 75367002) whose ValueText is
//     "S/D unit" has LOINC systolic and diastolic components; other text is
//     valueString.
//   - DocumentReference ↔ Note. The first content whose attachment is
//     text/plain (UTF-8) with base64 data is Text; a link (url) or another
//     type is refused. The first author "Practitioner/<id>" is AuthorID.
//     date is At. status or docStatus entered-in-error is refused.
//   - CarePlan ↔ CarePlan. title, else category[0] (words), else description,
//     is Title. goal[] are Goals by their reference's display, or for a
//     contained Goal ("#id") its description; a goal referenced without
//     either (a Goal resource elsewhere) is left in the original and not
//     listed. activity[] are Activities by detail.code (words), else
//     detail.description, else reference.display. period.start is Start
//     (required) and period.end is Review: a plan runs until it is reviewed.
//     status entered-in-error is refused; written back, activities have
//     detail.status "unknown" (Haven does not track them) and the plan is
//     status active, intent plan, when there is no original.
//   - CareTeam ↔ CareTeam. name is Name (required). participant[].member
//     "Practitioner/<staff id>" are StaffIDs; any other member, a member whose
//     participation has ended (period.end) and a repeated member are refused,
//     because membership decides who may open the person's record. For the
//     same reason only status active (or none) is kept. category[0] (text,
//     else display) is Service, which must match the staff's service exactly.
//   - Appointment ↔ Visit (a home visit). status booked, arrived, fulfilled,
//     cancelled and noshow are planned, in-progress, completed, cancelled and
//     missed; other statuses are refused. The one Practitioner participant is
//     StaffID (a second is refused: a double-up call is two visits; a
//     practitioner who declined is refused); Patient participants are the
//     engine's; other actors are left in the original. start and end (both
//     required) are Start and End. serviceType[] (words) are Tasks; the
//     description is not mapped.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/havencare/haven"
)

// mapped describes a FHIR type that Haven maps to one of its own record kinds.
type mapped struct {
	kind haven.Kind
	// toDomain builds the record from the resource: raw is the request body
	// (already checked to be one JSON object with the right resourceType),
	// res is raw decoded with json.Decoder.UseNumber into map[string]any. id
	// is the record id, personID the person (Patient id) the engine resolved
	// from the subject/patient reference. The returned record has its FHIR
	// field set to raw, ID and PersonID set, and passes Validate(); errors
	// are *haven.InvalidError with FHIR paths.
	toDomain func(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error)
	// fromDomain renders the elements Haven maps as top-level FHIR elements
	// (never resourceType, id or meta, which the engine writes), including
	// the subject/patient reference "Patient/<PersonID>".
	fromDomain func(rec haven.Record) map[string]any
}

// mappedTypes are the FHIR types kept as Haven's own records.
var mappedTypes = map[string]mapped{
	"Condition":           {kind: haven.KindCondition, toDomain: conditionToDomain, fromDomain: conditionFromDomain},
	"AllergyIntolerance":  {kind: haven.KindAllergy, toDomain: allergyToDomain, fromDomain: allergyFromDomain},
	"MedicationStatement": {kind: haven.KindMedication, toDomain: medicationToDomain, fromDomain: medicationFromDomain},
	"Observation":         {kind: haven.KindObservation, toDomain: observationToDomain, fromDomain: observationFromDomain},
	"DocumentReference":   {kind: haven.KindNote, toDomain: noteToDomain, fromDomain: noteFromDomain},
	"CarePlan":            {kind: haven.KindCarePlan, toDomain: carePlanToDomain, fromDomain: carePlanFromDomain},
	"CareTeam":            {kind: haven.KindCareTeam, toDomain: careTeamToDomain, fromDomain: careTeamFromDomain},
	"Appointment":         {kind: haven.KindVisit, toDomain: visitToDomain, fromDomain: visitFromDomain},
}

// The choice elements (name[x]) a mapping reads or writes, in every form.
var (
	domOnsetKeys     = []string{"onsetDateTime", "onsetAge", "onsetPeriod", "onsetRange", "onsetString"}
	domAbatementKeys = []string{"abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString", "abatementBoolean"}
	domValueKeys     = []string{"valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger",
		"valueRange", "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"}
	domObsEffectiveKeys = []string{"effectiveDateTime", "effectivePeriod", "effectiveTiming", "effectiveInstant"}
	domMedEffectiveKeys = []string{"effectiveDateTime", "effectivePeriod"}
	domMedicationKeys   = []string{"medicationCodeableConcept", "medicationReference"}
)

// mappedElements lists, for each mapped type, every top-level element
// fromDomain may write: the elements Haven's record supersedes in the
// original resource.
var mappedElements = map[string][]string{
	"Condition":           slices.Concat([]string{"code", "clinicalStatus", "subject"}, domOnsetKeys, domAbatementKeys),
	"AllergyIntolerance":  {"code", "clinicalStatus", "reaction", "patient"},
	"MedicationStatement": slices.Concat([]string{"status", "dosage", "subject"}, domMedicationKeys, domMedEffectiveKeys),
	"Observation":         slices.Concat([]string{"status", "code", "component", "dataAbsentReason", "subject"}, domValueKeys, domObsEffectiveKeys),
	"DocumentReference":   {"status", "content", "author", "date", "subject"},
	"CarePlan":            {"status", "intent", "title", "goal", "activity", "period", "subject"},
	"CareTeam":            {"status", "name", "participant", "category", "subject"},
	"Appointment":         {"status", "start", "end", "participant", "serviceType"},
}

// Code systems and the URLs Haven reads or writes.
const (
	domSNOMED            = "http://snomed.info/sct"
	domLOINC             = "http://loinc.org"
	domConditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	domConditionVerif    = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	domAllergyClinical   = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	domAllergyVerif      = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	domDataAbsentReason  = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
)

// ---------------------------------------------------------------------------
// Condition

var conditionStatuses = []string{"active", "recurrence", "relapse", "inactive", "remission", "resolved"}

func conditionToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "Condition"
	r := newDomReader(T, res, "subject")
	c := &haven.Condition{ID: id, PersonID: personID, FHIR: raw}

	if v := r.statusConcept(res, T, "verificationStatus", domConditionVerif,
		[]string{"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}); v.code == "refuted" || v.code == "entered-in-error" {
		r.fail(v.path, "is %s: Haven keeps the conditions a person has, so a refuted or entered-in-error condition is not kept", v.code)
	}

	code := r.concept(res, T, "code")
	cd := r.codedAs(code, T+".code", "Haven keeps conditions coded (SNOMED CT), with the code and its display", domSNOMED)
	c.Code, c.Display = cd.code, cd.display
	r.where["code"], r.where["display"] = cd.codePath, cd.displayPath

	st := r.statusConcept(res, T, "clinicalStatus", domConditionClinical, conditionStatuses)
	switch {
	case st.code != "":
		c.Status, r.where["status"] = st.code, st.path
	case slices.ContainsFunc(domAbatementKeys, func(k string) bool { _, ok := res[k]; return ok }):
		c.Status = "resolved"
	default:
		c.Status = "active"
	}

	if on := r.when(res, T, "onsetDateTime"); on.ok && !on.partial {
		c.Onset = on.day
	} else if p, pp := r.object(res, T, "onsetPeriod"); p != nil {
		if on := r.when(p, pp, "start"); on.ok && !on.partial {
			c.Onset = on.day
		}
	}
	return r.done(c)
}

func conditionFromDomain(rec haven.Record) map[string]any {
	c := domRecord[*haven.Condition](rec)
	out := map[string]any{
		"code":           domCodedConcept(c.Code, c.Display, domGuessSystem(c.Code, false)),
		"clinicalStatus": domStatusConcept(domConditionClinical, c.Status),
		"subject":        domPatientRef(c.PersonID),
	}
	if !c.Onset.IsZero() {
		out["onsetDateTime"] = c.Onset.String()
	}
	if orig, back, ok := domPrevious(c.FHIR, "Condition", conditionToDomain, c.ID, c.PersonID); ok {
		b := back.(*haven.Condition)
		domKeep(out, orig, b.Code == c.Code && b.Display == c.Display, "code")
		domKeep(out, orig, b.Status == c.Status, slices.Concat([]string{"clinicalStatus"}, domAbatementKeys)...)
		domKeep(out, orig, b.Onset.String() == c.Onset.String(), domOnsetKeys...)
	}
	return out
}

// ---------------------------------------------------------------------------
// AllergyIntolerance

var allergySeverities = []string{"mild", "moderate", "severe"}

func allergyToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "AllergyIntolerance"
	r := newDomReader(T, res, "patient")
	a := &haven.Allergy{ID: id, PersonID: personID, FHIR: raw}

	if v := r.statusConcept(res, T, "verificationStatus", domAllergyVerif,
		[]string{"unconfirmed", "confirmed", "refuted", "entered-in-error"}); v.code == "refuted" || v.code == "entered-in-error" {
		r.fail(v.path, "is %s: Haven keeps the allergies a person has, so a refuted or entered-in-error allergy is not kept", v.code)
	}
	if st := r.statusConcept(res, T, "clinicalStatus", domAllergyClinical, []string{"active", "inactive", "resolved"}); st.code == "inactive" || st.code == "resolved" {
		r.fail(st.path, "is %s: Haven lists a person's current allergies, which carers act on, so an inactive or resolved allergy is not kept", st.code)
	}

	code := r.concept(res, T, "code")
	if !code.present {
		r.fail(T+".code", "is required: the substance the person is allergic or intolerant to")
	}
	a.Substance, r.where["substance"] = code.words()
	if code.present && a.Substance == "" {
		r.fail(T+".code", "needs text or a coding with a display: Haven keeps the substance by name")
	}

	if reactions := r.objects(res, T, "reaction"); len(reactions) > 0 {
		first := reactions[0]
		var words []string
		for _, m := range r.objects(first.m, first.path, "manifestation") {
			if w, p := r.conceptAt(m.m, m.path).words(); w != "" {
				if len(words) == 0 {
					r.where["reaction"] = p
				}
				words = append(words, w)
			}
		}
		a.Reaction = strings.Join(words, ", ")
		a.Severity, r.where["severity"] = r.code(first.m, first.path, "severity", allergySeverities)
	}
	return r.done(a)
}

func allergyFromDomain(rec haven.Record) map[string]any {
	a := domRecord[*haven.Allergy](rec)
	out := map[string]any{
		"code":           map[string]any{"text": a.Substance},
		"clinicalStatus": domStatusConcept(domAllergyClinical, "active"),
		"patient":        domPatientRef(a.PersonID),
	}
	if a.Reaction != "" || a.Severity != "" {
		manifestation := map[string]any{"text": a.Reaction}
		if a.Reaction == "" {
			manifestation = map[string]any{"extension": []any{map[string]any{"url": domDataAbsentReason, "valueCode": "unknown"}}}
		}
		reaction := map[string]any{"manifestation": []any{manifestation}}
		if a.Severity != "" {
			reaction["severity"] = a.Severity
		}
		out["reaction"] = []any{reaction}
	}
	if orig, back, ok := domPrevious(a.FHIR, "AllergyIntolerance", allergyToDomain, a.ID, a.PersonID); ok {
		b := back.(*haven.Allergy)
		domKeep(out, orig, b.Substance == a.Substance, "code")
		domKeep(out, orig, true, "clinicalStatus")
		domKeep(out, orig, b.Reaction == a.Reaction && b.Severity == a.Severity, "reaction")
	}
	return out
}

// ---------------------------------------------------------------------------
// MedicationStatement

var medicationStatuses = []string{"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}

func medicationToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "MedicationStatement"
	r := newDomReader(T, res, "subject")
	m := &haven.Medication{ID: id, PersonID: personID, FHIR: raw}

	if st, p := r.code(res, T, "status", medicationStatuses); st == "not-taken" || st == "entered-in-error" {
		r.fail(p, "is %s: Haven keeps the medicines a person takes, so a statement that it is not taken, or was entered in error, is not kept", st)
	}

	if cc := r.concept(res, T, "medicationCodeableConcept"); cc.present {
		m.Name, r.where["name"] = cc.words()
		if m.Name == "" {
			r.fail(cc.path, "needs text or a coding with a display: Haven keeps the medicine by name")
		}
	} else if ref, rp := r.object(res, T, "medicationReference"); ref != nil {
		m.Name, r.where["name"] = r.str(ref, rp, "display")
		if m.Name == "" {
			r.fail(rp+".display", "is required: Haven keeps the medicine by name and does not read a referenced Medication; send medicationCodeableConcept, or the name as the reference's display")
		}
	} else {
		r.fail(T+".medicationCodeableConcept", "is required: the medicine, by name (text or a coding with a display)")
	}

	dosages := r.objects(res, T, "dosage")
	if len(dosages) == 0 {
		r.fail(T+".dosage", "is required: Haven keeps the dose and how often the medicine is taken (dosage[0].doseAndRate[0].doseQuantity and dosage[0].timing)")
		return r.done(m)
	}
	d := dosages[0]

	// Dose.
	if dr := r.objects(d.m, d.path, "doseAndRate"); len(dr) > 0 {
		if _, ok := dr[0].m["doseQuantity"]; ok {
			q := r.quantity(dr[0].m, dr[0].path, "doseQuantity")
			m.Dose, r.where["dose"] = q.text, q.path
		} else if _, ok := dr[0].m["doseRange"]; ok {
			rg := r.rangeText(dr[0].m, dr[0].path, "doseRange")
			m.Dose, r.where["dose"] = rg, dr[0].path+".doseRange"
		}
	}
	if m.Dose == "" {
		m.Dose, r.where["dose"] = r.str(d.m, d.path, "text")
	}
	if m.Dose == "" {
		r.fail(d.path+".doseAndRate", "a dose is required: send doseAndRate[0].doseQuantity (value and unit), or the dose as dosage[0].text")
	}

	// Frequency.
	var freq, freqPath string
	if t, tp := r.object(d.m, d.path, "timing"); t != nil {
		code := r.concept(t, tp, "code")
		if code.text != "" {
			freq, freqPath = code.text, code.textPath
		}
		if rep, rp := r.object(t, tp, "repeat"); rep != nil && freq == "" {
			freq, freqPath = r.repeatText(rep, rp), rp
		}
		if freq == "" {
			freq, freqPath = code.words()
		}
		if freq == "" {
			r.fail(tp, "says nothing Haven can read as how often: send timing.repeat (frequency, period and periodUnit) or timing.code.text")
		}
	}
	// As needed: "when required", after how often if there is a timing.
	needed, neededPath := "", ""
	if an := r.concept(d.m, d.path, "asNeededCodeableConcept"); an.present {
		needed, neededPath = "when required", an.path
		if w, _ := an.words(); w != "" {
			needed += " for " + w
		}
	} else if b, bp, _ := r.boolean(d.m, d.path, "asNeededBoolean"); b {
		needed, neededPath = "when required", bp
	}
	if needed != "" {
		freq = domJoinNonEmpty(", ", freq, needed)
		if freqPath == "" {
			freqPath = neededPath
		}
	}
	m.Frequency, r.where["frequency"] = freq, freqPath
	if m.Frequency == "" {
		r.fail(d.path+".timing", "is required: how often the medicine is taken (timing.repeat frequency, period and periodUnit, or timing.code.text; asNeededBoolean for when required)")
	}

	if route := r.concept(d.m, d.path, "route"); route.present {
		m.Route, r.where["route"] = route.words()
	}

	if p, pp := r.object(res, T, "effectivePeriod"); p != nil {
		if s := r.when(p, pp, "start"); s.ok && !s.partial {
			m.Start = s.day
		}
		if e := r.when(p, pp, "end"); e.ok && !e.partial {
			m.End, r.where["end"] = e.day, e.path
		}
	} else if s := r.when(res, T, "effectiveDateTime"); s.ok && !s.partial {
		m.Start = s.day
	}
	return r.done(m)
}

func medicationFromDomain(rec haven.Record) map[string]any {
	m := domRecord[*haven.Medication](rec)
	dosage := map[string]any{}
	if q, ok := domDoseQuantity(m.Dose); ok {
		dosage["doseAndRate"] = []any{map[string]any{"doseQuantity": q}}
	} else {
		dosage["text"] = m.Dose
	}
	freq, asNeeded := m.Frequency, false
	if rest, ok := strings.CutSuffix(freq, "when required"); ok && (rest == "" || strings.HasSuffix(rest, ", ")) {
		freq, asNeeded = strings.TrimSuffix(rest, ", "), true
	}
	if freq != "" {
		if rep, ok := domRepeatFor(freq); ok {
			dosage["timing"] = map[string]any{"repeat": rep}
		} else {
			freq, asNeeded = m.Frequency, false
			dosage["timing"] = map[string]any{"code": map[string]any{"text": freq}}
		}
	}
	if asNeeded {
		dosage["asNeededBoolean"] = true
	}
	if m.Route != "" {
		dosage["route"] = map[string]any{"text": m.Route}
	}
	status := "active"
	if !m.End.IsZero() && m.End.Time().Before(haven.DateOf(time.Now()).Time()) {
		status = "completed"
	}
	out := map[string]any{
		"status":                    status,
		"medicationCodeableConcept": map[string]any{"text": m.Name},
		"dosage":                    []any{dosage},
		"subject":                   domPatientRef(m.PersonID),
	}
	if period := domPeriod(m.Start, m.End); period != nil {
		out["effectivePeriod"] = period
	}
	if orig, back, ok := domPrevious(m.FHIR, "MedicationStatement", medicationToDomain, m.ID, m.PersonID); ok {
		b := back.(*haven.Medication)
		domKeep(out, orig, b.Name == m.Name, domMedicationKeys...)
		domKeep(out, orig, b.Dose == m.Dose && b.Frequency == m.Frequency && b.Route == m.Route, "dosage")
		domKeep(out, orig, b.Start.String() == m.Start.String() && b.End.String() == m.End.String(), domMedEffectiveKeys...)
		domKeep(out, orig, b.End.String() == m.End.String(), "status")
	}
	return out
}

// domDoseQuantity writes a dose "number unit" (or a bare number) as a FHIR
// SimpleQuantity; the number keeps its text.
func domDoseQuantity(dose string) (map[string]any, bool) {
	num, unit, _ := strings.Cut(dose, " ")
	if !domNumberText.MatchString(num) || unit != strings.TrimSpace(unit) {
		return nil, false
	}
	q := map[string]any{"value": json.Number(num)}
	if unit != "" {
		q["unit"] = unit
	}
	return q, true
}

// domNumberText is a JSON number Haven writes from text: no sign, exponent
// or leading zeros.
var domNumberText = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// Timing in words.
var (
	domPeriodUnits = map[string]string{"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}
	domPerUnit     = map[string]string{"s": "a second", "min": "a minute", "h": "an hour", "d": "daily", "wk": "weekly", "mo": "monthly", "a": "a year"}
	domWeekdays    = map[string]string{"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
	// domEvents are the EventTiming codes of timing.repeat.when in words.
	domEvents = map[string]string{
		"MORN": "in the morning", "MORN.early": "early in the morning", "MORN.late": "late in the morning",
		"NOON": "at noon", "AFT": "in the afternoon", "AFT.early": "early in the afternoon", "AFT.late": "late in the afternoon",
		"EVE": "in the evening", "EVE.early": "early in the evening", "EVE.late": "late in the evening",
		"NIGHT": "at night", "PHS": "after sleep", "HS": "at bedtime", "WAKE": "on waking",
		"C": "with meals", "CM": "with breakfast", "CD": "with lunch", "CV": "with the evening meal",
		"AC": "before meals", "ACM": "before breakfast", "ACD": "before lunch", "ACV": "before the evening meal",
		"PC": "after meals", "PCM": "after breakfast", "PCD": "after lunch", "PCV": "after the evening meal",
	}
)

// repeatText reads a Timing.repeat as words: "twice daily", "every 4 to 6
// hours", "once daily at 08:00", "once weekly on Monday". Parts it cannot
// phrase (bounds, counts, offsets) stay in the original.
func (r *domReader) repeatText(rep map[string]any, path string) string {
	freq, _, hasFreq := r.number(rep, path, "frequency")
	freqMax, _, hasFreqMax := r.number(rep, path, "frequencyMax")
	period, _, hasPeriod := r.number(rep, path, "period")
	periodMax, _, hasPeriodMax := r.number(rep, path, "periodMax")
	unit, up := r.code(rep, path, "periodUnit", []string{"s", "min", "h", "d", "wk", "mo", "a"})
	var parts []string
	if hasPeriod && unit != "" {
		f := "1"
		if hasFreq {
			f = freq.text
		}
		fmax := ""
		if hasFreqMax {
			fmax = freqMax.text
		}
		pmax := ""
		if hasPeriodMax {
			pmax = periodMax.text
		}
		parts = append(parts, domTimingPhrase(f, fmax, period.text, pmax, unit))
	} else if hasPeriod != (unit != "") {
		r.fail(up, "period and periodUnit go together: Haven reads how often from frequency, period and periodUnit")
	}
	if days, _ := r.strs(rep, path, "dayOfWeek"); len(days) > 0 {
		var names []string
		for _, d := range days {
			names = append(names, domWeekdays[d])
		}
		if !slices.Contains(names, "") {
			parts = append(parts, "on "+domAnd(names))
		}
	}
	if times, _ := r.strs(rep, path, "timeOfDay"); len(times) > 0 {
		for i, t := range times {
			times[i] = strings.TrimSuffix(t, ":00")
		}
		parts = append(parts, "at "+domAnd(times))
	}
	if when, _ := r.strs(rep, path, "when"); len(when) > 0 {
		var words []string
		for _, w := range when {
			if e, ok := domEvents[w]; ok {
				words = append(words, e)
			}
		}
		if len(words) > 0 {
			parts = append(parts, domAnd(words))
		}
	}
	return strings.Join(parts, " ")
}

// domTimingPhrase phrases frequency (at most freqMax) times per period (to
// periodMax) units, numbers given as their JSON text.
func domTimingPhrase(freq, freqMax, period, periodMax, unit string) string {
	times := map[string]string{"1": "once", "2": "twice"}[freq]
	if times == "" {
		times = freq + " times"
	}
	if freqMax != "" {
		times = freq + " to " + freqMax + " times"
	}
	once := freq == "1" && freqMax == ""
	if period == "1" && periodMax == "" {
		if once && (unit == "h" || unit == "min" || unit == "s") {
			return "every " + domPeriodUnits[unit]
		}
		return times + " " + domPerUnit[unit]
	}
	every := "every " + period
	if periodMax != "" {
		every += " to " + periodMax
	}
	every += " " + domPeriodUnits[unit] + "s"
	if once {
		return every
	}
	return times + " " + every
}

// domRepeatFor is domTimingPhrase backwards, for the plain phrases: the
// Timing.repeat that reads as freq, if there is one.
func domRepeatFor(freq string) (map[string]any, bool) {
	for _, unit := range []string{"d", "wk", "mo", "a", "h", "min"} {
		for f := 1; f <= 24; f++ {
			for p := 1; p <= 24; p++ {
				if domTimingPhrase(strconv.Itoa(f), "", strconv.Itoa(p), "", unit) == freq {
					return map[string]any{"frequency": f, "period": p, "periodUnit": unit}, true
				}
			}
		}
	}
	return nil, false
}

// ---------------------------------------------------------------------------
// Observation

var (
	observationStatuses = []string{"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
	// Blood pressure: the panels Haven writes as systolic/diastolic
	// components, and the component codes it reads as such.
	domBPPanels    = []string{"85354-9", "55284-4", "75367002"}
	domSystolic    = []string{"8480-6", "271649006"}
	domDiastolic   = []string{"8462-4", "271650006"}
	domBPText      = regexp.MustCompile(`^((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)/((?:0|[1-9][0-9]*)(?:\.[0-9]+)?) (\S.*)$`)
	domNoValueText = "No value: "
)

func observationToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "Observation"
	r := newDomReader(T, res, "subject")
	o := &haven.Observation{ID: id, PersonID: personID, FHIR: raw}

	if st, p := r.code(res, T, "status", observationStatuses); st == "cancelled" || st == "entered-in-error" {
		r.fail(p, "is %s: Haven keeps observations that were made, so a cancelled or entered-in-error observation is not kept", st)
	}

	code := r.concept(res, T, "code")
	cd := r.codedAs(code, T+".code", "Haven keeps observations coded (LOINC or SNOMED CT), with the code and its display")
	o.Code, o.Display = cd.code, cd.display
	r.where["code"], r.where["display"] = cd.codePath, cd.displayPath

	v := r.valueX(res, T)
	var comps []string
	components := r.objects(res, T, "component")
	if bp, ok := r.bloodPressure(components); ok && !v.present {
		comps = []string{bp}
	} else {
		for _, c := range components {
			label := domLabel(r.concept(c.m, c.path, "code"))
			if cv := r.valueX(c.m, c.path); cv.present {
				comps = append(comps, domJoinNonEmpty(" ", label, cv.text))
			} else {
				comps = append(comps, domJoinNonEmpty(" ", label, "(no value)"))
			}
		}
	}
	switch {
	case v.present && v.number && len(comps) == 0:
		o.Value, o.Unit = v.f, v.unit
		r.where["unit"] = v.unitPath
	case v.present:
		o.ValueText = strings.Join(append([]string{v.text}, comps...), "; ")
	case len(comps) > 0:
		o.ValueText = strings.Join(comps, "; ")
	default:
		dar := r.concept(res, T, "dataAbsentReason")
		if !dar.present {
			r.fail(T+".value[x]", "is required: Haven keeps an observation's value (value[x] or component), or dataAbsentReason to say why there is none")
			break
		}
		why, _ := dar.words()
		if why == "" && len(dar.codings) > 0 {
			why = dar.codings[0].code
		}
		o.ValueText = domNoValueText + why
	}

	at := r.when(res, T, "effectiveDateTime")
	if !at.present {
		at = r.when(res, T, "effectiveInstant")
	}
	if p, pp := r.object(res, T, "effectivePeriod"); !at.present && p != nil {
		at = r.when(p, pp, "start")
	}
	if !at.present {
		at = r.when(res, T, "issued")
	}
	switch {
	case !at.present:
		r.fail(T+".effectiveDateTime", "is required: when the observation was made (effectiveDateTime, effectiveInstant, effectivePeriod.start or issued)")
	case at.partial:
		r.fail(at.path, "needs at least a full date (YYYY-MM-DD): Haven keeps when an observation was made")
	}
	o.At, r.where["at"] = at.t, at.path
	return r.done(o)
}

// bloodPressure reads systolic and diastolic components, and nothing else,
// as "128/82 mmHg".
func (r *domReader) bloodPressure(components []domElem) (string, bool) {
	if len(components) != 2 {
		return "", false
	}
	var sys, dia *domValue
	for _, c := range components {
		code := r.concept(c.m, c.path, "code")
		v := r.valueX(c.m, c.path)
		switch {
		case !v.number || !v.quantity:
		case code.has(domSystolic):
			sys = &v
		case code.has(domDiastolic):
			dia = &v
		}
	}
	if sys == nil || dia == nil || sys.unit != dia.unit {
		return "", false
	}
	return domJoinNonEmpty(" ", sys.num+"/"+dia.num, sys.unit), true
}

func observationFromDomain(rec haven.Record) map[string]any {
	o := domRecord[*haven.Observation](rec)
	out := map[string]any{
		"status":            "final",
		"code":              domCodedConcept(o.Code, o.Display, domGuessSystem(o.Code, true)),
		"effectiveDateTime": o.At.Format(time.RFC3339Nano),
		"subject":           domPatientRef(o.PersonID),
	}
	bp := domBPText.FindStringSubmatch(o.ValueText)
	switch why, noValue := strings.CutPrefix(o.ValueText, domNoValueText); {
	case o.ValueText == "":
		q := map[string]any{"value": o.Value}
		if o.Unit != "" {
			q["unit"] = o.Unit
		}
		out["valueQuantity"] = q
	case bp != nil && slices.Contains(domBPPanels, o.Code):
		component := func(code, display, value string) map[string]any {
			return map[string]any{
				"code":          domCodedConcept(code, display, domLOINC),
				"valueQuantity": map[string]any{"value": json.Number(value), "unit": bp[3]},
			}
		}
		out["component"] = []any{
			component(domSystolic[0], "Systolic blood pressure", bp[1]),
			component(domDiastolic[0], "Diastolic blood pressure", bp[2]),
		}
	case noValue && o.Value == 0 && why != "":
		out["dataAbsentReason"] = map[string]any{"text": why}
	default:
		out["valueString"] = o.ValueText
	}
	if orig, back, ok := domPrevious(o.FHIR, "Observation", observationToDomain, o.ID, o.PersonID); ok {
		b := back.(*haven.Observation)
		domKeep(out, orig, true, "status")
		domKeep(out, orig, b.Code == o.Code && b.Display == o.Display, "code")
		domKeep(out, orig, b.Value == o.Value && b.Unit == o.Unit && b.ValueText == o.ValueText,
			slices.Concat(domValueKeys, []string{"component", "dataAbsentReason"})...)
		domKeep(out, orig, b.At.Equal(o.At) && b.At.Format(time.RFC3339) == o.At.Format(time.RFC3339), domObsEffectiveKeys...)
	}
	return out
}

// ---------------------------------------------------------------------------
// DocumentReference

func noteToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "DocumentReference"
	r := newDomReader(T, res, "subject")
	n := &haven.Note{ID: id, PersonID: personID, FHIR: raw}

	if st, p := r.code(res, T, "status", []string{"current", "superseded", "entered-in-error"}); st == "entered-in-error" {
		r.fail(p, "is entered-in-error: Haven does not keep a note that was written in error")
	}
	if st, p := r.code(res, T, "docStatus", []string{"preliminary", "final", "amended", "entered-in-error"}); st == "entered-in-error" {
		r.fail(p, "is entered-in-error: Haven does not keep a note that was written in error")
	}

	contents := r.objects(res, T, "content")
	if len(contents) == 0 && r.err == nil {
		r.fail(T+".content", "is required: the note's text, as a text/plain attachment with base64 data")
	}
	var att map[string]any
	var attPath, firstType string
	for i, c := range contents {
		a, ap := r.object(c.m, c.path, "attachment")
		if a == nil {
			r.fail(ap, "is required")
			break
		}
		ct, _ := r.str(a, ap, "contentType")
		if i == 0 {
			firstType = ct
		}
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "text/plain" {
			att, attPath = a, ap
			break
		}
	}
	if first := T + ".content[0].attachment.contentType"; att == nil && len(contents) > 0 {
		if firstType == "" {
			r.fail(first, "is required: Haven keeps a note as text, text/plain with the text base64 in attachment.data")
		} else {
			r.fail(first, "is %s: Haven keeps a note as text; send it as text/plain, the text base64 in attachment.data", quoteShort(firstType))
		}
	}
	if att != nil {
		ct, ctPath := r.str(att, attPath, "contentType")
		if _, params, _ := mime.ParseMediaType(ct); params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") && !strings.EqualFold(params["charset"], "us-ascii") {
			r.fail(ctPath, "has charset %s: Haven keeps notes as UTF-8 text", quoteShort(params["charset"]))
		}
		data, dp := r.str(att, attPath, "data")
		if _, hasURL := att["url"]; data == "" && hasURL {
			r.fail(attPath+".url", "is a link: Haven keeps the note's text itself; send it base64 in attachment.data")
		} else if data == "" {
			r.fail(dp, "is required: the note's text, base64")
		}
		if data != "" {
			text, err := base64.StdEncoding.DecodeString(data)
			switch {
			case err != nil:
				r.fail(dp, "is not base64 (RFC 4648 with padding)")
			case !utf8.Valid(text):
				r.fail(dp, "is not UTF-8 text once decoded")
			}
			n.Text, r.where["text"] = string(text), dp
		}
	}

	authors := r.objects(res, T, "author")
	for _, a := range authors {
		ref, rp := r.str(a.m, a.path, "reference")
		if typ, rid, ok := domSplitRef(ref); ok && typ == "Practitioner" {
			n.AuthorID, r.where["authorId"] = rid, rp
			break
		}
	}
	if n.AuthorID == "" {
		r.fail(T+".author", "a Practitioner author is required: the member of staff who wrote the note, as the reference Practitioner/<staff id>")
	}

	at := r.when(res, T, "date")
	switch {
	case !at.present:
		r.fail(T+".date", "is required: when the note was written")
	case at.partial:
		r.fail(at.path, "needs a full date and time: when the note was written")
	}
	n.At, r.where["at"] = at.t, at.path
	return r.done(n)
}

func noteFromDomain(rec haven.Record) map[string]any {
	n := domRecord[*haven.Note](rec)
	out := map[string]any{
		"status": "current",
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": "text/plain; charset=utf-8",
			"data":        base64.StdEncoding.EncodeToString([]byte(n.Text)),
		}}},
		"author":  []any{map[string]any{"reference": "Practitioner/" + n.AuthorID}},
		"date":    n.At.Format(time.RFC3339Nano),
		"subject": domPatientRef(n.PersonID),
	}
	if orig, back, ok := domPrevious(n.FHIR, "DocumentReference", noteToDomain, n.ID, n.PersonID); ok {
		b := back.(*haven.Note)
		domKeep(out, orig, true, "status")
		domKeep(out, orig, b.Text == n.Text, "content")
		domKeep(out, orig, b.AuthorID == n.AuthorID, "author")
		domKeep(out, orig, b.At.Equal(n.At) && b.At.Format(time.RFC3339) == n.At.Format(time.RFC3339), "date")
	}
	return out
}

// ---------------------------------------------------------------------------
// CarePlan

func carePlanToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "CarePlan"
	r := newDomReader(T, res, "subject")
	p := &haven.CarePlan{ID: id, PersonID: personID, FHIR: raw}

	if st, sp := r.code(res, T, "status", []string{"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}); st == "entered-in-error" {
		r.fail(sp, "is entered-in-error: Haven does not keep a care plan that was written in error")
	}

	p.Title, r.where["title"] = r.str(res, T, "title")
	if cats := r.objects(res, T, "category"); p.Title == "" && len(cats) > 0 {
		p.Title, r.where["title"] = r.conceptAt(cats[0].m, cats[0].path).words()
	}
	if p.Title == "" {
		p.Title, r.where["title"] = r.str(res, T, "description")
	}
	if p.Title == "" {
		r.fail(T+".title", "is required: Haven names a care plan by its title (or, without one, its first category or its description)")
	}

	contained := r.objects(res, T, "contained")
	p.Goals = []string{}
	goals := r.objects(res, T, "goal")
	r.where["goals"] = T + ".goal"
	for _, g := range goals {
		if text, tp := r.goalText(g, contained); text != "" {
			r.where[fmt.Sprintf("goals[%d]", len(p.Goals))] = tp
			p.Goals = append(p.Goals, text)
		}
	}

	p.Activities = []string{}
	r.where["activities"] = T + ".activity"
	for _, a := range r.objects(res, T, "activity") {
		var text, tp string
		if d, dp := r.object(a.m, a.path, "detail"); d != nil {
			text, tp = r.concept(d, dp, "code").words()
			if text == "" {
				text, tp = r.str(d, dp, "description")
			}
		}
		if ref, rp := r.object(a.m, a.path, "reference"); text == "" && ref != nil {
			text, tp = r.str(ref, rp, "display")
		}
		if text != "" {
			r.where[fmt.Sprintf("activities[%d]", len(p.Activities))] = tp
			p.Activities = append(p.Activities, text)
		}
	}

	period, pp := r.object(res, T, "period")
	start := r.when(period, pp, "start")
	switch {
	case period == nil || !start.present:
		r.fail(T+".period.start", "is required: when the care plan began")
	case start.partial:
		r.fail(start.path, "needs a full date (YYYY-MM-DD): when the care plan began")
	}
	p.Start, r.where["start"] = start.day, start.path
	if end := r.when(period, pp, "end"); end.ok && !end.partial {
		if start.ok && end.t.Before(start.t) {
			r.fail(end.path, "is before period.start")
		}
		p.Review = end.day
	}
	return r.done(p)
}

// goalText reads a CarePlan goal: its display, else the description of the
// contained Goal it refers to ("#id"); "" for a Goal elsewhere.
func (r *domReader) goalText(g domElem, contained []domElem) (string, string) {
	text, tp := r.str(g.m, g.path, "display")
	if ref, _ := r.str(g.m, g.path, "reference"); text == "" && strings.HasPrefix(ref, "#") {
		for _, c := range contained {
			if c.m["resourceType"] == "Goal" && c.m["id"] == ref[1:] {
				text, tp = r.concept(c.m, c.path, "description").words()
			}
		}
	}
	return text, tp
}

func carePlanFromDomain(rec haven.Record) map[string]any {
	p := domRecord[*haven.CarePlan](rec)
	out := map[string]any{
		"status":  "active",
		"intent":  "plan",
		"title":   p.Title,
		"period":  domPeriod(p.Start, p.Review),
		"subject": domPatientRef(p.PersonID),
	}
	if len(p.Goals) > 0 {
		goals := make([]any, len(p.Goals))
		for i, g := range p.Goals {
			goals[i] = map[string]any{"display": g}
		}
		out["goal"] = goals
	}
	if len(p.Activities) > 0 {
		acts := make([]any, len(p.Activities))
		for i, a := range p.Activities {
			acts[i] = map[string]any{"detail": map[string]any{"status": "unknown", "description": a}}
		}
		out["activity"] = acts
	}
	if orig, back, ok := domPrevious(p.FHIR, "CarePlan", carePlanToDomain, p.ID, p.PersonID); ok {
		b := back.(*haven.CarePlan)
		domKeep(out, orig, true, "status")
		domKeep(out, orig, true, "intent")
		domKeep(out, orig, b.Title == p.Title, "title")
		domKeep(out, orig, slices.Equal(b.Goals, p.Goals), "goal")
		if slices.Equal(b.Goals, p.Goals) {
			// The original's goals, now out's: those that name a contained
			// Goal carry its description as their display, so they say the
			// goal without the contained resource.
			r := newDomReader("CarePlan", orig, "subject")
			contained := r.objects(orig, "CarePlan", "contained")
			for _, g := range r.objects(orig, "CarePlan", "goal") {
				if _, named := g.m["display"]; !named {
					if text, _ := r.goalText(g, contained); text != "" {
						g.m["display"] = text
					}
				}
			}
		}
		domKeep(out, orig, slices.Equal(b.Activities, p.Activities), "activity")
		domKeep(out, orig, b.Start.String() == p.Start.String() && b.Review.String() == p.Review.String(), "period")
	}
	return out
}

// ---------------------------------------------------------------------------
// CareTeam

func careTeamToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "CareTeam"
	r := newDomReader(T, res, "subject")
	ct := &haven.CareTeam{ID: id, PersonID: personID, FHIR: raw}

	if st, sp := r.code(res, T, "status", []string{"proposed", "active", "suspended", "inactive", "entered-in-error"}); st != "" && st != "active" {
		r.fail(sp, "is %s: Haven keeps care teams that are active, because membership is what lets staff open the person's record", st)
	}

	ct.Name, r.where["name"] = r.str(res, T, "name")
	if ct.Name == "" {
		r.fail(T+".name", "is required: Haven names every care team")
	}

	ct.StaffIDs = []string{}
	r.where["staffIds"] = T + ".participant"
	for _, p := range r.objects(res, T, "participant") {
		member, mp := r.object(p.m, p.path, "member")
		if member == nil {
			r.fail(p.path+".member", "is required: the member of staff, as the reference Practitioner/<staff id>")
			break
		}
		ref, rp := r.str(member, mp, "reference")
		typ, sid, ok := domSplitRef(ref)
		if !ok || typ != "Practitioner" {
			r.fail(rp, "must be Practitioner/<staff id>: Haven's care teams are its own staff, and membership decides who may open the person's record; other members (patients, relatives, organisations, teams) are not kept")
			break
		}
		if period, pp := r.object(p.m, p.path, "period"); period != nil {
			if _, ended := period["end"]; ended {
				r.fail(pp+".end", "is set: Haven keeps current members only, because membership lets staff open the person's record; remove a member who has left")
				break
			}
		}
		if slices.Contains(ct.StaffIDs, sid) {
			r.fail(rp, "names %s a second time; list each member once", quoteShort(ref))
			break
		}
		r.where[fmt.Sprintf("staffIds[%d]", len(ct.StaffIDs))] = rp
		ct.StaffIDs = append(ct.StaffIDs, sid)
	}

	if cats := r.objects(res, T, "category"); len(cats) > 0 {
		ct.Service, r.where["service"] = r.conceptAt(cats[0].m, cats[0].path).words()
	}
	return r.done(ct)
}

func careTeamFromDomain(rec haven.Record) map[string]any {
	ct := domRecord[*haven.CareTeam](rec)
	out := map[string]any{
		"status":  "active",
		"name":    ct.Name,
		"subject": domPatientRef(ct.PersonID),
	}
	if len(ct.StaffIDs) > 0 {
		members := make([]any, len(ct.StaffIDs))
		for i, s := range ct.StaffIDs {
			members[i] = map[string]any{"member": map[string]any{"reference": "Practitioner/" + s}}
		}
		out["participant"] = members
	}
	if ct.Service != "" {
		out["category"] = []any{map[string]any{"text": ct.Service}}
	}
	if orig, back, ok := domPrevious(ct.FHIR, "CareTeam", careTeamToDomain, ct.ID, ct.PersonID); ok {
		b := back.(*haven.CareTeam)
		domKeep(out, orig, true, "status")
		domKeep(out, orig, b.Name == ct.Name, "name")
		domKeep(out, orig, slices.Equal(b.StaffIDs, ct.StaffIDs), "participant")
		domKeep(out, orig, b.Service == ct.Service, "category")
	}
	return out
}

// ---------------------------------------------------------------------------
// Appointment

// visitStatuses maps Appointment.status to Visit.Status; the other
// Appointment statuses are refused.
var visitStatuses = map[string]string{
	"booked": "planned", "arrived": "in-progress", "fulfilled": "completed", "cancelled": "cancelled", "noshow": "missed",
}

func visitToDomain(raw json.RawMessage, res map[string]any, id, personID string) (haven.Record, error) {
	const T = "Appointment"
	r := newDomReader(T, res, "participant")
	v := &haven.Visit{ID: id, PersonID: personID, FHIR: raw}

	st, sp := r.code(res, T, "status", []string{"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist"})
	v.Status, r.where["status"] = visitStatuses[st], sp
	switch {
	case st == "":
		r.fail(sp, "is required: booked, arrived, fulfilled, cancelled or noshow")
	case v.Status == "":
		r.fail(sp, "is %s: Haven keeps home visits that are booked, arrived, fulfilled, cancelled or noshow (planned, in progress, completed, cancelled or missed)", st)
	}

	for _, p := range r.objects(res, T, "participant") {
		actor, ap := r.object(p.m, p.path, "actor")
		if actor == nil {
			continue
		}
		ref, rp := r.str(actor, ap, "reference")
		typ, sid, ok := domSplitRef(ref)
		if !ok || typ != "Practitioner" {
			continue
		}
		if v.StaffID != "" {
			r.fail(rp, "is a second Practitioner: Haven keeps one member of staff per visit (a double-up call is two visits)")
			break
		}
		if ps, pp := r.str(p.m, p.path, "status"); ps == "declined" {
			r.fail(pp, "is declined: Haven keeps the member of staff who makes the visit")
			break
		}
		v.StaffID, r.where["staffId"] = sid, rp
	}
	if v.StaffID == "" {
		r.fail(T+".participant", "a Practitioner participant is required: the member of staff who visits, as the actor reference Practitioner/<staff id>")
	}

	start, end := r.when(res, T, "start"), r.when(res, T, "end")
	for _, w := range []domStamp{start, end} {
		switch {
		case !w.present:
			r.fail(w.path, "is required: when the visit starts and ends")
		case w.partial:
			r.fail(w.path, "needs a full date and time")
		}
	}
	v.Start, v.End = start.t, end.t
	r.where["start"], r.where["end"] = start.path, end.path

	r.where["tasks"] = T + ".serviceType"
	for _, s := range r.objects(res, T, "serviceType") {
		if w, wp := r.conceptAt(s.m, s.path).words(); w != "" {
			r.where[fmt.Sprintf("tasks[%d]", len(v.Tasks))] = wp
			v.Tasks = append(v.Tasks, w)
		}
	}
	return r.done(v)
}

// visitStatusOut is visitStatuses backwards.
var visitStatusOut = map[string]string{
	"planned": "booked", "in-progress": "arrived", "completed": "fulfilled", "cancelled": "cancelled", "missed": "noshow",
}

func visitFromDomain(rec haven.Record) map[string]any {
	v := domRecord[*haven.Visit](rec)
	out := map[string]any{
		"status": visitStatusOut[v.Status],
		"start":  v.Start.Format(time.RFC3339Nano),
		"end":    v.End.Format(time.RFC3339Nano),
		"participant": []any{
			map[string]any{"actor": domPatientRef(v.PersonID), "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": "Practitioner/" + v.StaffID}, "status": "accepted"},
		},
	}
	if len(v.Tasks) > 0 {
		tasks := make([]any, len(v.Tasks))
		for i, t := range v.Tasks {
			tasks[i] = map[string]any{"text": t}
		}
		out["serviceType"] = tasks
	}
	if orig, back, ok := domPrevious(v.FHIR, "Appointment", visitToDomain, v.ID, v.PersonID); ok {
		b := back.(*haven.Visit)
		domKeep(out, orig, b.Status == v.Status, "status")
		same := func(a, b time.Time) bool { return a.Equal(b) && a.Format(time.RFC3339) == b.Format(time.RFC3339) }
		domKeep(out, orig, same(b.Start, v.Start) && same(b.End, v.End), "start", "end")
		domKeep(out, orig, slices.Equal(b.Tasks, v.Tasks), "serviceType")
		if b.StaffID == v.StaffID {
			// The original's participants, with the person referred to as
			// Haven knows them (the original may say urn:uuid:...).
			if ps, ok := orig["participant"].([]any); ok {
				person := false
				for _, p := range ps {
					p, _ := p.(map[string]any)
					actor, _ := p["actor"].(map[string]any)
					if ref, _ := actor["reference"].(string); strings.HasPrefix(ref, "Patient/") {
						actor["reference"], person = "Patient/"+v.PersonID, true
					}
				}
				if !person {
					ps = append([]any{out["participant"].([]any)[0]}, ps...)
				}
				out["participant"] = ps
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Reading resources

// domReader reads a decoded FHIR resource, noting the first problem with
// the FHIR path of the element; once there is one, reads return zero values,
// so a mapping reads as a list of elements and checks at the end.
type domReader struct {
	typ   string
	err   error
	where map[string]string // a Haven field → the FHIR path it was read from
}

func newDomReader(typ string, res map[string]any, subject string) *domReader {
	r := &domReader{typ: typ, where: map[string]string{"id": typ + ".id", "personId": typ + "." + subject}}
	if _, ok := res["implicitRules"]; ok {
		r.fail(typ+".implicitRules", "is set: Haven cannot apply a resource's implicit rules, which may change what it means, so the resource is refused")
	}
	if p := domModifierPath(res, typ); p != "" {
		r.fail(p, "modifier extensions may change what a resource means and Haven cannot read them, so the resource is refused rather than kept as if they were absent")
	}
	return r
}

func (r *domReader) fail(path, format string, args ...any) {
	if r.err == nil {
		r.err = haven.Invalid(path, format, args...)
	}
}

// done validates rec, naming in any error the FHIR path its field was read
// from (the resource type when there is no single one), and checks that the
// record, the original resource inside it, fits Haven's limit.
func (r *domReader) done(rec haven.Record) (haven.Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := rec.Validate(); err != nil {
		var inv *haven.InvalidError
		if !errors.As(err, &inv) {
			return nil, haven.Invalid(r.typ, "%v", err)
		}
		path, ok := r.where[inv.Field]
		if !ok || path == "" {
			path = r.typ
		}
		return nil, &haven.InvalidError{Field: path, Reason: inv.Reason}
	}
	if b, err := json.Marshal(rec); err != nil {
		return nil, haven.Invalid(r.typ, "cannot be kept: %v", err)
	} else if len(b) > haven.MaxRecordBytes {
		return nil, haven.Invalid(r.typ, "is %d bytes once kept as a Haven record (the resource itself is kept inside it); the limit is %d", len(b), haven.MaxRecordBytes)
	}
	return rec, nil
}

// value returns m[key] and its path.
func (r *domReader) value(m map[string]any, path, key string) (any, string, bool) {
	p := path + "." + key
	if r.err != nil || m == nil {
		return nil, p, false
	}
	v, ok := m[key]
	return v, p, ok
}

// object reads an object element; nil when absent.
func (r *domReader) object(m map[string]any, path, key string) (map[string]any, string) {
	v, p, ok := r.value(m, path, key)
	if !ok {
		return nil, p
	}
	o, isObj := v.(map[string]any)
	if !isObj {
		r.fail(p, "must be an object; found %s", domKindOf(v))
	}
	return o, p
}

// domElem is one object of an array element, with its path.
type domElem struct {
	m    map[string]any
	path string
}

// objects reads an array element of objects.
func (r *domReader) objects(m map[string]any, path, key string) []domElem {
	v, p, ok := r.value(m, path, key)
	if !ok {
		return nil
	}
	a, isArr := v.([]any)
	if !isArr {
		r.fail(p, "must be an array; found %s", domKindOf(v))
		return nil
	}
	out := make([]domElem, 0, len(a))
	for i, x := range a {
		ep := fmt.Sprintf("%s[%d]", p, i)
		o, isObj := x.(map[string]any)
		if !isObj {
			r.fail(ep, "must be an object; found %s", domKindOf(x))
			return nil
		}
		out = append(out, domElem{o, ep})
	}
	return out
}

// str reads a string element; "" when absent.
func (r *domReader) str(m map[string]any, path, key string) (string, string) {
	v, p, ok := r.value(m, path, key)
	if !ok {
		return "", p
	}
	s, isStr := v.(string)
	switch {
	case !isStr:
		r.fail(p, "must be a string; found %s", domKindOf(v))
	case s == "":
		r.fail(p, "must not be empty (a FHIR string has at least one character; leave the element out)")
	}
	return s, p
}

// strs reads an array of strings.
func (r *domReader) strs(m map[string]any, path, key string) ([]string, string) {
	v, p, ok := r.value(m, path, key)
	if !ok {
		return nil, p
	}
	a, isArr := v.([]any)
	if !isArr {
		r.fail(p, "must be an array; found %s", domKindOf(v))
		return nil, p
	}
	out := make([]string, 0, len(a))
	for i, x := range a {
		s, isStr := x.(string)
		if !isStr || s == "" {
			r.fail(fmt.Sprintf("%s[%d]", p, i), "must be a non-empty string; found %s", domKindOf(x))
			return nil, p
		}
		out = append(out, s)
	}
	return out, p
}

// code reads a code element and checks it against its value set.
func (r *domReader) code(m map[string]any, path, key string, allowed []string) (string, string) {
	s, p := r.str(m, path, key)
	if s != "" && !slices.Contains(allowed, s) {
		r.fail(p, "must be one of %s; found %s", strings.Join(allowed, ", "), quoteShort(s))
		return "", p
	}
	return s, p
}

// domNumber is a JSON number: its text as sent and its value.
type domNumber struct {
	text string
	f    float64
}

// number reads a number element.
func (r *domReader) number(m map[string]any, path, key string) (domNumber, string, bool) {
	v, p, ok := r.value(m, path, key)
	if !ok {
		return domNumber{}, p, false
	}
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			r.fail(p, "is %s, a number Haven cannot keep", quoteShort(n.String()))
			return domNumber{}, p, false
		}
		return domNumber{n.String(), f}, p, true
	case float64:
		return domNumber{strconv.FormatFloat(n, 'f', -1, 64), n}, p, true
	}
	r.fail(p, "must be a number; found %s", domKindOf(v))
	return domNumber{}, p, false
}

// boolean reads a boolean element.
func (r *domReader) boolean(m map[string]any, path, key string) (bool, string, bool) {
	v, p, ok := r.value(m, path, key)
	if !ok {
		return false, p, false
	}
	b, isBool := v.(bool)
	if !isBool {
		r.fail(p, "must be true or false; found %s", domKindOf(v))
	}
	return b, p, isBool
}

// domCoding is one Coding, with its path.
type domCoding struct{ system, code, display, path string }

// domConcept is a CodeableConcept.
type domConcept struct {
	present  bool
	path     string
	text     string
	textPath string
	codings  []domCoding
}

// words is a concept as Haven keeps it in words: its text, else the display
// of its first coding that has one; and the path it came from.
func (c domConcept) words() (string, string) {
	if c.text != "" {
		return c.text, c.textPath
	}
	for _, cd := range c.codings {
		if cd.display != "" {
			return cd.display, cd.path + ".display"
		}
	}
	return "", c.path
}

// has reports whether a coding of c has one of codes.
func (c domConcept) has(codes []string) bool {
	return slices.ContainsFunc(c.codings, func(cd domCoding) bool { return slices.Contains(codes, cd.code) })
}

// domLabel names a component: its coding's display, else text, else code.
func domLabel(c domConcept) string {
	for _, cd := range c.codings {
		if cd.display != "" {
			return cd.display
		}
	}
	if c.text != "" {
		return c.text
	}
	for _, cd := range c.codings {
		if cd.code != "" {
			return cd.code
		}
	}
	return ""
}

// concept reads a CodeableConcept element.
func (r *domReader) concept(m map[string]any, path, key string) domConcept {
	o, p := r.object(m, path, key)
	if o == nil {
		return domConcept{path: p}
	}
	return r.conceptAt(o, p)
}

// conceptAt reads a CodeableConcept at path.
func (r *domReader) conceptAt(o map[string]any, path string) domConcept {
	c := domConcept{present: true, path: path}
	c.text, c.textPath = r.str(o, path, "text")
	for _, e := range r.objects(o, path, "coding") {
		cd := domCoding{path: e.path}
		cd.system, _ = r.str(e.m, e.path, "system")
		cd.code, _ = r.str(e.m, e.path, "code")
		cd.display, _ = r.str(e.m, e.path, "display")
		c.codings = append(c.codings, cd)
	}
	return c
}

// domCoded is a code and its display as Haven keeps them, with their paths.
type domCoded struct{ code, display, codePath, displayPath string }

// codedAs reads a concept Haven keeps coded: the first coding of a
// preferred system, else the first coding; its code, and its display or
// the concept's text. why says what Haven keeps, for errors.
func (r *domReader) codedAs(c domConcept, path, why string, preferred ...string) domCoded {
	switch {
	case r.err != nil:
		return domCoded{}
	case !c.present:
		r.fail(path, "is required: %s", why)
		return domCoded{}
	case len(c.codings) == 0:
		r.fail(path+".coding", "is required: %s (text alone is not enough)", why)
		return domCoded{}
	}
	cd := c.codings[0]
	for _, x := range c.codings {
		if slices.Contains(preferred, x.system) {
			cd = x
			break
		}
	}
	out := domCoded{code: cd.code, codePath: cd.path + ".code", display: cd.display, displayPath: cd.path + ".display"}
	if out.display == "" && c.text != "" {
		out.display, out.displayPath = c.text, c.textPath
	}
	switch {
	case out.code == "":
		r.fail(out.codePath, "is required: %s", why)
	case out.display == "":
		r.fail(out.displayPath, "is required: Haven shows the %s by name; send the code's display (or %s.text)", strings.ToLower(r.typ), path)
	}
	return out
}

// domStatusCode is the code of a status CodeableConcept, with its path.
type domStatusCode struct{ code, path string }

// statusConcept reads a status CodeableConcept (clinicalStatus,
// verificationStatus): the code of its coding in system, else of its first
// coding, checked against allowed. "" when absent.
func (r *domReader) statusConcept(m map[string]any, path, key, system string, allowed []string) domStatusCode {
	c := r.concept(m, path, key)
	if !c.present || r.err != nil {
		return domStatusCode{}
	}
	if len(c.codings) == 0 {
		r.fail(c.path+".coding", "is required: a code from %s (%s)", system, strings.Join(allowed, ", "))
		return domStatusCode{}
	}
	cd := c.codings[0]
	for _, x := range c.codings {
		if x.system == system {
			cd = x
			break
		}
	}
	p := cd.path + ".code"
	if !slices.Contains(allowed, cd.code) {
		r.fail(p, "must be one of %s; found %s", strings.Join(allowed, ", "), quoteShort(cd.code))
		return domStatusCode{}
	}
	return domStatusCode{cd.code, p}
}

// domQuantity is a Quantity read as words.
type domQuantity struct {
	num      string // the value's JSON text
	f        float64
	unit     string // unit, else code
	unitPath string
	compar   string
	text     string // "<5 mmol/L", "128 mm[Hg]"
	path     string
}

// quantity reads a Quantity element whose value Haven needs.
func (r *domReader) quantity(m map[string]any, path, key string) domQuantity {
	o, p := r.object(m, path, key)
	q := domQuantity{path: p}
	if o == nil {
		return q
	}
	n, np, ok := r.number(o, p, "value")
	if !ok {
		r.fail(np, "is required: Haven keeps a quantity's value")
		return q
	}
	q.num, q.f = n.text, n.f
	q.compar, _ = r.code(o, p, "comparator", []string{"<", "<=", ">=", ">"})
	q.unit, q.unitPath = r.str(o, p, "unit")
	if q.unit == "" {
		q.unit, q.unitPath = r.str(o, p, "code")
	}
	q.text = domJoinNonEmpty(" ", q.compar+q.num, q.unit)
	return q
}

// rangeText reads a Range as words: "4 to 8 units", "at least 2 mg".
func (r *domReader) rangeText(m map[string]any, path, key string) string {
	o, p := r.object(m, path, key)
	if o == nil {
		return ""
	}
	var low, high domQuantity
	if _, ok := o["low"]; ok {
		low = r.quantity(o, p, "low")
	}
	if _, ok := o["high"]; ok {
		high = r.quantity(o, p, "high")
	}
	switch {
	case low.text != "" && high.text != "" && low.unit == high.unit:
		return domJoinNonEmpty(" ", low.num+" to "+high.num, low.unit)
	case low.text != "" && high.text != "":
		return low.text + " to " + high.text
	case low.text != "":
		return "at least " + low.text
	case high.text != "":
		return "at most " + high.text
	}
	r.fail(p, "needs low or high")
	return ""
}

// domValue is an Observation's (or a component's) value[x].
type domValue struct {
	present  bool
	number   bool // a plain number: valueQuantity without a comparator, or valueInteger
	quantity bool // from valueQuantity
	num      string
	f        float64
	unit     string
	unitPath string
	text     string // the value in words
	path     string
}

// valueX reads the value[x] of an Observation or component at path.
func (r *domReader) valueX(m map[string]any, path string) domValue {
	var keys []string
	for k := range m {
		if len(k) > 5 && strings.HasPrefix(k, "value") && k[5] >= 'A' && k[5] <= 'Z' {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 || r.err != nil {
		return domValue{}
	}
	sort.Strings(keys)
	if len(keys) > 1 {
		r.fail(path+"."+keys[1], "is a second value[x]; an observation has one value (found %s)", strings.Join(keys, ", "))
		return domValue{}
	}
	k := keys[0]
	v := domValue{present: true, path: path + "." + k}
	switch k {
	case "valueQuantity":
		q := r.quantity(m, path, k)
		v.quantity, v.number = true, q.compar == ""
		v.num, v.f, v.unit, v.unitPath, v.text = q.num, q.f, q.unit, q.unitPath, q.text
	case "valueInteger":
		n, _, _ := r.number(m, path, k)
		v.number, v.num, v.f, v.text = true, n.text, n.f, n.text
	case "valueCodeableConcept":
		v.text, _ = r.concept(m, path, k).words()
		if v.text == "" {
			r.fail(v.path, "needs text or a coding with a display: Haven keeps a coded value in words")
		}
	case "valueString", "valueTime", "valueDateTime":
		v.text, _ = r.str(m, path, k)
	case "valueBoolean":
		b, _, _ := r.boolean(m, path, k)
		v.text = map[bool]string{true: "Yes", false: "No"}[b]
	case "valueRange":
		v.text = r.rangeText(m, path, k)
	case "valueRatio":
		o, p := r.object(m, path, k)
		var num, den domQuantity
		if _, ok := o["numerator"]; ok {
			num = r.quantity(o, p, "numerator")
		}
		if _, ok := o["denominator"]; ok {
			den = r.quantity(o, p, "denominator")
		}
		if num.text == "" || den.text == "" {
			r.fail(p, "needs numerator and denominator")
		}
		v.text = num.text + " / " + den.text
	case "valuePeriod":
		o, p := r.object(m, path, k)
		s, _ := r.str(o, p, "start")
		e, _ := r.str(o, p, "end")
		v.text = domJoinNonEmpty(" to ", s, e)
		if v.text == "" {
			r.fail(p, "needs start or end")
		}
	case "valueSampledData":
		r.fail(v.path, "is not kept: Haven keeps one value, not sampled data (a waveform)")
	default:
		r.fail(v.path, "is not an Observation value type")
	}
	return v
}

// domStamp is a FHIR date, dateTime or instant.
type domStamp struct {
	present bool // the element is there
	ok      bool // and was read
	partial bool // a year, or a year and month, only
	t       time.Time
	day     haven.Date
	path    string
}

// when reads a date, dateTime or instant element.
func (r *domReader) when(m map[string]any, path, key string) domStamp {
	s, p := r.str(m, path, key)
	w := domStamp{present: s != "", path: p}
	if s == "" {
		return w
	}
	var err error
	w.t, w.day, w.partial, err = domParseTime(s)
	if err != nil {
		r.fail(p, "is %s, not a FHIR date or dateTime: YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a time-zone offset (Z or +01:00)", quoteShort(s))
		return w
	}
	w.ok = true
	return w
}

// domParseTime parses a FHIR date, dateTime or instant: the instant (a date
// alone is midnight UTC), the calendar date as written, and whether only a
// year or a year and month were given.
func domParseTime(s string) (time.Time, haven.Date, bool, error) {
	switch len(s) {
	case 4, 7:
		layout := "2006-01"[:len(s)]
		t, err := time.Parse(layout, s)
		return t, haven.Date{}, true, err
	case 10:
		d, err := haven.ParseDate(s)
		return d.Time(), d, false, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || s[10] != 'T' {
		return time.Time{}, haven.Date{}, false, errors.New("not a dateTime")
	}
	if _, off := t.Zone(); off > 14*3600 || off < -14*3600 {
		return time.Time{}, haven.Date{}, false, errors.New("impossible offset")
	}
	d, err := haven.ParseDate(s[:10])
	return t, d, false, err
}

// domSplitRef splits a relative reference "Type/id" (or
// "Type/id/_history/version").
func domSplitRef(ref string) (typ, id string, ok bool) {
	parts := strings.Split(ref, "/")
	if len(parts) == 4 && parts[2] == "_history" {
		parts = parts[:2]
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.Contains(parts[0], ":") {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// domModifierPath returns the path of the first modifierExtension in v, or "".
func domModifierPath(v any, path string) string {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["modifierExtension"]; ok {
			return path + ".modifierExtension"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p := domModifierPath(x[k], path+"."+keyInPath(k)); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := domModifierPath(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// domKindOf names the kind of a decoded JSON value.
func domKindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return "something else"
}

// ---------------------------------------------------------------------------
// Writing resources

// domRecord asserts that rec is the record type a mapping writes.
func domRecord[T haven.Record](rec haven.Record) T {
	r, ok := rec.(T)
	if !ok {
		panic(fmt.Sprintf("fhir: %T given to the mapping of %T", rec, r))
	}
	return r
}

// domPrevious decodes the original resource kept in a record and reads it
// as toDomain would, so fromDomain can tell which of Haven's values are
// still what it said.
func domPrevious(raw json.RawMessage, typ string, to func(json.RawMessage, map[string]any, string, string) (haven.Record, error), id, personID string) (map[string]any, haven.Record, bool) {
	if len(raw) == 0 {
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var orig map[string]any
	if dec.Decode(&orig) != nil || orig["resourceType"] != typ {
		return nil, nil, false
	}
	back, err := to(raw, orig, id, personID)
	if err != nil {
		return nil, nil, false
	}
	return orig, back, true
}

// domKeep writes the original's elements keys in place of the rendered
// ones when Haven's value they hold is unchanged (same) and the original
// has any of them; otherwise the rendering stands.
func domKeep(out, orig map[string]any, same bool, keys ...string) {
	if !same || !slices.ContainsFunc(keys, func(k string) bool { _, ok := orig[k]; return ok }) {
		return
	}
	for _, k := range keys {
		delete(out, k)
		if v, ok := orig[k]; ok {
			out[k] = v
		}
	}
}

func domPatientRef(personID string) map[string]any {
	return map[string]any{"reference": "Patient/" + personID}
}

// domCodedConcept writes a code and its display as a CodeableConcept.
func domCodedConcept(code, display, system string) map[string]any {
	cd := map[string]any{"code": code, "display": display}
	if system != "" {
		cd["system"] = system
	}
	return map[string]any{"coding": []any{cd}}
}

// domStatusConcept writes a status code as a CodeableConcept.
func domStatusConcept(system, code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
}

var (
	domLOINCCode  = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)
	domSNOMEDCode = regexp.MustCompile(`^[1-9][0-9]{5,17}$`)
)

// domGuessSystem names the code system of a code Haven holds without one:
// SNOMED CT by the form of its concept ids, and for observations LOINC by
// the form of its codes; "" when it cannot tell.
func domGuessSystem(code string, loinc bool) string {
	switch {
	case loinc && domLOINCCode.MatchString(code):
		return domLOINC
	case domSNOMEDCode.MatchString(code):
		return domSNOMED
	}
	return ""
}

// domPeriod writes a Period of calendar dates; nil when both are unknown.
func domPeriod(start, end haven.Date) map[string]any {
	p := map[string]any{}
	if !start.IsZero() {
		p["start"] = start.String()
	}
	if !end.IsZero() {
		p["end"] = end.String()
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

func domJoinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), sep)
}

// domAnd joins words as English: "a", "a and b", "a, b and c".
func domAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
