package sqlstore

// PlannedQueries returns, by name, the queries whose plans tests check, as
// prepared for d.
func PlannedQueries(d *Dialect) map[string]string {
	q := prepareQueries(d)
	return map[string]string{
		"audit by person":      q.auditByPerson,
		"audit by actor":       q.auditByActor,
		"erase person's rows":  q.erasePersonRecords[0],
		"erase person record":  q.erasePersonRecords[1],
		"erase person's kept":  q.erasePersonVersions[0],
		"erase person's kept1": q.erasePersonVersions[1],
	}
}
