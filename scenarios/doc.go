// Package scenarios is the scenario catalog: the *.yaml files beside this file, each a reproduction of a reported
// failure or of its fix, and the go tests that run them through the real runtimes and assert their figures.
package scenarios
