package care_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/care"
)

// TestApplyUnit checks a unit of work as a transaction Bundle or an import
// runs it: all or nothing, a refusal names the op that caused it, and a
// put creates, then leaves alone, then replaces.
func TestApplyUnit(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		st := staffWithRole(ds, haven.RoleCoordinator)[0]
		p := staffPrincipal(authtest.North, st, "acct-coord-apply")
		visible := visibleTo(ds, st)
		var existing haven.CareTeam
		for _, pd := range sortedPeople(ds) {
			if visible[pd.Person.ID] && len(pd.CareTeams) > 0 && pd.CareTeams[0].Service == st.Service {
				existing = pd.CareTeams[0]
				break
			}
		}
		if existing.ID == "" {
			t.Fatalf("no care team in %s", st.Service)
		}
		newcomer := func() *haven.Person {
			return &haven.Person{
				ID: "apply-newcomer-1", NHSNumber: freshNHSNumber(e, 1), Given: "Ada", Family: "Unitt",
				BirthDate: haven.DateOf(time.Date(1941, 6, 9, 0, 0, 0, 0, time.UTC)), Gender: "female",
				Address: haven.Address{Lines: []string{"8 Chapel Row"}, City: "Skipton", Postcode: "BD23 1AA"},
			}
		}
		team := func(id string) *haven.CareTeam {
			return &haven.CareTeam{ID: id, PersonID: "apply-newcomer-1", Name: st.Service + " (referral)", Service: st.Service}
		}

		// The last op creates a care team under an id that is taken: the
		// whole unit is refused, naming that op, and nothing is written.
		clash := &haven.CareTeam{ID: existing.ID, PersonID: existing.PersonID, Name: existing.Name, Service: existing.Service}
		for _, first := range []care.Method{care.OpCreate, care.OpPut} {
			_, err := e.Care.Apply(ctx, p, []care.Op{
				{Method: first, Record: newcomer()},
				{Method: first, Record: team("apply-team-1")},
				{Method: care.OpCreate, Record: clash},
			})
			var oe *care.OpError
			if !errors.As(err, &oe) || oe.Index != 2 || !errors.Is(err, haven.ErrConflict) {
				t.Fatalf("%s then a create under a taken id: got %v, want op 2 refused with a conflict", first, err)
			}
			_, _, err = e.Care.Get(ctx, p, haven.KindPerson, "apply-newcomer-1")
			wantNotFound(t, err, "the person of a refused unit")
		}

		// A put creates; the same put again writes nothing; a changed
		// put replaces.
		put := func(what string, recs ...haven.Record) []care.Applied {
			t.Helper()
			ops := make([]care.Op, len(recs))
			for i, r := range recs {
				ops[i] = care.Op{Method: care.OpPut, Record: r}
			}
			out, err := e.Care.Apply(ctx, p, ops)
			must(t, err, what)
			return out
		}
		got := put("first put", newcomer(), team("apply-team-1"))
		if !got[0].Created || !got[1].Created || got[1].Version != 1 {
			t.Errorf("first put: %+v, want both created at version 1", got)
		}
		got = put("same put", newcomer(), team("apply-team-1"))
		if !got[0].Unchanged || !got[1].Unchanged || got[1].Version != 1 {
			t.Errorf("same put again: %+v, want both unchanged at version 1", got)
		}
		renamed := team("apply-team-1")
		renamed.Name = st.Service + " (reassessed)"
		got = put("changed put", newcomer(), renamed)
		if !got[0].Unchanged || got[1].Unchanged || got[1].Created || got[1].Version != 2 {
			t.Errorf("changed put: %+v, want the person unchanged and the team replaced at version 2", got)
		}
		rec, _, err := e.Care.Get(ctx, p, haven.KindCareTeam, "apply-team-1")
		must(t, err, "read the replaced team")
		if rec.(*haven.CareTeam).Name != renamed.Name {
			t.Errorf("replaced team reads %+v, want the name %q", rec, renamed.Name)
		}
	})
}
