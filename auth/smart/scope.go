package smart

import (
	"fmt"
	"strings"
)

// SMART v2 permissions, one bit each, in the order "cruds" (create, read,
// update, delete, search).
const (
	permCreate uint8 = 1 << iota
	permRead
	permUpdate
	permDelete
	permSearch

	permAll = permCreate | permRead | permUpdate | permDelete | permSearch
)

const permLetters = "cruds"

// maxResourceType is longer than any FHIR resource type name.
const maxResourceType = 64

// systemScope is a parsed "system/<Type>.<perms>[?query]" scope.
type systemScope struct {
	resource string // a FHIR resource type, or "*"
	perms    uint8
	query    string // v2 search-parameter constraint after '?', or ""
}

// Scope contexts: who the access is for. A backend service acts for its
// organisation (system/); a member of staff's app acts as that member of
// staff (user/). Haven has no patient-facing apps, so no patient/ context.
const (
	contextSystem = "system/"
	contextUser   = "user/"
)

// parseSystemScope parses the v1 ("system/Patient.read") and v2
// ("system/Patient.rs?category=...") forms. The v1 suffixes read, write and
// * mean rs, cud and cruds, as SMART v2 defines them. Any other shape, and
// every user/ or patient/ scope, is not a backend services scope.
func parseSystemScope(s string) (systemScope, bool) { return parseScopeIn(contextSystem, s) }

// parseScopeIn parses a scope of the given context ("system/" or "user/"):
// the two contexts share one grammar, and what is parsed (type,
// permissions, constraint) carries no context, which the caller keeps.
func parseScopeIn(context, s string) (systemScope, bool) {
	rest, ok := strings.CutPrefix(s, context)
	if !ok {
		return systemScope{}, false
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery && query == "" {
		return systemScope{}, false
	}
	resource, perm, ok := strings.Cut(rest, ".")
	if !ok || !validResource(resource) {
		return systemScope{}, false
	}
	sc := systemScope{resource: resource, query: query}
	switch perm {
	case "read":
		sc.perms = permRead | permSearch
	case "write":
		sc.perms = permCreate | permUpdate | permDelete
	case "*":
		sc.perms = permAll
	default:
		p, ok := parsePerms(perm)
		if !ok {
			return systemScope{}, false
		}
		sc.perms = p
	}
	// Search constraints are a v2 feature; a v1 scope with one is neither
	// form, and guessing what it means could grant too much.
	if hasQuery && (perm == "read" || perm == "write" || perm == "*") {
		return systemScope{}, false
	}
	return sc, true
}

// parsePerms accepts a non-empty, in-order subset of "cruds". SMART lets a
// server refuse out-of-order or repeated letters, and refusing them keeps
// one meaning per scope string.
func parsePerms(s string) (uint8, bool) {
	if s == "" {
		return 0, false
	}
	var perms uint8
	next := 0 // index in permLetters the next letter may start from
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(permLetters[next:], s[i])
		if j < 0 {
			return 0, false
		}
		perms |= 1 << (next + j)
		next += j + 1
	}
	return perms, true
}

