package sqlstore

// AuditQueries returns the queries that read one person's or one actor's
// audit entries, as prepared for d, so that tests can ask the database how
// it plans them.
func AuditQueries(d *Dialect) map[string]string {
	q := prepareQueries(d)
	return map[string]string{"by person": q.auditByPerson, "by actor": q.auditByActor}
}
