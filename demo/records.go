package demo

import "github.com/havencare/haven"

// Records lists one person's records in the order they must be created:
// the person first, so that everything else can refer to them.
func (pd *PersonData) Records() []haven.Record {
	out := []haven.Record{&pd.Person}
	for i := range pd.Conditions {
		out = append(out, &pd.Conditions[i])
	}
	for i := range pd.Allergies {
		out = append(out, &pd.Allergies[i])
	}
	for i := range pd.Medications {
		out = append(out, &pd.Medications[i])
	}
	for i := range pd.Observations {
		out = append(out, &pd.Observations[i])
	}
	for i := range pd.Notes {
		out = append(out, &pd.Notes[i])
	}
	for i := range pd.CarePlans {
		out = append(out, &pd.CarePlans[i])
	}
	for i := range pd.CareTeams {
		out = append(out, &pd.CareTeams[i])
	}
	for i := range pd.Visits {
		out = append(out, &pd.Visits[i])
	}
	if pd.HomeAccess != nil {
		out = append(out, pd.HomeAccess)
	}
	return out
}
