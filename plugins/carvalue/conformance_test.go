package carvalue_test

import (
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/carvaluetest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// The conformance suite in process and over gRPC. internal/conformance runs
// it against the plugin binary and the WASM module too.
func TestConformanceInProcess(t *testing.T) {
	carvaluetest.Conformance(t, func(t *testing.T, now func() time.Time) sdk.Provider {
		a := carvalue.New()
		a.Now = now
		return a
	})
}

func TestConformanceOverGRPC(t *testing.T) {
	carvaluetest.Conformance(t, func(t *testing.T, now func() time.Time) sdk.Provider {
		a := carvalue.New()
		a.Now = now
		return sdktest.Start(t, a)
	})
}
