package scenario

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates a scenario file. Each override is "dotted.key=VALUE" (VALUE in YAML, so lists work:
// clients.network.pools=["10.0.0.0/24"]) and replaces the file's value, as `sessionlab run --set` does. The error
// lists every problem, each with the file and line (or the --set) and the key.
func Load(path string, overrides ...string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data, overrides...)
}

// Parse is Load for a scenario already in memory; name is used in messages.
func Parse(name string, data []byte, overrides ...string) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if len(doc.Content) > 0 && doc.Content[0].Tag != "!!null" {
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: a scenario is a mapping of keys (name, seed, app, balancer, clients, faults, expect, journey, target)", name, root.Line)
	}
	return decode(name, root, Default(), overrides, false)
}

// With returns a copy of s with each override ("dotted.key=VALUE", VALUE in YAML) applied as --set applies it to a
// file, validated: for a scenario built in Go. Errors name the --set and the key.
func (s *Scenario) With(overrides ...string) (*Scenario, error) {
	var root yaml.Node
	if err := root.Encode(s); err != nil {
		return nil, fmt.Errorf("%s: %w", s.File(), err)
	}
	// What the Go value leaves empty is left out, so that only the overrides count as keys written.
	pruneEmpty(&root)
	return decode(s.File(), &root, Scenario{}, overrides, true)
}

// decode applies the overrides to root, checks every key and value, decodes it over start and validates the
// result. onlySets records where keys are only for the overrides' keys (the rest are a Go value's, not written).
func decode(name string, root *yaml.Node, start Scenario, overrides []string, onlySets bool) (*Scenario, error) {
	where := &positions{file: name, keys: map[string]int{}, sets: map[int]string{}}
	where.nextLine = maxLine(root) + 1
	var errs []error
	for _, o := range overrides {
		if err := where.override(root, o); err != nil {
			errs = append(errs, err)
		}
	}
	// Unknown keys do not stop decoding, so report them together with wrong types and out-of-range values.
	errs = append(errs, where.checkKeys(root, reflect.TypeFor[Scenario](), "")...)
	if onlySets {
		maps.DeleteFunc(where.keys, func(_ string, line int) bool { return !where.isSet(line) })
	}
	s := start
	if err := root.Decode(&s); err != nil {
		if len(errs) > 0 { // the type errors are already among them, with friendlier words
			return nil, errors.Join(errs...)
		}
		return nil, where.decodeErrors(err)
	}
	s.where = where
	for _, e := range s.Validate() {
		errs = append(errs, where.locate(e))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &s, nil
}

// pruneEmpty removes the keys of every mapping under n whose value is null or an empty list or mapping.
func pruneEmpty(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		for _, c := range n.Content {
			pruneEmpty(c)
		}
		return
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		pruneEmpty(v)
		if v.ShortTag() == "!!null" || ((v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode) && len(v.Content) == 0) {
			continue
		}
		kept = append(kept, n.Content[i], v)
	}
	n.Content = kept
}

// positions remembers where each dotted key was written: a line of the file, or a --set (recorded on a line number
// past the file's end, so the YAML library's line-numbered errors point at it too).
type positions struct {
	file     string
	keys     map[string]int // dotted key -> line
	sets     map[int]string // line past the file's end -> the --set it came from
	nextLine int
}

func (p *positions) at(line int) string {
	if set, ok := p.sets[line]; ok {
		return "--set " + set
	}
	if line <= 0 {
		return p.file
	}
	return p.file + ":" + strconv.Itoa(line)
}

// locate prefixes an error naming a key with where that key was written.
func (p *positions) locate(err error) error {
	var key string
	if ke := (*KeyError)(nil); errors.As(err, &ke) {
		key = ke.Key
	}
	if line, ok := p.keys[key]; ok {
		return fmt.Errorf("%s: %w", p.at(line), err)
	}
	// A key not written (a default), or a list element's problem ("pools[1]"), is reported where its parent is.
	for key != "" {
		if i := strings.LastIndexAny(key, ".["); i >= 0 {
			key = key[:i]
		} else {
			key = ""
		}
		if line, ok := p.keys[key]; ok {
			return fmt.Errorf("%s: %w", p.at(line), err)
		}
	}
	return fmt.Errorf("%s: %w", p.file, err)
}

// override applies one "key=value" to the document.
func (p *positions) override(root *yaml.Node, o string) error {
	key, value, ok := strings.Cut(o, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %s: want KEY=VALUE, e.g. balancer.strategy=ip-hash", o)
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		return fmt.Errorf("--set %s: value is not YAML: %w", o, err)
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if len(v.Content) > 0 {
		val = v.Content[0]
	}
	line := p.nextLine
	p.nextLine++
	p.sets[line] = o
	setLine(val, line)
	n := root
	parts := splitKey(key)
	for i, part := range parts {
		child := lookupKey(n, part)
		switch {
		case i == len(parts)-1 && child != nil:
			*child = *val
			setKeyLine(n, part, line)
			return nil
		case i == len(parts)-1:
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: part, Line: line}, val)
			return nil
		case child == nil:
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: part, Line: line}, child)
		case child.Kind != yaml.MappingNode: // "clients:" left empty, or a scalar the --set replaces with a mapping
			*child = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
		}
		n = child
	}
	return nil
}

// splitKey splits a dotted key into mapping keys, keeping the rest of the key whole below a map-typed key, whose
// keys may themselves hold dots: expect.skew.max_over_mean is ["expect", "skew.max_over_mean"].
func splitKey(key string) []string {
	parts := strings.Split(key, ".")
	t := reflect.TypeFor[Scenario]()
	for i, part := range parts {
		switch t.Kind() {
		case reflect.Map:
			return append(parts[:i], strings.Join(parts[i:], "."))
		case reflect.Struct:
			f, ok := fieldByTag(t, part)
			if !ok {
				return parts
			}
			t = f.Type
		default:
			return parts
		}
	}
	return parts
}

func lookupKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setKeyLine moves a key to the --set that replaced its value, so messages about the value point at the --set.
func setKeyLine(m *yaml.Node, key string, line int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i].Line = line
		}
	}
}

func setLine(n *yaml.Node, line int) {
	n.Line = line
	for _, c := range n.Content {
		setLine(c, line)
	}
}

func maxLine(n *yaml.Node) int {
	m := n.Line
	for _, c := range n.Content {
		m = max(m, maxLine(c))
	}
	return m
}

// checkKeys walks the document beside the Go type it decodes into, records where each key is, and refuses keys the
// type does not have, naming the ones it does.
func (p *positions) checkKeys(n *yaml.Node, t reflect.Type, path string) []error {
	var errs []error
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[Range]() {
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
			return []error{fmt.Errorf("%s: %s: %s, want a count such as 10 or a range such as 5..15", p.at(n.Line), path, describe(n))}
		}
		if _, err := parseRange(n.Value); err != nil {
			return []error{fmt.Errorf("%s: %s: %w", p.at(n.Line), path, err)}
		}
		return nil
	}
	if t == reflect.TypeFor[Duration]() {
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
			return []error{fmt.Errorf("%s: %s: %s, want a duration such as 500ms or 2s", p.at(n.Line), path, describe(n))}
		}
		if _, err := parseDuration(n.Value); err != nil {
			return []error{fmt.Errorf("%s: %s: %w", p.at(n.Line), path, err)}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return nil
			}
			return []error{fmt.Errorf("%s: %s: want a mapping with keys %s", p.at(n.Line), path, strings.Join(yamlKeys(t), ", "))}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			if prev, dup := p.keys[key]; dup && prev != k.Line && !p.isSet(k.Line) && !p.isSet(prev) {
				errs = append(errs, fmt.Errorf("%s: %s: key given twice (first at line %d)", p.at(k.Line), key, prev))
			}
			p.keys[key] = k.Line
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %s: unknown key (allowed under %s: %s)", p.at(k.Line), key, orTop(path), strings.Join(yamlKeys(t), ", ")))
				continue
			}
			errs = append(errs, p.checkKeys(v, f.Type, key)...)
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				p.keys[join(path, n.Content[i].Value)] = n.Content[i].Line
				errs = append(errs, p.checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []error{fmt.Errorf("%s: %s: %s, want a list such as [a, b]", p.at(n.Line), path, describe(n))}
		}
		for i, c := range n.Content {
			errs = append(errs, p.checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	default:
		if err := checkScalar(n, t); err != nil {
			return []error{fmt.Errorf("%s: %s: %w", p.at(n.Line), path, err)}
		}
	}
	return errs
}

// checkScalar refuses a value of the wrong kind. The YAML library would silently truncate 1.5 into an int field.
func checkScalar(n *yaml.Node, t reflect.Type) error {
	want := map[reflect.Kind]struct {
		tags []string
		name string
	}{
		reflect.Int: {[]string{"!!int"}, "an integer"}, reflect.Int64: {[]string{"!!int"}, "an integer"},
		reflect.Uint64:  {[]string{"!!int"}, "a non-negative integer"},
		reflect.Float64: {[]string{"!!int", "!!float"}, "a number"},
		reflect.Bool:    {[]string{"!!bool"}, "true or false"},
		reflect.String:  {[]string{"!!str", "!!int", "!!float", "!!bool"}, "a string"},
	}[t.Kind()]
	ok := n.Kind == yaml.ScalarNode && slices.Contains(want.tags, n.ShortTag())
	if t.Kind() == reflect.Uint64 && strings.HasPrefix(n.Value, "-") {
		ok = false
	}
	if want.name == "" || ok {
		return nil
	}
	return fmt.Errorf("%s, want %s", describe(n), want.name)
}

// describe names a YAML value for a message: `"1.5" is a number`.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping was given"
	case yaml.SequenceNode:
		return "a list was given"
	}
	if n.ShortTag() == "!!null" {
		return "no value was given"
	}
	return fmt.Sprintf("%q is %s", n.Value, yamlKind(strings.TrimPrefix(n.ShortTag(), "!!")))
}

func (p *positions) isSet(line int) bool { _, ok := p.sets[line]; return ok }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

var typeErrLine = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+) ` + "`" + `(.*)` + "`" + ` into (\S+)$`)

// decodeErrors rewrites the YAML library's type errors to name the key and the kind of value wanted.
func (p *positions) decodeErrors(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", p.file, err)
	}
	byLine := make(map[int][]string)
	for key, line := range p.keys {
		byLine[line] = append(byLine[line], key)
	}
	var errs []error
	for _, msg := range te.Errors {
		m := typeErrLine.FindStringSubmatch(msg)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s: %s", p.file, msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		keys := byLine[line]
		slices.Sort(keys)
		key := "value"
		if len(keys) > 0 {
			key = keys[len(keys)-1] // the deepest key on the line is the one holding the value
		}
		errs = append(errs, fmt.Errorf("%s: %s: %q is %s, want %s", p.at(line), key, m[3], yamlKind(m[2]), goKind(m[4])))
	}
	return errors.Join(errs...)
}

func yamlKind(tag string) string {
	switch tag {
	case "str":
		return "a string"
	case "int":
		return "an integer"
	case "float":
		return "a number"
	case "bool":
		return "a boolean"
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	return "a " + tag
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case strings.HasPrefix(t, "uint"):
		return "a non-negative integer"
	case strings.HasPrefix(t, "int"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return "a mapping with the documented keys"
}
