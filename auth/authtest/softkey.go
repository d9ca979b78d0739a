package authtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
)

// SoftKey is a software WebAuthn authenticator together with the browser
// in front of it: it answers the options a relying party sends
// (protocol.CredentialCreation, protocol.CredentialAssertion) with the
// JSON body a browser posts back. It holds discoverable (resident) ES256
// credentials on P-256, each with its own signature counter and the user
// handle it was created for, and attests with the "none" format.
//
// The browser tests use Chromium's virtual authenticator; SoftKey lets
// service-level and HTTP tests hold passkeys. Its knobs (UserVerified,
// SetCounter, Clone, Answer) let tests play a broken authenticator or an
// attacker. It is safe for concurrent use.
type SoftKey struct {
	// Origin is the origin the browser reports in clientDataJSON.
	Origin string
	// RPID is the relying party id used when the options name none.
	RPID string
	// UserVerified sets the UV flag: the authenticator checked a PIN or a
	// biometric. NewSoftKey sets it; clear it to play an authenticator
	// that only checks presence.
	UserVerified bool
	// BackupEligible makes credentials created from now on synced passkeys
	// (flags BE and BS) instead of device-bound ones (neither flag).
	BackupEligible bool
	// NoSignCount makes every answer report a signature counter of zero,
	// as synced passkeys do. A relying party then cannot spot a replay or
	// a copy by the counter, only by its own checks.
	NoSignCount bool

	mu    sync.Mutex
	creds []*softCred
}

type softCred struct {
	id     []byte
	rpID   string
	user   []byte // user handle, kept because the credential is resident
	key    *ecdsa.PrivateKey
	count  uint32
	backup bool
}

// Answer bends one response, for tests that play an attacker or a broken
// client. The zero Answer is an honest browser.
type Answer struct {
	// Origin replaces the origin in clientDataJSON: the answer a phishing
	// page at another origin would relay.
	Origin string
	// RPID makes the authenticator data carry the hash of this RP id
	// instead of the one requested.
	RPID string
	// UserHandle replaces the user handle an assertion reports (the
	// credential still signs). NoUserHandle sends none at all.
	UserHandle   []byte
	NoUserHandle bool
	// ClaimID makes an assertion claim this credential id (id and rawId)
	// while the key signs with the credential it chose.
	ClaimID []byte
	// IgnoreAllowList makes an assertion sign with the first credential
	// for the RP even if allowCredentials does not name it.
	IgnoreAllowList bool
}

// NewSoftKey returns an empty authenticator used from origin (for
// example "http://localhost:8080"): its RP id is the origin's host, and it
// verifies the user.
func NewSoftKey(origin string) *SoftKey {
	origin = strings.TrimRight(origin, "/")
	rpID := ""
	if u, err := url.Parse(origin); err == nil {
		rpID = u.Hostname()
	}
	return &SoftKey{Origin: origin, RPID: rpID, UserVerified: true}
}

// Register answers a registration ceremony (as returned by
// auth.Service.BeginPasskeyRegistration) with the body for its finish
// endpoint.
func (k *SoftKey) Register(creation *protocol.CredentialCreation) ([]byte, error) {
	return k.RegisterWith(creation, Answer{})
}

// RegisterWith is Register bent by o (Origin and RPID apply).
//
// The new credential is kept whether or not the relying party accepts it,
// as on a real authenticator; it replaces any credential the key held for
// the same RP id and user handle.
func (k *SoftKey) RegisterWith(creation *protocol.CredentialCreation, o Answer) ([]byte, error) {
	if creation == nil {
		return nil, errors.New("softkey: no creation options")
	}
	opts := creation.Response
	if len(opts.Challenge) == 0 {
		return nil, errors.New("softkey: creation options without a challenge")
	}
	rpID := opts.RelyingParty.ID
	if rpID == "" {
		rpID = k.RPID
	}
	if !offersES256(opts.Parameters) {
		return nil, errors.New("softkey: the relying party does not accept ES256 keys")
	}
	user, err := userHandle(opts.User.ID)
	if err != nil {
		return nil, err
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range opts.CredentialExcludeList {
		if c := k.byID(d.CredentialID); c != nil && c.rpID == rpID {
			return nil, errors.New("softkey: this authenticator already holds an excluded credential (InvalidStateError)")
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cred := &softCred{id: make([]byte, 32), rpID: rpID, user: user, key: key, backup: k.BackupEligible}
	rand.Read(cred.id)

	cose, err := coseKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	// Attested credential data: AAGUID (zero: this authenticator does not
	// say what it is), credential id length, credential id, COSE key.
	att := make([]byte, 16, 16+2+len(cred.id)+len(cose))
	att = binary.BigEndian.AppendUint16(att, uint16(len(cred.id)))
	att = append(att, cred.id...)
	att = append(att, cose...)
	authData := k.authData(cred, firstNonEmpty(o.RPID, rpID), protocol.FlagAttestedCredentialData, att)

	attObj, err := webauthncbor.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": authData,
	})
	if err != nil {
		return nil, err
	}
	clientData, err := k.clientData(protocol.CreateCeremony, opts.Challenge, o)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(protocol.CredentialCreationResponse{
		PublicKeyCredential: publicKeyCredential(cred.id),
		AttestationResponse: protocol.AuthenticatorAttestationResponse{
			AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: clientData},
			Transports:            []string{"internal"},
			AuthenticatorData:     authData,
			PublicKey:             spki,
			PublicKeyAlgorithm:    int64(webauthncose.AlgES256),
			AttestationObject:     attObj,
		},
	})
	if err != nil {
		return nil, err
	}

	kept := k.creds[:0:0]
	for _, c := range k.creds {
		if c.rpID != rpID || string(c.user) != string(user) {
			kept = append(kept, c)
		}
	}
	k.creds = append(kept, cred)
	return body, nil
}

