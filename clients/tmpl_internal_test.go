package clients

import (
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The plain-parts fast path must render what text/template renders, and step aside for anything else.
func TestPlainPartsRenderAsTheTemplate(t *testing.T) {
	data := []any{
		pageData{ID: 7, User: "user7", Password: "p<&>w", Page: 12},
		userData{ID: 3, User: "user3", Password: "secret"},
		passwordData{ID: 4, User: "user4"},
		nameData{ID: 5},
	}
	cases := []struct {
		text  string
		plain bool
	}{
		{"/page/{{.Page}}", true},
		{"/u/{{.User}}/{{.ID}}?p={{.Page}}&x={{.Password}}", true},
		{"{{.ID}}", true},
		{"user{{.ID}}", true},
		{"{{.User}}-{{.ID}}", true},
		{"{{.Password}}", true},
		{"/a/{{ .Page }}/b", true},
		{"/long/" + strings.Repeat("x", 200) + "/{{.User}}/{{.Page}}", true}, // longer than renderParts' buffer
		{"/p/{{.Page | printf \"%03d\"}}", false},
		{"/p/{{if .Page}}x{{end}}", false},
		{"/p/{{$x := .Page}}{{$x}}", false},
		{"/p/{{.Nope}}", false},
	}
	for _, c := range cases {
		tt, err := template.New("k").Option("missingkey=error").Parse(c.text)
		require.NoError(t, err, c.text)
		out := tmpl{text: c.text, t: tt, parts: plainParts(tt)}
		assert.Equal(t, c.plain, out.parts != nil, c.text)
		for _, d := range data {
			tt2, _ := template.New("k").Option("missingkey=error").Parse(c.text)
			want, wantErr := tmpl{text: c.text, t: tt2}.render(d)
			got, gotErr := out.render(d)
			assert.Equal(t, wantErr != nil, gotErr != nil, "%s on %T", c.text, d)
			assert.Equal(t, want, got, "%s on %T", c.text, d)
		}
	}
}
