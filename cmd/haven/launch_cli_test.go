package main

import (
	"context"
	"os"
	"slices"
	"testing"
)

// TestAdminRegisterApp: a staff app is registered from the console with
// its exact redirect URIs and user/ scopes; anything else is refused.
func TestAdminRegisterApp(t *testing.T) {
	dir := t.TempDir()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	stdout := os.Stdout
	os.Stdout = devnull
	defer func() { os.Stdout = stdout }()
	if err := run([]string{"admin", "create-tenant", "--data", dir, "--id", "aire-valley", "--name", "Aire Valley Home Care"}); err != nil {
		t.Fatal(err)
	}
	ok := []string{"admin", "register-app", "--data", dir, "--tenant", "aire-valley", "--name", "Rota app",
		"--redirect-uri", "https://rota.example/cb", "--redirect-uri", "http://127.0.0.1:7777/cb", "--scopes", "user/Patient.rs user/Appointment.rs"}
	if err := run(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"admin", "register-app", "--data", dir, "--tenant", "aire-valley", "--name", "No redirect", "--scopes", "user/Patient.rs"},
		{"admin", "register-app", "--data", dir, "--tenant", "aire-valley", "--name", "Plain http", "--redirect-uri", "http://rota.example/cb", "--scopes", "user/Patient.rs"},
		{"admin", "register-app", "--data", dir, "--tenant", "aire-valley", "--name", "System scope", "--redirect-uri", "https://rota.example/cb", "--scopes", "system/*.rs"},
		{"admin", "register-app", "--data", dir, "--tenant", "no-such-tenant", "--name", "X", "--redirect-uri", "https://rota.example/cb", "--scopes", "user/Patient.rs"},
	} {
		if err := run(bad); err == nil {
			t.Errorf("%v succeeded", bad[5:])
		}
	}
	a, err := open(context.Background(), options{data: dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	apps, err := a.auth.StaffApps(context.Background(), operator("aire-valley", "test"))
	if err != nil || len(apps) != 1 || apps[0].Name != "Rota app" || !slices.Equal(apps[0].RedirectURIs, []string{"https://rota.example/cb", "http://127.0.0.1:7777/cb"}) {
		t.Fatalf("apps: %+v, %v", apps, err)
	}
	if clients, err := a.auth.Clients(context.Background(), operator("aire-valley", "test")); err != nil || len(clients) != 0 {
		t.Errorf("a staff app is listed as a backend client: %+v %v", clients, err)
	}
}
