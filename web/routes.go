package web

import (
	"net/http"

	"github.com/havencare/haven"
	"github.com/havencare/haven/fhir"
)

// plain adapts a handler that needs nothing from the gate.
func plain(h http.HandlerFunc) func(http.ResponseWriter, *http.Request, *request) {
	return func(w http.ResponseWriter, r *http.Request, _ *request) { h(w, r) }
}

// register lists every route Haven serves and the access each needs. The
// route-matrix test walks this list.
func (s *Server) register() {
	admins := roles(haven.RoleTenantAdmin, haven.RoleSupplierOperator)
	tenantAdmin := roles(haven.RoleTenantAdmin)
	careStaff := roles(haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator)

	s.route("GET", "/healthz", Public, s.healthz)
	s.route("GET", "/fhir/.well-known/smart-configuration", Public, s.smartConfiguration)
	s.route("POST", "/fhir/auth/token", Public, s.token, noCookies)
	s.route("GET", "/fhir/auth/token", Public, methodNotAllowed("POST"), noCookies)

	// The FHIR API: each handler authenticates its bearer token itself
	// (cookies are ignored) and goes through the same record service,
	// policy, guard and audit log as the pages.
	f := fhir.New(s.auth, s.care, s.cfg.Origin, s.log)
	s.route("GET", "/fhir/metadata", Public, plain(f.Metadata), noCookies)
	s.route("POST", "/fhir", Public, plain(f.Bundle), noCookies)
	s.route("POST", "/fhir/{$}", Public, plain(f.Bundle), noCookies)
	// The audit log as AuditEvent: read and search only; writes are 405.
	s.route("GET", "/fhir/AuditEvent", Public, plain(f.AuditEventSearch), noCookies)
	s.route("POST", "/fhir/AuditEvent/_search", Public, plain(f.AuditEventSearchForm), noCookies)
	s.route("GET", "/fhir/AuditEvent/{id}", Public, plain(f.AuditEventRead), noCookies)
	s.route("POST", "/fhir/AuditEvent", Public, plain(f.AuditEventWrite), noCookies)
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		s.route(m, "/fhir/AuditEvent/{id}", Public, plain(f.AuditEventWrite), noCookies)
	}
	s.route("GET", "/fhir/{type}", Public, plain(f.Search), noCookies)
	s.route("POST", "/fhir/{type}/_search", Public, plain(f.SearchForm), noCookies)
	s.route("POST", "/fhir/{type}", Public, plain(f.Create), noCookies)
	s.route("GET", "/fhir/{type}/{id}", Public, plain(f.Read), noCookies)
	s.route("PUT", "/fhir/{type}/{id}", Public, plain(f.Update), noCookies)
	s.route("DELETE", "/fhir/{type}/{id}", Public, plain(f.Delete), noCookies)
	s.route("GET", "/fhir/{type}/{id}/_history", Public, plain(f.History), noCookies)
	s.route("GET", "/fhir/{type}/{id}/_history/{version}", Public, plain(f.VRead), noCookies)
	s.route("GET", "/fhir/Patient/{id}/$everything", Public, plain(f.Everything), noCookies)
	s.route("GET", "/fhir/$export", Public, plain(f.ExportKickOff), noCookies)
	s.route("GET", "/fhir/Patient/$export", Public, plain(f.ExportKickOff), noCookies)
	s.route("GET", "/fhir/$export-status/{job}", Public, plain(f.ExportStatus), noCookies)
	s.route("DELETE", "/fhir/$export-status/{job}", Public, plain(f.ExportDelete), noCookies)
	s.route("GET", "/fhir/$export-file/{file}", Public, plain(f.ExportFile), noCookies)
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
		s.route(m, "/fhir/", Public, plain(f.Unsupported), noCookies)
	}

	// Signing in.
	s.route("GET", "/sign-in", Public, s.signInPage)
	s.route("POST", "/sign-in", Public, s.signIn)
	s.route("POST", "/sign-in/passkey/begin", Public, s.passkeySignInBegin)
	s.route("POST", "/sign-in/passkey/finish", Public, s.passkeySignInFinish)
	s.route("GET", "/confirm", Pending, s.confirmPage)
	s.route("POST", "/confirm/totp", Pending, s.confirmTOTP)
	s.route("POST", "/confirm/recovery", Pending, s.confirmRecovery)
	s.route("POST", "/confirm/passkey/begin", Pending, s.confirmPasskeyBegin)
	s.route("POST", "/confirm/passkey/finish", Pending, s.confirmPasskeyFinish)
	s.route("POST", "/sign-out", Public, s.signOut)

	// Enrolment.
	s.route("GET", "/enrol/{token}", Public, s.invitePage)
	s.route("POST", "/enrol/{token}", Public, s.acceptInvite)
	s.route("GET", "/enrol/factor", Enrol, s.enrolPage)
	s.route("POST", "/account/totp/begin", Enrol, s.totpBegin)
	s.route("POST", "/account/totp/confirm", Enrol, s.totpConfirm)
	s.route("POST", "/account/passkeys/begin", Enrol, s.passkeyRegisterBegin)
	s.route("POST", "/account/passkeys/finish", Enrol, s.passkeyRegisterFinish)

	// The signed-in account.
	s.route("GET", "/{$}", Signed, s.home)
	s.route("GET", "/account", Signed, s.accountPage)
	s.route("GET", "/account/recovery-codes", Signed, s.recoveryCodesPage)
	s.route("GET", "/account/factors/add", Signed, s.enrolPage, stepUp)
	s.route("POST", "/account/factors/remove", Signed, s.removeFactor, stepUp)
	s.route("POST", "/account/recovery-codes/new", Signed, s.newRecoveryCodes, stepUp)
	s.route("POST", "/account/sessions/revoke", Signed, s.revokeSession)
	s.route("POST", "/sign-out/everywhere", Signed, s.signOutEverywhere)

	// Administration.
	s.route("GET", "/admin/staff", Signed, s.staffPage, admins)
	s.route("POST", "/admin/staff", Signed, s.invite, admins, stepUp)
	s.route("POST", "/admin/staff/{id}/unlock", Signed, s.unlock, admins)
	s.route("POST", "/admin/staff/{id}/reinvite", Signed, s.reinvite, admins, stepUp)
	s.route("POST", "/admin/staff/{id}/role", Signed, s.setRole, admins, stepUp)
	s.route("POST", "/admin/staff/{id}/sign-out", Signed, s.revokeStaffSessions, admins)
	s.route("POST", "/admin/staff/{id}/disable", Signed, s.disable, admins, stepUp)
	s.route("GET", "/admin/sessions", Signed, s.tenantSessionsPage, admins)
	s.route("GET", "/admin/clients", Signed, s.clientsPage, tenantAdmin)
	s.route("POST", "/admin/clients", Signed, s.registerClient, tenantAdmin, stepUp)
	s.route("POST", "/admin/clients/remove", Signed, s.removeClient, tenantAdmin)

	// Care records.
	s.route("GET", "/people", Signed, s.peoplePage, careStaff)
	s.route("GET", "/people/{id}", Signed, s.personPage, careStaff)
	s.route("POST", "/people/{id}/home-access", Signed, s.revealHomeAccess, careStaff, stepUp)
	s.route("POST", "/people/{id}/break-glass", Signed, s.breakGlass, roles(haven.RoleClinician), stepUp)

	s.registerAPI()
	s.registerLaunch() // SMART App Launch for staff apps (web/launch.go)
}