// Assert answers an authentication ceremony (auth.Service.BeginPasskeySignIn
// or BeginPasskeyConfirm) with the body for its finish endpoint, user
// handle included. With allowCredentials it signs with the first of them
// it holds; without (a discoverable sign-in) with its first credential
// for the RP. Each assertion adds one to that credential's counter
// (unless NoSignCount).
func (k *SoftKey) Assert(assertion *protocol.CredentialAssertion) ([]byte, error) {
	return k.AssertWith(assertion, Answer{})
}

// AssertWith is Assert bent by o.
func (k *SoftKey) AssertWith(assertion *protocol.CredentialAssertion, o Answer) ([]byte, error) {
	if assertion == nil {
		return nil, errors.New("softkey: no assertion options")
	}
	opts := assertion.Response
	if len(opts.Challenge) == 0 {
		return nil, errors.New("softkey: assertion options without a challenge")
	}
	rpID := opts.RelyingPartyID
	if rpID == "" {
		rpID = k.RPID
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	var cred *softCred
	if len(opts.AllowedCredentials) > 0 && !o.IgnoreAllowList {
		for _, d := range opts.AllowedCredentials {
			if c := k.byID(d.CredentialID); c != nil && c.rpID == rpID {
				cred = c
				break
			}
		}
	} else {
		for _, c := range k.creds {
			if c.rpID == rpID {
				cred = c
				break
			}
		}
	}
	if cred == nil {
		return nil, fmt.Errorf("softkey: no credential for %q (NotAllowedError)", rpID)
	}
	if !k.NoSignCount {
		cred.count++
	}
	authData := k.authData(cred, firstNonEmpty(o.RPID, rpID), 0, nil)
	clientData, err := k.clientData(protocol.AssertCeremony, opts.Challenge, o)
	if err != nil {
		return nil, err
	}
	cdHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, cred.key, digest[:])
	if err != nil {
		return nil, err
	}
	handle := cred.user
	switch {
	case o.NoUserHandle:
		handle = nil
	case o.UserHandle != nil:
		handle = o.UserHandle
	}
	id := cred.id
	if o.ClaimID != nil {
		id = o.ClaimID
	}
	return json.Marshal(protocol.CredentialAssertionResponse{
		PublicKeyCredential: publicKeyCredential(id),
		AssertionResponse: protocol.AuthenticatorAssertionResponse{
			AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: clientData},
			AuthenticatorData:     authData,
			Signature:             sig,
			UserHandle:            handle,
		},
	})
}

// SetCounter sets every credential's signature counter to n; the next
// assertion reports n+1. Setting it below a value already reported plays
// a cloned authenticator.
func (k *SoftKey) SetCounter(n uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.creds {
		c.count = n
	}
}

// Clone returns a copy of the authenticator holding the same private keys
// and counters: what an attacker who extracted the keys would hold. The
// two then count independently.
func (k *SoftKey) Clone() *SoftKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := &SoftKey{Origin: k.Origin, RPID: k.RPID, UserVerified: k.UserVerified, BackupEligible: k.BackupEligible, NoSignCount: k.NoSignCount}
	for _, cr := range k.creds {
		cp := *cr
		c.creds = append(c.creds, &cp)
	}
	return c
}

// CredentialIDs lists the ids of the credentials held, oldest first.
func (k *SoftKey) CredentialIDs() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out [][]byte
	for _, c := range k.creds {
		out = append(out, append([]byte(nil), c.id...))
	}
	return out
}

// UserHandle is the user handle of the first credential held (nil if
// none): the value a relying party gave the account.
func (k *SoftKey) UserHandle() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.creds) == 0 {
		return nil
	}
	return append([]byte(nil), k.creds[0].user...)
}

