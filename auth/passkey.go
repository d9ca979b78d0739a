package auth

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/havencare/haven"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
)

// ErrPasskey is the answer to a passkey that did not verify.
var ErrPasskey = errors.New("that passkey could not be verified")

// errCloned marks a passkey whose sign count went backwards.
var errCloned = errors.New("auth: cloned authenticator")

// newWebAuthn configures the relying party for origin. Every ceremony asks
// for user verification (PIN or biometric on the authenticator), which is
// what makes a passkey two factors in one, and registration asks for a
// discoverable credential so the passkey alone can start a sign-in.
func newWebAuthn(origin string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("auth: origin %q is not an http(s) origin", origin)
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "Haven",
		RPOrigins:     []string{strings.TrimRight(origin, "/")},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
}

func passkeyID(p Passkey) string { return "passkey:" + hex.EncodeToString(p.Credential.ID) }

// BeginPasskeyRegistration starts adding a passkey to the session's
// account (an enrolment session, or a stepped-up one).
func (s *Service) BeginPasskeyRegistration(ctx context.Context, token, name string) (*protocol.CredentialCreation, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > 60 {
		return nil, haven.Invalid("name", "give the passkey a name of up to 60 characters")
	}
	var out *protocol.CredentialCreation
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if err := s.mayChangeFactors(ss); err != nil {
			return err
		}
		var exclude []protocol.CredentialDescriptor
		for _, c := range ss.Account.WebAuthnCredentials() {
			exclude = append(exclude, c.Descriptor())
		}
		creation, data, err := s.wa.BeginRegistration(ss.Account, webauthn.WithExclusions(exclude))
		if err != nil {
			return err
		}
		if !s.cer.put(s.Now(), ss.ID, ceremony{data: *data, purpose: "register", owner: ss.ID, name: name}) {
			return &ThrottledError{RetryAfter: 10 * time.Second}
		}
		out = creation
		return nil
	})
	return out, err
}

// FinishPasskeyRegistration checks the browser's answer and adds the
// passkey.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, token string, body []byte, c ClientInfo) (Enrolled, error) {
	parsed, perr := protocol.ParseCredentialCreationResponseBytes(body)
	var out Enrolled
	var answer error
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if err := s.mayChangeFactors(ss); err != nil {
			return err
		}
		cer, ok := s.cer.take(s.Now(), ss.ID, "register", ss.ID)
		if !ok || perr != nil {
			answer = ErrPasskey
			return nil
		}
		a, err := loadAccount(tx, tk, ss.Account.ID)
		if err != nil {
			return err
		}
		cred, err := s.wa.CreateCredential(a.Account, cer.data, parsed)
		if err != nil || !cred.Flags.UserVerified {
			answer = ErrPasskey
			return nil
		}
		a.Passkeys = append(a.Passkeys, Passkey{Name: cer.name, Added: s.Now().UTC(), Credential: *cred})
		out, err = s.factorAdded(tx, tk, ss, &a, "passkey", c)
		return err
	})
	if err != nil {
		return Enrolled{}, err
	}
	return out, answer
}

// BeginPasskeySignIn starts a passkey-only sign-in: the browser offers the
// passkeys it holds for this site, and the one chosen names the account.
// The returned id names the ceremony (the caller keeps it in a cookie).
func (s *Service) BeginPasskeySignIn(ctx context.Context, c ClientInfo) (*protocol.CredentialAssertion, string, error) {
	assertion, data, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", err
	}
	id := newSecret(32)
	if !s.anon.put(s.Now(), id, ceremony{data: *data, purpose: "sign-in", addr: c.Addr}) {
		return nil, "", &ThrottledError{RetryAfter: 10 * time.Second}
	}
	return assertion, id, nil
}

