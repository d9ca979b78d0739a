package auth

import (
	"context"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/havencare/haven"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sealedrow"
)

// Status is where an account is in its life.
type Status string

const (
	StatusInvited  Status = "invited"  // enrolment link sent, no password yet
	StatusActive   Status = "active"   // may sign in
	StatusDisabled Status = "disabled" // left the organisation
)

// Account is a member of staff who can sign in. It is stored sealed under
// its partition's key: the e-mail address, name, password hash, TOTP secret
// and passkeys never reach the database in the clear.
type Account struct {
	ID        string     `json:"id"`
	Partition string     `json:"partition"`
	Email     string     `json:"email"`
	Name      string     `json:"name"`
	Role      haven.Role `json:"role"`
	StaffID   string     `json:"staff_id,omitempty"` // the tenant's staff record of this person
	Status    Status     `json:"status"`
	Created   time.Time  `json:"created"`

	Password string      `json:"password,omitempty"` // Argon2id, PHC format
	TOTP     *TOTPFactor `json:"totp,omitempty"`
	Passkeys []Passkey   `json:"passkeys,omitempty"`
	Recovery [][]byte    `json:"recovery,omitempty"` // SHA-256 of codes; nil once used
	Invite   *Invite     `json:"invite,omitempty"`
	Failures int         `json:"failures"` // consecutive failed attempts
	Locked   time.Time   `json:"locked,omitzero"`
	LastSeen time.Time   `json:"last_seen,omitzero"`
	Handle   []byte      `json:"handle"` // WebAuthn user handle
}

// TOTPFactor is an enrolled authenticator app.
type TOTPFactor struct {
	Secret   string    `json:"secret"`
	LastStep int64     `json:"last_step"` // codes for this step or earlier are spent
	Added    time.Time `json:"added"`
}

// Passkey is an enrolled WebAuthn credential.
type Passkey struct {
	Name       string              `json:"name"`
	Added      time.Time           `json:"added"`
	LastUsed   time.Time           `json:"last_used,omitzero"`
	Credential webauthn.Credential `json:"credential"`
}

// Invite is an outstanding enrolment link.
type Invite struct {
	Expires time.Time `json:"expires"`
}

// Privileged reports whether the role must use a phishing-resistant factor
// (a passkey): tenant admins and the supplier's operators.
func Privileged(r haven.Role) bool {
	return r == haven.RoleTenantAdmin || r == haven.RoleSupplierOperator
}

// Tenant is the account's tenant as a principal carries it ("" for
// supplier staff).
func (a *Account) Tenant() string { return haven.TenantOf(a.Partition) }

// HasFactor reports whether any second factor is enrolled. Recovery codes
// do not count: they exist to replace a lost factor, not to be one.
func (a *Account) HasFactor() bool { return a.TOTP != nil || len(a.Passkeys) > 0 }

// RecoveryLeft counts unused recovery codes.
func (a *Account) RecoveryLeft() int {
	n := 0
	for _, h := range a.Recovery {
		if h != nil {
			n++
		}
	}
	return n
}

// IsLocked reports whether the account is locked out.
func (a *Account) IsLocked() bool { return !a.Locked.IsZero() }

// webauthn.User

func (a *Account) WebAuthnID() []byte          { return a.Handle }
func (a *Account) WebAuthnName() string        { return a.Email }
func (a *Account) WebAuthnDisplayName() string { return a.Name }
func (a *Account) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(a.Passkeys))
	for i, p := range a.Passkeys {
		out[i] = p.Credential
	}
	return out
}

// accountRow is a loaded account with the version its row had.
type accountRow struct {
	*Account
	version int64
}

func loadAccount(tx store.Tx, tk *seal.TenantKey, id string) (accountRow, error) {
	a := &Account{}
	v, err := sealedrow.Get(tx, tk, kindAccount, id, a)
	return accountRow{a, v}, err
}

func (s *Service) saveAccount(tx store.Tx, tk *seal.TenantKey, a *accountRow) error {
	v, err := sealedrow.Put(tx, tk, kindAccount, a.ID, a.version, a.Account, s.Now())
	if err != nil {
		return err
	}
	a.version = v
	return nil
}

// directoryEntry is where an e-mail address signs in: "<partition>/<id>".
func directoryEntry(partition, accountID string) string { return partition + "/" + accountID }

