package haven

// Role is what a member of staff does; policy decisions start from it.
type Role string

// Tenant staff roles, then the supplier's own roles, which belong to no tenant.
const (
	RoleCarer       Role = "carer"
	RoleNurse       Role = "nurse"
	RoleClinician   Role = "clinician"
	RoleCoordinator Role = "coordinator"
	RoleTenantAdmin Role = "tenant-admin"
	RoleDPO         Role = "data-protection-officer"

	RoleSupplierSupport  Role = "supplier-support"
	RoleSupplierOperator Role = "supplier-operator"

	// RoleAPIClient is a registered SMART Backend Services client acting
	// for its tenant with the scopes its token carries.
	RoleAPIClient Role = "api-client"

	// RoleSystem is Haven acting on its own behalf: the demo seeder, imports
	// run by an operator at the console, key rotation. It is never given to
	// an account.
	RoleSystem Role = "system"
)

// TenantRoles lists the roles a member of a care organisation can hold.
var TenantRoles = []Role{RoleCarer, RoleNurse, RoleClinician, RoleCoordinator, RoleTenantAdmin, RoleDPO}

// Valid reports whether r is a role Haven knows.
func (r Role) Valid() bool {
	switch r {
	case RoleCarer, RoleNurse, RoleClinician, RoleCoordinator, RoleTenantAdmin, RoleDPO,
		RoleSupplierSupport, RoleSupplierOperator, RoleAPIClient, RoleSystem:
		return true
	}
	return false
}

// Principal is who is acting: an authenticated member of staff, an API client,
// or Haven itself. Its tenant is the only source of a tenant scope.
type Principal struct {
	ID       string // account or client id; "system" for Haven itself
	TenantID string // empty for supplier staff
	Role     Role
	// StaffID is the staff record of a tenant's member of staff: the id
	// care teams and visits name, and so what care relationships are
	// judged by. Empty for supplier staff, clients and Haven itself.
	StaffID string
	// ClientAddr is the network address the request came from, for the audit
	// log. Empty for console commands.
	ClientAddr string
	// Purpose says why the access is happening (direct care, import, erasure
	// request, ...). It is recorded with every audit entry.
	Purpose string
	// SteppedUp reports that the principal confirmed a factor within the
	// step-up window. Only the web gate sets it, from the session.
	SteppedUp bool
	// SessionID names the browser session acting (the stored id, never the
	// cookie), so that containment can end or freeze exactly that session.
	SessionID string
	// Scopes are an API client's SMART scopes, from its access token.
	Scopes []string
	// NamedScopes are those of Scopes the client's registration gives by
	// type rather than through a wildcard: the audit log and bulk export
	// are reached only through them.
	NamedScopes []string
	// SupportTenant is the care organisation a supplier-support principal
	// asks to act in. It grants nothing by itself: policy refuses every
	// action there unless that tenant's administrator approved a grant.
	SupportTenant string
}

// Scope is the tenant a storage operation is confined to. It can only be
// made from a Principal, so the tenant always comes from who is acting and
// never from a request parameter (invariant 2). The zero Scope is invalid
// and every store refuses it.
type Scope struct {
	tenant string
	actor  Principal
}

// ScopeOf returns the scope for p's own tenant. Supplier support, which has
// no tenant, is scoped to the tenant it asks to act in, so that what it does
// there (including every refusal) lands in that tenant's audit log where the
// controller sees it; whether it may do anything is policy's decision.
func ScopeOf(p Principal) Scope {
	if p.Role == RoleSupplierSupport && p.TenantID == "" {
		return Scope{tenant: p.SupportTenant, actor: p}
	}
	return Scope{tenant: p.TenantID, actor: p}
}

// SystemPrincipal is Haven acting on a tenant's data at the console (demo
// seeding, import, key rotation). Its actions are audited under ID "system".
func SystemPrincipal(tenantID, purpose string) Principal {
	return Principal{ID: "system", TenantID: tenantID, Role: RoleSystem, Purpose: purpose}
}

// Tenant returns the tenant id the scope is confined to.
func (s Scope) Tenant() string { return s.tenant }

// Actor returns the principal the scope was made for.
func (s Scope) Actor() Principal { return s.actor }

// Valid reports whether the scope names a tenant.
func (s Scope) Valid() bool { return s.tenant != "" }

// SupplierPartition is the tenant-shaped partition that holds the supplier's
// own staff accounts, the sign-in directory and the audit log of their
// sign-ins. It is not a care organisation: it holds no care records, and a
// supplier principal's TenantID is still empty, so supplier staff get no
// tenant scope from it.
const SupplierPartition = "_supplier"

// PartitionOf is the partition a principal's account lives in: its tenant,
// or the supplier partition for supplier staff.
func PartitionOf(tenantID string) string {
	if tenantID == "" {
		return SupplierPartition
	}
	return tenantID
}

// TenantOf maps a partition back to the tenant a principal carries: supplier
// staff belong to no tenant.
func TenantOf(partition string) string {
	if partition == SupplierPartition {
		return ""
	}
	return partition
}

// ReservedTenantID reports whether id is kept for Haven's own partitions
// (a leading underscore) and so cannot name a care organisation.
func ReservedTenantID(id string) bool { return len(id) > 0 && id[0] == '_' }

// ValidTenantID reports whether id can name a care organisation: 1 to 40
// lower-case ASCII letters, digits and hyphens, not starting with a hyphen.
// The alphabet keeps ids safe in cookies, URLs, log lines and key labels.
func ValidTenantID(id string) bool {
	if len(id) == 0 || len(id) > 40 || id[0] == '-' {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
