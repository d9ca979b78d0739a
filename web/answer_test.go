package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/havencare/haven/store"
)

// TestAnswerEndsSharedReads: a request's shared read transaction ends when
// it starts to answer, by header or by body, so that a slow client taking
// a large answer holds no reader connection.
func TestAnswerEndsSharedReads(t *testing.T) {
	for name, answer := range map[string]func(http.ResponseWriter){
		"header": func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"body":   func(w http.ResponseWriter) { w.Write([]byte("{}")) },
	} {
		_, reads := store.ShareReads(context.Background())
		w := endReadsOnAnswer{httptest.NewRecorder(), reads}
		if reads.Ended() {
			t.Fatalf("%s: the reads ended before the answer", name)
		}
		answer(w)
		if !reads.Ended() {
			t.Errorf("%s: the reads are still shared after the answer began", name)
		}
	}
	// http.ResponseController finds the connection's writer underneath.
	rec := httptest.NewRecorder()
	_, reads := store.ShareReads(context.Background())
	if err := http.NewResponseController(endReadsOnAnswer{rec, reads}).Flush(); err != nil {
		t.Fatalf("flush through the wrapper: %v", err)
	}
}