func (k *SoftKey) byID(id []byte) *softCred {
	for _, c := range k.creds {
		if string(c.id) == string(id) {
			return c
		}
	}
	return nil
}

// authData lays out authenticator data: SHA-256 of the RP id, flags,
// big-endian signature counter, then any attested credential data.
func (k *SoftKey) authData(c *softCred, rpID string, flags protocol.AuthenticatorFlags, attested []byte) []byte {
	flags |= protocol.FlagUserPresent
	if k.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.backup {
		flags |= protocol.FlagBackupEligible | protocol.FlagBackupState
	}
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], byte(flags))
	out = binary.BigEndian.AppendUint32(out, c.count)
	return append(out, attested...)
}

// clientData is the browser's collected client data.
func (k *SoftKey) clientData(typ protocol.CeremonyType, challenge []byte, o Answer) ([]byte, error) {
	return json.Marshal(protocol.CollectedClientData{
		Type:      typ,
		Challenge: base64.RawURLEncoding.EncodeToString(challenge),
		Origin:    firstNonEmpty(o.Origin, k.Origin),
	})
}

func publicKeyCredential(id []byte) protocol.PublicKeyCredential {
	return protocol.PublicKeyCredential{
		Credential:              protocol.Credential{ID: base64.RawURLEncoding.EncodeToString(id), Type: string(protocol.PublicKeyCredentialType)},
		RawID:                   id,
		AuthenticatorAttachment: string(protocol.Platform),
	}
}

// coseKey encodes an ECDSA P-256 public key as a COSE_Key (kty EC2, alg
// ES256, crv P-256, 32-byte x and y).
func coseKey(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes() // 0x04 || x || y
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{
			KeyType:   int64(webauthncose.EllipticKey),
			Algorithm: int64(webauthncose.AlgES256),
		},
		Curve:  int64(webauthncose.P256),
		XCoord: point[1:33],
		YCoord: point[33:65],
	})
}

func offersES256(params []protocol.CredentialParameter) bool {
	if len(params) == 0 {
		return true // the default list includes ES256
	}
	for _, p := range params {
		if p.Type == protocol.PublicKeyCredentialType && p.Algorithm == webauthncose.AlgES256 {
			return true
		}
	}
	return false
}

// userHandle reads the user entity id of creation options: bytes when the
// options come straight from the library, a base64url string when they
// were decoded from the JSON a relying party sent.
func userHandle(id any) ([]byte, error) {
	var b []byte
	switch v := id.(type) {
	case protocol.URLEncodedBase64:
		b = v
	case []byte:
		b = v
	case string:
		if d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil {
			b = d
		} else {
			b = []byte(v)
		}
	default:
		return nil, fmt.Errorf("softkey: user id of type %T", id)
	}
	if len(b) == 0 {
		return nil, errors.New("softkey: creation options without a user id")
	}
	return append([]byte(nil), b...), nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// softKeyClient is where the helpers below say requests come from.
var softKeyClient = auth.ClientInfo{Addr: "192.0.2.1", Device: "test"}

// EnrolPasskey invites an account, sets its password (Password) and
// registers key's new passkey as its first factor, as the enrolment pages
// do. Tenant admins and supplier operators must enrol this way.
func (e *Env) EnrolPasskey(t testing.TB, partition, email string, role haven.Role, key *SoftKey) Account {
	t.Helper()
	ctx := context.Background()
	inv := e.Invite(t, partition, email, role)
	sess, err := e.Auth.AcceptInvite(ctx, inv.Token, Password, softKeyClient)
	if err != nil {
		t.Fatal(err)
	}
	creation, err := e.Auth.BeginPasskeyRegistration(ctx, sess.Token, "Test passkey")
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.Register(creation)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Auth.FinishPasskeyRegistration(ctx, sess.Token, body, softKeyClient)
	if err != nil {
		t.Fatalf("enrol passkey for %s: %v", email, err)
	}
	return Account{ID: inv.AccountID, Email: email, Partition: partition, Role: role, RecoveryCodes: res.RecoveryCodes}
}

// SignInPasskey signs in with key's passkey alone (a discoverable
// sign-in) and returns the multi-factor session's cookie value.
func (e *Env) SignInPasskey(t testing.TB, key *SoftKey) string {
	t.Helper()
	ctx := context.Background()
	assertion, ceremony, err := e.Auth.BeginPasskeySignIn(ctx, auth.ClientInfo{Addr: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.Assert(assertion)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.Auth.FinishPasskeySignIn(ctx, ceremony, body, softKeyClient)
	if err != nil {
		t.Fatalf("passkey sign-in: %v", err)
	}
	return sess.Token
}
