package password

import (
	"errors"
	"strings"
	"testing"
)

// accept fails the test unless Check accepts pw.
func accept(t *testing.T, pw string, context ...string) {
	t.Helper()
	if err := Check(pw, context...); err != nil {
		t.Errorf("Check(%q, %q) = %v, want nil", pw, context, err)
	}
}

// refuse fails the test unless Check refuses pw with a *PolicyError whose
// message contains want.
func refuse(t *testing.T, pw, want string, context ...string) {
	t.Helper()
	err := Check(pw, context...)
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Errorf("Check(%q, %q) = %v, want a *PolicyError", pw, context, err)
		return
	}
	if !strings.Contains(pe.Error(), want) {
		t.Errorf("Check(%q, %q) = %q, want it to say %q", pw, context, pe.Error(), want)
	}
}

func TestCheckLength(t *testing.T) {
	refuse(t, "", "at least 12 characters long. It is 0.")
	refuse(t, "quasar-tuli", "Your password must be at least 12 characters long. It is 11.")
	accept(t, "quasar-tulip")
	long := "Seven ochre walruses argue politely about the tide at dawn; 1984"
	if n := len([]rune(long)); n != 64 {
		t.Fatalf("test data: %d characters, want 64", n)
	}
	accept(t, long)
	accept(t, strings.Repeat("lorem ipsum dolor sit amet, ", 10)[:MaxLength])
	refuse(t, strings.Repeat("x", MaxLength+1), "at most 256 characters long. It is 257.")
}

func TestCheckCountsCharacters(t *testing.T) {
	// 11 and 12 cats: 44 and 48 bytes, but 11 and 12 characters.
	refuse(t, strings.Repeat("🐈", 11), "It is 11.")
	accept(t, strings.Repeat("🐈", 12))
	accept(t, "ünïcödé wörds")             // accented letters, one character each
	accept(t, "пароль для больницы")       // Cyrillic
	accept(t, "病院のパスワードです長い")              // Japanese: 12 characters, 36 bytes
	accept(t, "   spaces    everywhere  ") // spaces allowed and kept
	refuse(t, "ünïcödé wör", "It is 11.")
	// Decomposed accents are normalised (NFKC) before counting: 6 letters
	// with combining accents are 6 characters, not 12.
	refuse(t, "e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", "It is 6.")
}

func TestCheckCommon(t *testing.T) {
	for _, pw := range []string{
		"password1234",
		"PASSWORD1234", // case is ignored
		"Password1234",
		"ｐａｓｓｗｏｒｄ１２３４", // full-width forms, NFKC to "password1234"
		"qwertyuiopasdfghjkl",
		"iloveyou1234",
	} {
		refuse(t, pw, "This password is on a list of common or breached passwords. Choose another one.")
	}
	// Upper and lower case, a digit and symbols: composition rules would
	// pass this keyboard walk, but it is on the list.
	refuse(t, "!QAZ2wsx#EDC", "common or breached")
}

func TestCheckContext(t *testing.T) {
	refuse(t, "haven-is-my-home", `must not contain "haven"`, "haven")
	refuse(t, "my HAVEN password", `must not contain "Haven"`, "Haven")
	refuse(t, "jsmith.correct.horse", `must not contain "jsmith"`, "haven", "jsmith")
	refuse(t, "  jsmith1982  ", `"jsmith1982"`, "jsmith1982") // equal, not only contained
	// Words shorter than 4 characters are ignored: they occur by chance.
	accept(t, "bobcat-lantern-9", "bob", "", "  ")
	// Context words are compared after normalisation too.
	refuse(t, "ｈａｖｅｎ rocks today", `"haven"`, "haven")
	accept(t, "tumbling ochre giraffe", "haven", "jsmith")
}

func TestPolicyErrorMessages(t *testing.T) {
	err := Check("short")
	if err == nil || err.Error() != "Your password must be at least 12 characters long. It is 5." {
		t.Fatalf("Check(\"short\") = %v", err)
	}
}
