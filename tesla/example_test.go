package tesla_test

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/vehicleinfo/ingest/tesla"
)

// A token message as the posting system writes it: a rich_text block whose
// first text names the account and whose fourth element is the token
// document.
func ExampleParseTokenMessage() {
	raw := `{"type":"message","ts":"1700000000.000100","blocks":[{"type":"rich_text","elements":[
	  {"type":"rich_text_section","elements":[
	    {"type":"text","text":"ACCESS_TOKEN_ACME:","style":{"bold":true}},
	    {"type":"text","text":"\n"},
	    {"type":"text","text":"Fleet API access token\n"},
	    {"type":"text","text":"{\"access_token\":\"fake-access\",\"expires_in\":3600}","style":{"code":true}}
	  ]}]}]}`

	var m slack.Message
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		fmt.Println(err)
		return
	}

	account, tok, err := tesla.ParseTokenMessage(m)
	if err != nil {
		fmt.Println(err)
		return
	}

	fmt.Println(account, tok.AccessToken, tok.Expiry.UTC().Format("2006-01-02 15:04"))
	// Output: ACME fake-access 2023-11-14 23:13
}
