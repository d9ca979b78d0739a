package demo

import "github.com/havencare/haven"

// Records lists one person's records in the order they must be created:
// the person first, so that everything else can refer to them.
func (pd *PersonData) Records() []haven.Record {
	out := []haven.Record{&pd.Person}
	out = appendRecords(out, pd.Conditions)
	out = appendRecords(out, pd.Allergies)
	out = appendRecords(out, pd.Medications)
	out = appendRecords(out, pd.Observations)
	out = appendRecords(out, pd.Notes)
	out = appendRecords(out, pd.CarePlans)
	out = appendRecords(out, pd.CareTeams)
	out = appendRecords(out, pd.Visits)
	if pd.HomeAccess != nil {
		out = append(out, pd.HomeAccess)
	}
	return out
}

// appendRecords appends a pointer to each element of xs.
func appendRecords[T any, PT interface {
	*T
	haven.Record
}](out []haven.Record, xs []T) []haven.Record {
	for i := range xs {
		out = append(out, PT(&xs[i]))
	}
	return out
}