// findAccount resolves an e-mail address through the directory in the
// supplier partition. It returns haven.ErrNotFound for unknown addresses.
func (s *Service) findAccount(ctx context.Context, email string) (partition, id string, err error) {
	err = s.in(ctx, haven.SupplierPartition, func(tx store.Tx, tk *seal.TenantKey) error {
		hits, err := tx.Lookup(fieldDirectory, tk.BlindIndex(fieldDirectory, normEmail(email)), 2)
		if err != nil {
			return err
		}
		if len(hits) != 1 {
			return haven.ErrNotFound
		}
		p, a, ok := strings.Cut(hits[0].ID, "/")
		if !ok {
			return fmt.Errorf("auth: bad directory entry")
		}
		partition, id = p, a
		return nil
	})
	return partition, id, err
}

// Invitation is a new account's one-time enrolment link.
type Invitation struct {
	AccountID string
	Token     string // goes in the link; shown once, stored only hashed
	Expires   time.Time
}

// Link returns the enrolment URL under base (the service's origin).
func (i Invitation) Link(base string) string {
	return strings.TrimRight(base, "/") + "/enrol/" + i.Token
}

// NewAccount is what an admin enters to invite someone.
type NewAccount struct {
	Email string
	Name  string
	Role  haven.Role
	// StaffID links a tenant's account to the staff record that care teams
	// and visits name (optional; supplier staff have none).
	StaffID string
}

func (n *NewAccount) validate(partition string) error {
	n.Email = normEmail(n.Email)
	n.Name = strings.TrimSpace(n.Name)
	if addr, err := mail.ParseAddress(n.Email); err != nil || addr.Address != n.Email || len(n.Email) > 254 {
		return haven.Invalid("email", "enter an e-mail address like name@example.nhs.uk")
	}
	if n.Name == "" || len(n.Name) > 200 {
		return haven.Invalid("name", "enter the person's name")
	}
	supplierRole := n.Role == haven.RoleSupplierOperator || n.Role == haven.RoleSupplierSupport
	switch {
	case !n.Role.Valid() || n.Role == haven.RoleSystem || n.Role == haven.RoleAPIClient:
		return haven.Invalid("role", "choose a role")
	case partition == haven.SupplierPartition && !supplierRole:
		return haven.Invalid("role", "supplier staff are supplier support or supplier operators")
	case partition != haven.SupplierPartition && supplierRole:
		return haven.Invalid("role", "supplier roles cannot be given to a care organisation's staff")
	case n.StaffID != "" && partition == haven.SupplierPartition:
		return haven.Invalid("staff", "supplier staff have no staff record in a care organisation")
	case len(n.StaffID) > 64 || strings.ContainsFunc(n.StaffID, func(r rune) bool {
		return !(r == '-' || r == '.' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}):
		return haven.Invalid("staff", "a staff record id has only letters, digits, '-', '.' and '_'")
	}
	return nil
}

// Invite creates an account in by's tenant (or, for the console, in
// partition) and returns its one-time enrolment link. Only tenant admins
// invite into their own tenant and supplier operators invite supplier
// staff; the console (haven.RoleSystem) can create the first of either.
func (s *Service) Invite(ctx context.Context, by haven.Principal, partition string, n NewAccount) (Invitation, error) {
	switch by.Role {
	case haven.RoleSystem:
	case haven.RoleTenantAdmin:
		if partition != by.TenantID || by.TenantID == "" {
			return Invitation{}, haven.ErrForbidden
		}
	case haven.RoleSupplierOperator:
		if partition != haven.SupplierPartition {
			return Invitation{}, haven.ErrForbidden
		}
	default:
		return Invitation{}, haven.ErrForbidden
	}
	if err := n.validate(partition); err != nil {
		return Invitation{}, err
	}
	now := s.Now().UTC()
	inv := Invitation{AccountID: newID("a-"), Token: string(newBearer(partition)), Expires: now.Add(InviteLifetime)}
	_, inviteRow, _ := bearer(inv.Token).split()

	// The directory entry comes first: it is what makes addresses unique
	// across Haven, since one sign-in page serves every tenant.
	err := s.in(ctx, haven.SupplierPartition, func(tx store.Tx, tk *seal.TenantKey) error {
		d := tk.BlindIndex(fieldDirectory, n.Email)
		hits, err := tx.Lookup(fieldDirectory, d, 1)
		if err != nil {
			return err
		}
		if len(hits) > 0 {
			return haven.Invalid("email", "an account with this e-mail address already exists")
		}
		return tx.SetIndex("directory", directoryEntry(partition, inv.AccountID), "", []store.IndexEntry{{Field: fieldDirectory, Digest: d}})
	})
	if err != nil {
		return Invitation{}, err
	}
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		if n.StaffID != "" {
			// One account per staff record: two people signing in as the
			// same member of staff would blur who did what.
			hits, err := tx.Lookup(fieldStaff, tk.BlindIndex(fieldStaff, n.StaffID), 1)
			if err != nil {
				return err
			}
			if len(hits) > 0 {
				return haven.Invalid("staff", "another account is already linked to this staff record")
			}
		}
		a := accountRow{Account: &Account{
			ID: inv.AccountID, Partition: partition, Email: n.Email, Name: n.Name, Role: n.Role, StaffID: n.StaffID,
			Status: StatusInvited, Created: now, Invite: &Invite{Expires: inv.Expires},
			Handle: []byte(directoryEntry(partition, inv.AccountID)),
		}}
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		if err := tx.SetIndex(kindAccount, a.ID, "", accountIndex(tk, a.Account, inviteRow)); err != nil {
			return err
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: ActionInvite, recordID: a.ID, addr: by.ClientAddr})
	})
	if err != nil {
		s.dropDirectory(ctx, partition, inv.AccountID)
		return Invitation{}, err
	}
	return inv, nil
}