// validResource accepts "*" or a name shaped like a FHIR resource type: an
// ASCII capital followed by ASCII letters.
func validResource(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" || len(s) > maxResourceType || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// validScopeToken is RFC 6749 section 3.3's scope-token: printable ASCII
// except '"' and '\'. It also makes the token safe to quote in an
// error_description.
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// covers reports whether the allowed scopes, together, give every permission
// req asks for. Scopes are a union of access (SMART "Scope Equivalence"), so
// "system/Patient.r system/Patient.s" covers "system/Patient.rs". An allowed
// scope with a search constraint only counts toward a request with the very
// same constraint: the constraint narrows it, and comparing constraints
// beyond equality would mean interpreting FHIR search.
func covers(allowed []systemScope, req systemScope) bool {
	var have uint8
	for _, a := range allowed {
		if a.resource != "*" && a.resource != req.resource {
			continue
		}
		if a.query != "" && a.query != req.query {
			continue
		}
		have |= a.perms
	}
	return req.perms&^have == 0
}

// GrantScopes intersects the requested scope string (space separated, SMART
// v1 "system/Patient.read" and v2 "system/Patient.rs" forms) with the
// client's allowed scopes. Wildcards: allowed "system/*.read" covers any
// "system/X.read". Only "system/" scopes are allowed for backend services;
// "user/", "patient/" and unknown forms are refused with invalid_scope, as is
// a request of which nothing remains. Returns the granted scopes in request
// order, without duplicates, spelled as requested.
//
// Well-formed system scopes the client is not allowed are dropped rather than
// refused; the token response's scope field tells the client what it got. An
// allowed entry that does not parse grants nothing (see ValidateScopes).
func GrantScopes(requested string, allowed []string) ([]string, error) {
	return grant(grantRules{
		context:      contextSystem,
		otherContext: "only system/ scopes can be requested by a backend service: ",
		noScope:      "scope is required",
		noneAllowed:  "none of the requested scopes is allowed for this client",
	}, requested, allowed)
}

// grantRules are what differs between a backend service's request and a
// staff app's: the context whose scopes are granted, SMART scopes that are
// dropped without a word, and the reasons given when refusing.
type grantRules struct {
	context      string
	ignored      map[string]bool
	otherContext string // refusal of a scope of another context, before the scope
	noScope      string
	noneAllowed  string
}

// grant intersects requested with the allowed scopes of r.context.
func grant(r grantRules, requested string, allowed []string) ([]string, error) {
	if len(requested) > maxScopeBytes {
		return nil, newError(CodeInvalidScope, "scope is too long")
	}
	var permitted []systemScope
	for _, a := range allowed {
		if sc, ok := parseScopeIn(r.context, a); ok {
			permitted = append(permitted, sc)
		}
	}
	var granted []string
	seen := make(map[string]bool)
	// RFC 6749 separates scope tokens by single spaces; extra spaces are
	// tolerated, any other whitespace makes the token invalid below.
	for _, tok := range strings.Split(requested, " ") {
		if tok == "" {
			continue
		}
		if !validScopeToken(tok) {
			return nil, newError(CodeInvalidScope, "malformed scope")
		}
		if r.ignored[tok] {
			continue
		}
		sc, ok := parseScopeIn(r.context, tok)
		if !ok {
			for _, c := range []string{contextSystem, contextUser, "patient/"} {
				if c != r.context && strings.HasPrefix(tok, c) {
					return nil, newError(CodeInvalidScope, r.otherContext+truncate(tok))
				}
			}
			return nil, newError(CodeInvalidScope, "unsupported scope: "+truncate(tok))
		}
		if seen[tok] {
			continue
		}
		seen[tok] = true
		if covers(permitted, sc) {
			granted = append(granted, tok)
		}
	}
	if len(seen) == 0 {
		return nil, newError(CodeInvalidScope, r.noScope)
	}
	if len(granted) == 0 {
		return nil, newError(CodeInvalidScope, r.noneAllowed)
	}
	return granted, nil
}

// NamedScopes returns the granted system/ scopes that the client's allowed
// scopes cover without a wildcard: those the administrator who registered
// the client gave it type by type. A wildcard lets a client read and
// search, but what is granted only deliberately (the audit log, a bulk
// export) must be named, and a scope a client asks for by name through a
// wildcard is still spelled as it asked: only the allowed scopes can tell
// the two apart, and they are known only here, when the token is issued.
// A granted wildcard is never named, and neither is a scope that needs a
// wildcard for part of its permissions.
func NamedScopes(granted, allowed []string) []string {
	var named []systemScope
	for _, a := range allowed {
		if sc, ok := parseSystemScope(a); ok && sc.resource != "*" {
			named = append(named, sc)
		}
	}
	out := []string{}
	for _, g := range granted {
		if sc, ok := parseSystemScope(g); ok && covers(named, sc) {
			out = append(out, g)
		}
	}
	return out
}

// ValidateScopes checks the scopes an administrator allows a client, so a
// typing mistake is reported when it is made instead of silently granting
// nothing.
func ValidateScopes(allowed []string) error { return validateIn(contextSystem, allowed) }

// validateIn checks that every allowed scope is a scope of context.
func validateIn(context string, allowed []string) error {
	for _, a := range allowed {
		if !validScopeToken(a) {
			return fmt.Errorf("smart: scope %q is not a valid OAuth scope", a)
		}
		if _, ok := parseScopeIn(context, a); !ok {
			return fmt.Errorf("smart: scope %q is not a SMART %s scope", a, context)
		}
	}
	return nil
}

// truncate keeps an echoed scope short in an error description.
func truncate(s string) string {
	const maxEcho = 80
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}

// Permits reports whether the granted scopes allow every one of perms
// ("c", "r", "u", "d", "s" letters, in any order) on resourceType, with no
// search constraint: a constrained scope narrows what a search may return,
// which only a FHIR search that applies the constraint could honour, so it
// permits nothing here.
func Permits(granted []string, resourceType, perms string) bool {
	var want uint8
	for _, c := range perms {
		i := strings.IndexRune(permLetters, c)
		if i < 0 {
			return false
		}
		want |= 1 << i
	}
	if want == 0 || !validResource(resourceType) || resourceType == "*" {
		return false
	}
	var parsed []systemScope
	for _, g := range granted {
		if sc, ok := parseSystemScope(g); ok && sc.query == "" {
			parsed = append(parsed, sc)
		}
	}
	return covers(parsed, systemScope{resource: resourceType, perms: want})
}
