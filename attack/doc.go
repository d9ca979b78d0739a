// Package attack holds Haven's attack simulations: tests that play the
// 2022 attacker against a running Haven (real HTTP server, real sessions,
// real store, SQLite and PostgreSQL) and measure what they get.
//
// Each simulation steals a fully signed-in session of one role and tries
// to read every person in the organisation — through the pages a browser
// uses, by every id and by search — and counts the distinct people whose
// personal data came back before Haven stopped it. The bounds each test
// asserts are the ones docs/security.md publishes, and
//
//	go test -run TestAttack -v ./attack/
//
// prints the table of measured figures.
package attack