func (s *Service) dropDirectory(ctx context.Context, partition, id string) {
	_ = s.in(ctx, haven.SupplierPartition, func(tx store.Tx, _ *seal.TenantKey) error {
		return tx.SetIndex("directory", directoryEntry(partition, id), "", nil)
	})
}

// ReissueInvite gives an account that has not finished enrolling a new
// link (the old one stops working).
func (s *Service) ReissueInvite(ctx context.Context, by haven.Principal, partition, accountID string) (Invitation, error) {
	if by.Role != haven.RoleSystem && (by.Role != haven.RoleTenantAdmin || by.TenantID != partition) {
		return Invitation{}, haven.ErrForbidden
	}
	inv := Invitation{AccountID: accountID, Token: string(newBearer(partition)), Expires: s.Now().UTC().Add(InviteLifetime)}
	_, inviteRow, _ := bearer(inv.Token).split()
	err := s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		a, err := loadAccount(tx, tk, accountID)
		if err != nil {
			return err
		}
		if a.HasFactor() {
			return haven.Invalid("account", "this person has already enrolled; reset their factors instead")
		}
		if a.Status == StatusDisabled {
			return haven.Invalid("account", "this account is disabled")
		}
		a.Status, a.Invite, a.Password = StatusInvited, &Invite{Expires: inv.Expires}, ""
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		// Whoever used an earlier link must not finish enrolling with it.
		if _, err := s.revokeAccountSessions(tx, tk, a.ID, ""); err != nil {
			return err
		}
		if err := tx.SetIndex(kindAccount, a.ID, "", accountIndex(tk, a.Account, inviteRow)); err != nil {
			return err
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: ActionInvite, recordID: a.ID, addr: by.ClientAddr})
	})
	return inv, err
}

// accountIndex is an account's blind-index entries: its e-mail address,
// its staff record and, while it has one, its enrolment link.
func accountIndex(tk *seal.TenantKey, a *Account, inviteRow string) []store.IndexEntry {
	out := []store.IndexEntry{{Field: fieldEmail, Digest: tk.BlindIndex(fieldEmail, a.Email)}}
	if a.StaffID != "" {
		out = append(out, store.IndexEntry{Field: fieldStaff, Digest: tk.BlindIndex(fieldStaff, a.StaffID)})
	}
	if inviteRow != "" {
		out = append(out, store.IndexEntry{Field: fieldInvite, Digest: tk.BlindIndex(fieldInvite, inviteRow)})
	}
	return out
}

// inviteAccount finds the account an enrolment link belongs to.
func (s *Service) inviteAccount(tx store.Tx, tk *seal.TenantKey, rowID string) (accountRow, error) {
	hits, err := tx.Lookup(fieldInvite, tk.BlindIndex(fieldInvite, rowID), 1)
	if err != nil {
		return accountRow{}, err
	}
	if len(hits) == 0 {
		return accountRow{}, ErrInvite
	}
	a, err := loadAccount(tx, tk, hits[0].ID)
	if err != nil {
		return accountRow{}, err
	}
	if a.Status != StatusInvited || a.Invite == nil || !s.Now().Before(a.Invite.Expires) {
		return accountRow{}, ErrInvite
	}
	return a, nil
}

