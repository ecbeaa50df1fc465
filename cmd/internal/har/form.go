package har

import (
	"strings"

	"golang.org/x/net/html"
)

// form is one <form> of a page, as a browser would submit it.
type form struct {
	action, method string // as written; method lower case, "" for the default (get)
	inputs         []input
}

// input is one named field of a form.
type input struct {
	name, kind, value string // kind: the input's type, lower case ("text" when unset), or select, textarea
}

func (f form) has(kind string) bool {
	for _, in := range f.inputs {
		if in.kind == kind {
			return true
		}
	}
	return false
}

func (f form) field(name string) (input, bool) {
	for _, in := range f.inputs {
		if in.name == name {
			return in, true
		}
	}
	return input{}, false
}

// forms reads the forms of an HTML page with a tokenizer, as lenient as a browser about unclosed tags.
func forms(page string) []form {
	var out []form
	cur := -1
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "form" {
				cur = -1
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
			switch tag := string(name); tag {
			case "form":
				out = append(out, form{action: attrs["action"], method: strings.ToLower(attrs["method"])})
				cur = len(out) - 1
			case "input", "select", "textarea", "button":
				if cur < 0 || attrs["name"] == "" {
					continue
				}
				kind := tag
				if tag == "input" || tag == "button" {
					kind = strings.ToLower(strings.TrimSpace(attrs["type"]))
					if kind == "" {
						kind = map[string]string{"input": "text", "button": "submit"}[tag]
					}
				}
				out[cur].inputs = append(out[cur].inputs, input{name: attrs["name"], kind: kind, value: attrs["value"]})
			}
		}
	}
}
