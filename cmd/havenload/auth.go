package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// SMART Backend Services form values (RFC 7523).
const (
	grantType     = "client_credentials"
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// refreshBefore is how long before expiry a token is replaced.
const refreshBefore = 30 * time.Second

// tokenSource gets access tokens with a private_key_jwt client assertion
// and replaces each before it expires (SMART tokens live at most 5 minutes).
type tokenSource struct {
	http     *http.Client
	clientID string
	key      *ecdsa.PrivateKey
	kid      string
	scope    string
	tokenURL string

	mu      sync.Mutex
	current string
	expires time.Time
	fetched int
}

// token returns a token valid for at least refreshBefore, fetching a new
// one if needed. Concurrent callers wait for one fetch.
func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current != "" && time.Until(t.expires) > refreshBefore {
		return t.current, nil
	}
	return t.fetchLocked(ctx)
}

// invalidate drops tok after the server refused it (401), so the next
// request fetches a new one. A token already replaced is left alone.
func (t *tokenSource) invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current == tok {
		t.current = ""
	}
}

func (t *tokenSource) fetchLocked(ctx context.Context) (string, error) {
	assertion, err := t.assertion()
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {grantType}, "scope": {t.scope},
		"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, "POST", t.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := t.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token request: %s: %.500s", res.Status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token response without an access token: %.500s", body)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Minute
	}
	t.current, t.expires = tr.AccessToken, time.Now().Add(life)
	t.fetched++
	return t.current, nil
}

// assertion is a signed client assertion JWT (ES384, kid in the header).
func (t *tokenSource) assertion() (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: t.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", t.kid))
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	now := time.Now()
	return jwt.Signed(signer).Claims(map[string]any{
		"iss": t.clientID, "sub": t.clientID, "aud": t.tokenURL,
		"iat": now.Unix(), "exp": now.Add(4 * time.Minute).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
	}).Serialize()
}

// loadKey reads a P-384 private key (PKCS #8 or SEC 1 PEM) and its
// default kid, the RFC 7638 thumbprint of the public key.
func loadKey(path string) (*ecdsa.PrivateKey, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, "", fmt.Errorf("%s: no PEM block", path)
	}
	var key *ecdsa.PrivateKey
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
			var ok bool
			if key, ok = k.(*ecdsa.PrivateKey); !ok {
				err = errors.New("not an EC key (havenload signs ES384 only)")
			}
		}
	default:
		err = fmt.Errorf("PEM block %q is not a private key", blk.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if key.Curve != elliptic.P384() {
		return nil, "", fmt.Errorf("%s: the key must be on P-384 (ES384)", path)
	}
	kid, err := thumbprint(&key.PublicKey)
	return key, kid, err
}

func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

func cmdKeygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	keyFile := fs.String("key", "", "file to write the private key to (PEM, mode 0600)")
	jwksFile := fs.String("jwks", "", "file to write the public JSON Web Key Set to")
	kid := fs.String("kid", "", "key id (default: the RFC 7638 thumbprint)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || *jwksFile == "" {
		return errors.New("keygen: -key and -jwks are required")
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	id := *kid
	if id == "" {
		if id, err = thumbprint(&key.PublicKey); err != nil {
			return err
		}
	}
	set, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: id, Algorithm: string(jose.ES384), Use: "sig"}}}, "", " ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(*jwksFile, append(set, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "private key: %s\npublic key set: %s (kid %s)\n", *keyFile, *jwksFile, id)
	if *kid != "" {
		fmt.Fprintf(stdout, "pass -kid %s to seed and run\n", *kid)
	}
	return nil
}
