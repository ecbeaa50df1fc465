package balancer

import (
	"maps"
	"slices"
)

// SettingKeys lists every balancer.* key the table names (the kinds' rows and strategies.yaml), for the test that
// each is a key of the scenario file.
func SettingKeys() []string {
	keys := map[string]bool{}
	for _, k := range tbl.kinds {
		for _, key := range k.Keys {
			keys[key] = true
		}
		for key := range k.refusedSettings {
			keys[key] = true
		}
		for _, c := range k.cells {
			for key := range c.RefusedSettings {
				keys[key] = true
			}
		}
	}
	for key := range tbl.strategySettings {
		keys[key] = true
	}
	return slices.Sorted(maps.Keys(keys))
}
