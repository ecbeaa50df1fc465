package scenario

import (
	"errors"
	"path/filepath"
)

// Located prefixes each error naming a key (a *KeyError) with where that key was written — the file and line, or
// the --set — when s came from a file, and joins them; the compile step reports its own problems with it.
func (s *Scenario) Located(errs ...error) error {
	if s.where == nil {
		return errors.Join(errs...)
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = s.where.locate(e)
	}
	return errors.Join(out...)
}

// File names the scenario in messages: its file, or "scenario NAME" when it was built in Go.
func (s *Scenario) File() string {
	if s.where != nil {
		return s.where.file
	}
	return "scenario " + s.Name
}

// Dir is where relative paths in the scenario start: the file's directory, or the working directory for a scenario
// built in Go.
func (s *Scenario) Dir() string {
	if s.where != nil {
		return filepath.Dir(s.where.file)
	}
	return "."
}

// Path is p, a file path given under key (balancer.config), as a run opens it: a relative path is the scenario
// file's directory's, but the working directory's when it came with --set or the scenario was built in Go.
func (s *Scenario) Path(key, p string) string {
	if !filepath.IsAbs(p) && s.where != nil && !s.where.isSet(s.where.keys[key]) {
		return filepath.Join(s.Dir(), p)
	}
	return p
}