// FinishPasskeySignIn checks a passkey sign-in and returns a multi-factor
// session.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremonyID string, body []byte, c ClientInfo) (*Session, error) {
	now := s.Now()
	if d := s.throttle.wait(now, addrKey(c.Addr)); d > 0 {
		return nil, &ThrottledError{RetryAfter: d}
	}
	cer, ok := s.anon.take(now, ceremonyID, "sign-in", "")
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if !ok || err != nil {
		s.throttle.fail(now, addrKey(c.Addr))
		return nil, ErrPasskey
	}
	refuse := func() (*Session, error) {
		s.throttle.fail(now, addrKey(c.Addr))
		return nil, ErrPasskey
	}
	partition, id, ok := strings.Cut(string(parsed.Response.UserHandle), "/")
	if !ok || (partition != haven.SupplierPartition && !haven.ValidTenantID(partition)) {
		return refuse()
	}
	var out *Session
	var answer error
	err = s.in(ctx, partition, func(tx store.Tx, tk *seal.TenantKey) error {
		a, err := loadAccount(tx, tk, id)
		if errors.Is(err, haven.ErrNotFound) {
			answer = ErrPasskey
			s.throttle.fail(now, addrKey(c.Addr))
			return nil
		} else if err != nil {
			return err
		}
		fail := func(outcome string) error {
			answer = ErrPasskey
			s.throttle.fail(now, addrKey(c.Addr))
			return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionSignInFailed, recordID: a.ID, outcome: outcome, addr: c.Addr, purpose: "passkey"})
		}
		if a.IsLocked() || a.Status != StatusActive {
			return fail("denied")
		}
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, a.Handle) {
				return nil, ErrPasskey
			}
			return a.Account, nil
		}
		_, cred, verr := s.wa.ValidatePasskeyLogin(handler, cer.data, parsed)
		if verr != nil {
			return fail("denied")
		}
		if !s.updatePasskey(&a, cred) {
			return fail("cloned-authenticator")
		}
		// A passkey-only sign-in starts from nothing, so there is no
		// pending session to replace.
		a.Failures, a.LastSeen = 0, s.Now().UTC()
		if err := s.saveAccount(tx, tk, &a); err != nil {
			return err
		}
		if out, err = s.startSession(tx, tk, a.Account, StageMFA, c); err != nil {
			return err
		}
		return s.record(tx, event{actor: a.ID, role: string(a.Role), action: ActionSignIn, recordID: a.ID, addr: c.Addr, purpose: "passkey"})
	})
	if errors.Is(err, errNoPartition) {
		return refuse() // a handle naming no tenant: same answer as any bad passkey
	}
	if err != nil {
		return nil, err
	}
	return out, answer
}

// updatePasskey stores the sign count and flags the library updated. It
// refuses a credential whose sign count went backwards: the mark of a
// cloned authenticator.
func (s *Service) updatePasskey(a *accountRow, cred *webauthn.Credential) bool {
	if cred.Authenticator.CloneWarning {
		return false
	}
	for i := range a.Passkeys {
		if bytes.Equal(a.Passkeys[i].Credential.ID, cred.ID) {
			a.Passkeys[i].Credential = *cred
			a.Passkeys[i].LastUsed = s.Now().UTC()
			return true
		}
	}
	return false
}

// BeginPasskeyConfirm asks the session's account to confirm with one of
// its passkeys: the second step of a password sign-in, or a step-up.
func (s *Service) BeginPasskeyConfirm(ctx context.Context, token string) (*protocol.CredentialAssertion, error) {
	var out *protocol.CredentialAssertion
	err := s.session(ctx, token, func(tx store.Tx, tk *seal.TenantKey, ss *Session) error {
		if len(ss.Account.Passkeys) == 0 {
			return haven.Invalid("passkey", "this account has no passkey")
		}
		assertion, data, err := s.wa.BeginLogin(ss.Account, webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
		if !s.cer.put(s.Now(), ss.ID, ceremony{data: *data, purpose: "confirm", owner: ss.ID}) {
			return &ThrottledError{RetryAfter: 10 * time.Second}
		}
		out = assertion
		return nil
	})
	return out, err
}

// FinishPasskeyConfirm checks the confirmation.
func (s *Service) FinishPasskeyConfirm(ctx context.Context, token string, body []byte, c ClientInfo) (*Session, error) {
	parsed, perr := protocol.ParseCredentialRequestResponseBytes(body)
	return s.factorAttempt(ctx, token, c, "passkey", func(ss *Session, a *accountRow) (bool, error) {
		cer, ok := s.cer.take(s.Now(), ss.ID, "confirm", ss.ID)
		if !ok || perr != nil {
			return false, nil
		}
		cred, err := s.wa.ValidateLogin(a.Account, cer.data, parsed)
		if err != nil {
			return false, nil
		}
		if !s.updatePasskey(a, cred) {
			return false, errCloned
		}
		return true, nil
	}, false)
}
