package teslatest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// HistoryEndpoint is the Slack stand-in's counter key.
const HistoryEndpoint = "POST /api/conversations.history"

func (s *Sim) slackRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(HistoryEndpoint, s.history)
	mux.HandleFunc("GET /api/conversations.history", s.history)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		slackAnswer(w, map[string]any{"ok": false, "error": "unknown_method"})
	})

	return mux
}

func slackAnswer(w http.ResponseWriter, v any) { simkit.WriteJSON(w, http.StatusOK, v) }

// renderSlackRateLimit is Slack's 429: Retry-After in whole seconds.
func renderSlackRateLimit(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
	simkit.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
}

// history is conversations.history: the token as a form field or a bearer
// header, the channel, newest messages first, limit (default 100, at most
// 999) and an opaque cursor in response_metadata.next_cursor while
// has_more is true.
func (s *Sim) history(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}

	token := r.Form.Get("token")
	if h := r.Header.Get("Authorization"); token == "" && strings.HasPrefix(strings.ToLower(h), "bearer ") {
		token = strings.TrimSpace(h[7:])
	}

	switch {
	case token == "":
		slackAnswer(w, map[string]any{"ok": false, "error": "not_authed"})
		return
	case token != s.opts.SlackToken:
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	case r.Form.Get("channel") != s.opts.SlackChannel:
		slackAnswer(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}

	limit := 100
	if v := r.Form.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			slackAnswer(w, map[string]any{"ok": false, "error": "invalid_limit"})
			return
		}

		limit = min(n, 999)
	}

	cursor := r.Form.Get("cursor")
	if cursor == "" && !s.opts.ManualTokens {
		s.renewTokens()
	}

	msgs := s.Messages() // oldest first
	start := len(msgs) - 1
	if cursor != "" {
		ts, ok := decodeCursor(cursor)
		if !ok {
			slackAnswer(w, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}

		start = -1
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].TS == ts {
				start = i
				break
			}
		}

		if start < 0 {
			slackAnswer(w, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}
	}

	var page []map[string]any
	i := start
	for ; i >= 0 && len(page) < limit; i-- {
		page = append(page, wireMessage(msgs[i]))
	}

	body := map[string]any{
		"ok": true, "messages": page, "has_more": i >= 0, "pin_count": 0,
		"channel_actions_ts": nil, "channel_actions_count": 0,
	}
	if page == nil {
		body["messages"] = []any{}
	}

	if i >= 0 {
		body["response_metadata"] = map[string]any{"next_cursor": encodeCursor(msgs[i].TS)}
	}

	slackAnswer(w, body)
}

// renewTokens posts a fresh token for each account whose newest one is no
// longer valid, as the posting system does on its schedule.
func (s *Sim) renewTokens() {
	for _, a := range s.Accounts() {
		s.mu.Lock()
		last := s.lastTok[a]
		s.mu.Unlock()

		if _, ok := s.tokens.Valid(last); !ok {
			s.PostToken(a)
		}
	}
}

func wireMessage(m SlackMessage) map[string]any {
	out := map[string]any{
		"type": "message", "subtype": "bot_message", "text": m.Text, "ts": m.TS,
		"bot_id": "B0FAKEBOT", "app_id": "A0FAKEAPP", "team": "T0FAKETEAM",
		"bot_profile": map[string]any{"id": "B0FAKEBOT", "name": "token-poster", "deleted": false},
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = json.RawMessage(m.Blocks)
	}

	return out
}

// Cursors look like Slack's: base64 of "next_ts:<ts>".
func encodeCursor(ts string) string {
	return base64.StdEncoding.EncodeToString([]byte("next_ts:" + ts))
}

func decodeCursor(c string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}

	ts, ok := strings.CutPrefix(string(b), "next_ts:")

	return ts, ok
}
