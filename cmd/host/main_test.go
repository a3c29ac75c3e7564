package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/recyclegate/recyclegate/core/api/apitest"
)

// operationsExercised is what TestMain does after the tests: when all of
// them ran and passed, it checks that they exercised every operation of
// the OpenAPI document with an answer the contract checked (the journeys a
// new user takes, over every documented operation), and turns the exit
// code into a failure when one was not.
func operationsExercised(code int) int {
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || testing.Short() {
		return code
	}
	c, err := apitest.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := c.Exercised()
	var missing []string
	for _, op := range c.Operations() {
		if !slices.Contains(done, op) {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: no test exercised these operations of docs/openapi.json with an answer the contract checked: %v\n", missing)
		return 1
	}
	return code
}
