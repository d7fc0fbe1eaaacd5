package parser

import (
	"encoding/json"
)

// Dump renders the model as indented JSON (used by golden tests and by
// `gohaka check --dump`).
func (c *Config) Dump() string {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "dump error: " + err.Error()
	}
	return string(b) + "\n"
}