// AccountInfo is an account as an admin sees it.
type AccountInfo struct {
	ID, Email, Name string
	Role            haven.Role
	StaffID         string
	Status          Status
	Locked          bool
	Factors         []string
	RecoveryLeft    int
	Created         time.Time
	LastSeen        time.Time
}

func infoOf(a *Account) AccountInfo {
	i := AccountInfo{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role, StaffID: a.StaffID, Status: a.Status,
		Locked: a.IsLocked(), RecoveryLeft: a.RecoveryLeft(), Created: a.Created, LastSeen: a.LastSeen}
	if a.TOTP != nil {
		i.Factors = append(i.Factors, "authenticator app")
	}
	for _, p := range a.Passkeys {
		i.Factors = append(i.Factors, "passkey: "+p.Name)
	}
	return i
}

// Accounts lists the accounts of by's own tenant (tenant admins) or of the
// supplier (supplier operators).
func (s *Service) Accounts(ctx context.Context, by haven.Principal) ([]AccountInfo, error) {
	partition, err := adminPartition(by)
	if err != nil {
		return nil, err
	}
	var out []AccountInfo
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		return s.eachAccount(tx, tk, func(a *Account) error {
			out = append(out, infoOf(a))
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// adminPartition is the partition an administrator manages.
func adminPartition(by haven.Principal) (string, error) {
	switch {
	case by.Role == haven.RoleTenantAdmin && by.TenantID != "":
		return by.TenantID, nil
	case by.Role == haven.RoleSupplierOperator:
		return haven.SupplierPartition, nil
	case by.Role == haven.RoleSystem:
		return haven.PartitionOf(by.TenantID), nil
	}
	return "", haven.ErrForbidden
}

// Unlock lifts a lockout and resets the failure count.
func (s *Service) Unlock(ctx context.Context, by haven.Principal, accountID string) error {
	return s.adminChange(ctx, by, accountID, ActionUnlock, func(a *accountRow) error {
		a.Locked, a.Failures = time.Time{}, 0
		return nil
	})
}

// SetRole changes an account's role. Its sessions end, so the new role
// takes effect with a fresh sign-in (a privilege change gets a new
// session id). Callers must have checked step-up.
func (s *Service) SetRole(ctx context.Context, by haven.Principal, accountID string, role haven.Role) error {
	return s.adminChange(ctx, by, accountID, ActionRoleChange, func(a *accountRow) error {
		n := NewAccount{Email: a.Email, Name: a.Name, Role: role}
		if err := n.validate(a.Partition); err != nil {
			return err
		}
		if accountID == by.ID {
			return haven.Invalid("role", "you cannot change your own role")
		}
		a.Role = role
		return nil
	})
}

// Disable stops an account from signing in and ends its sessions: for
// someone who has left. Callers must have checked step-up.
func (s *Service) Disable(ctx context.Context, by haven.Principal, accountID string) error {
	return s.adminChange(ctx, by, accountID, "disable", func(a *accountRow) error {
		if accountID == by.ID {
			return haven.Invalid("account", "you cannot disable your own account")
		}
		a.Status = StatusDisabled
		return nil
	})
}

func (s *Service) adminChange(ctx context.Context, by haven.Principal, accountID, action string, change func(*accountRow) error) error {
	partition, err := adminPartition(by)
	if err != nil {
		return err
	}
	return s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		a, err := loadAccount(tx, tk, accountID)
		if err != nil {
			return err
		}
		if err := change(&a); err != nil {
			return err
		}
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		if action != ActionUnlock {
			if _, err := s.revokeAccountSessions(tx, tk, accountID, ""); err != nil {
				return err
			}
		}
		return s.record(tx, event{actor: by.ID, role: string(by.Role), action: action, recordID: accountID, addr: by.ClientAddr})
	})
}

// LookupEmail finds the partition and id of the account with this e-mail
// address, for console commands. It returns haven.ErrNotFound if none.
func (s *Service) LookupEmail(ctx context.Context, email string) (partition, id string, err error) {
	return s.findAccount(ctx, email)
}
